"""glaive ShareGPT rows -> neutral tool conversations, with cleaning.

A glaive row is `{"conversations": [{"from", "value"}...], "tools": "<JSON string>"}`
with `from` in human / gpt / function_call / observation. The neutral form is

  {"id": str, "tools": "<JSON string of OpenAI-form tools>", "messages": [...]}

with messages as in `toolcall.families`, except that call arguments stay JSON
strings on disk: Arrow would otherwise merge every row's argument keys into every
other row (filled with null). `decode_conversation` turns them back into dicts right
before rendering.

`clean_row` either returns the cleaned conversation and what it noted (repairs made, and
schema violations kept because their switch is off), or raises `RowRejected` with the
reason; every reason is a stable key counted in stats. Calls are validated by
`toolcall.schema`, the same code that judges a model's calls in evaluation.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from toolcall import schema

ROLE_OF = {"human": "user", "gpt": "assistant", "function_call": "assistant", "observation": "tool"}


class RowRejected(ValueError):
    """A row that cannot be used; `reason` is a stable key for the stats."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class CleaningRules:
    """Switches for the rules that can be relaxed (params: dataset.cleaning). Each drops a row
    whose gold call breaks the tool's schema in that way; a relaxed rule keeps the row and
    counts it as `kept_<reason>`."""

    drop_unoffered_calls: bool = True  # a call names a tool that is not offered
    drop_unknown_arguments: bool = True  # a call uses a key the schema does not declare
    drop_missing_required: bool = True  # a call lacks a required argument (at any depth)
    drop_type_mismatch: bool = True  # an argument has the wrong JSON type
    drop_enum_violation: bool = True  # an argument is not one of its enum's values
    drop_other_schema_violation: bool = True  # any other JSON Schema keyword fails

    def drops(self, reason: str) -> bool:
        return {
            schema.UNOFFERED: self.drop_unoffered_calls,
            schema.UNKNOWN_ARGUMENT: self.drop_unknown_arguments,
            schema.MISSING_REQUIRED: self.drop_missing_required,
            schema.WRONG_TYPE: self.drop_type_mismatch,
            schema.NOT_IN_ENUM: self.drop_enum_violation,
            schema.OTHER_VIOLATION: self.drop_other_schema_violation,
        }[reason]


KEEP_ALL = CleaningRules(False, False, False, False, False, False)


def parse_tools(raw: str | list | None) -> tuple[list[dict], list[str]]:
    """glaive's tools field -> OpenAI-form tools with valid JSON Schema parameters, plus the
    repairs made (`toolcall.schema.repair_parameters`)."""
    repairs = []
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return [], []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as e:
            raise RowRejected("tools_unparseable", f"tools is not JSON ({e.msg})") from None
    if not isinstance(raw, list):
        raise RowRejected("tools_unparseable", "tools is not a JSON list")
    tools, names = [], set()
    for tool in raw:
        if isinstance(tool, dict) and "function" not in tool:
            tool = {"type": "function", "function": tool}
            repairs.append("tool_wrapped_to_openai_form")
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise RowRejected("tool_without_name", f"tool {json.dumps(tool, ensure_ascii=False)[:80]}")
        if function["name"] in names:  # which schema would a call of that name follow?
            raise RowRejected("tool_name_duplicated", f"two tools are named {function['name']!r}")
        names.add(function["name"])
        parameters = function.get("parameters")
        if parameters is not None and schema.schema_error(parameters):
            fixed, fixes = schema.repair_parameters(parameters) if isinstance(parameters, dict) \
                else (parameters, [])
            error = schema.schema_error(fixed)
            if error:
                raise RowRejected("tool_schema_invalid", f"{function['name']}: {error}")
            tool = {**tool, "function": {**function, "parameters": fixed}}
            repairs += fixes
        tools.append(tool)
    return tools, sorted(set(repairs))


def parse_call_value(value: str) -> tuple[list[dict], list[str]]:
    """A function_call turn's value -> calls `{name, arguments: dict}`, plus repairs."""
    repairs = []
    try:
        payload = json.loads(value)
    except json.JSONDecodeError as e:
        raise RowRejected("call_unparseable", f"call is not JSON ({e.msg})") from None
    payload = payload if isinstance(payload, list) else [payload]
    calls = []
    for call in payload:
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            raise RowRejected("call_unparseable", "call has no string name")
        if "arguments" not in call:  # only a function without parameters can be called so
            call = {**call, "arguments": {}}
            repairs.append("missing_arguments_set_empty")
        arguments = call["arguments"]
        if isinstance(arguments, str):  # a JSON string of arguments: decode once
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except json.JSONDecodeError:
                raise RowRejected("call_unparseable", "arguments string is not JSON") from None
            repairs.append("arguments_string_decoded")
        if not isinstance(arguments, dict):
            raise RowRejected("call_unparseable", "arguments is not an object")
        calls.append({"name": call["name"], "arguments": arguments})
    if not calls:
        raise RowRejected("call_unparseable", "empty list of calls")
    return calls, repairs


# Which roles may come right before each glaive turn.
ALLOWED_AFTER = {
    "human": {None, "gpt"},
    "gpt": {"human", "observation"},
    "function_call": {"human", "observation"},
    "observation": {"function_call"},
}


def clean_row(row: dict, rules: CleaningRules) -> tuple[dict, list[str]]:
    """One glaive row -> (neutral conversation without id, notes); raises RowRejected.
    Notes are stats keys: `repaired_<what>` and `kept_<schema violation>`."""
    if not isinstance(row, dict) or not isinstance(row.get("conversations"), list):
        raise RowRejected("no_conversations", "row has no 'conversations' list")
    tools, repairs = parse_tools(row.get("tools"))
    messages: list[dict] = []
    kept: list[str] = []
    previous = None
    for turn in row["conversations"]:
        source = turn.get("from") if isinstance(turn, dict) else None
        if source not in ROLE_OF:
            raise RowRejected("unknown_role", f"turn from {source!r}")
        value = turn.get("value")
        if not isinstance(value, str) or not value.strip():
            raise RowRejected("empty_turn", f"empty {source} turn")
        if value != value.strip():
            repairs.append("whitespace_stripped")
            value = value.strip()
        if previous not in ALLOWED_AFTER[source]:
            reason = "observation_without_call" if source == "observation" else "bad_turn_order"
            raise RowRejected(reason, f"{source} after {previous}")
        if source == "function_call":
            calls, call_repairs = parse_call_value(value)
            repairs += call_repairs
            for call in calls:
                for reason in schema.call_violations(call, tools):
                    if rules.drops(reason):
                        raise RowRejected(reason, f"{call['name']}: "
                                          f"{json.dumps(call['arguments'], ensure_ascii=False)[:80]}")
                    kept.append(f"kept_{reason}")
            stored = [
                {"name": c["name"], "arguments": json.dumps(c["arguments"], ensure_ascii=False)}
                for c in calls
            ]
            messages.append({"role": "assistant", "content": "", "tool_calls": stored})
        else:
            messages.append({"role": ROLE_OF[source], "content": value})
        previous = source
    if previous not in {"gpt", "function_call"}:
        raise RowRejected("ends_without_assistant", f"last turn is {previous}")
    conversation = {"tools": json.dumps(tools, ensure_ascii=False), "messages": messages}
    return conversation, [f"repaired_{r}" for r in sorted(set(repairs))] + sorted(set(kept))


def conversation_key(conversation: dict) -> str:
    """A content hash: equal for exact-duplicate conversations."""
    canonical = json.dumps([conversation["tools"], conversation["messages"]], ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def decode_conversation(conversation: dict) -> tuple[list[dict], list[dict]]:
    """Stored conversation -> (tools, messages) with call arguments as dicts."""
    tools = json.loads(conversation["tools"])
    messages = []
    for message in conversation["messages"]:
        message = {k: v for k, v in message.items() if v is not None}
        if message.get("tool_calls"):
            message["tool_calls"] = [
                {"name": c["name"], "arguments": json.loads(c["arguments"])}
                for c in message["tool_calls"]
            ]
        else:
            message.pop("tool_calls", None)
        messages.append(message)
    return tools, messages
