"""Parse a generated assistant turn back into text and tool calls, per family.

The rule is the same for every family (docs/evaluation.md, "Parsing"): a turn is a call
attempt only when it uses the family's own call marker; anything else is text, JSON in it
included. A call attempt whose call cannot be read is `malformed`, which still counts as a
decision to call. A call must carry its arguments as a JSON object (or a JSON string of
one, decoded once); a call without arguments is malformed, never given `{}`.

- Qwen2.5 (Hermes): the marker is a `<tool_call>` tag. Each block holds
  `{"name": ..., "arguments": {...}}`; text before the first block is the turn's content.
- GLM-4: a text answer starts with a newline; a call is a first line holding a function
  name and the arguments' JSON object on the next line, further calls follow after
  `<|assistant|>`. As in GLM-4's own server, a first line is a function name when it names
  an offered tool; a first line that merely has a function name's shape counts too when a
  JSON object follows it, as a call to a function that was never offered (hallucinated,
  exactly like a Qwen `<tool_call>` naming an unknown function). Prose is text.

`format_valid` says whether the calls were written exactly in the native format; a call
recovered from a sloppy rendering (trailing text, a missing closing tag) counts as a call
but not as format-valid.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from toolcall.schema import function_of

TEXT, CALLS, MALFORMED = "text", "calls", "malformed"


@dataclass
class ParsedTurn:
    kind: str  # text | calls | malformed
    content: str = ""
    calls: list[dict] = field(default_factory=list)
    format_valid: bool = False

    def as_dict(self) -> dict:
        return {"kind": self.kind, "content": self.content, "calls": self.calls,
                "format_valid": self.format_valid}


def _arguments(value: object) -> dict | None:
    """Call arguments: a JSON object, or a JSON string holding one (decoded once)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    return value if isinstance(value, dict) else None


def _first_json_value(text: str) -> tuple[object, bool] | None:
    """(the JSON value text starts with, whether nothing but whitespace follows it)."""
    stripped = text.strip()
    try:
        return json.loads(stripped), True
    except json.JSONDecodeError:
        pass
    start = stripped.find("{")
    if start < 0:
        return None
    try:
        value, end = json.JSONDecoder().raw_decode(stripped, start)
    except json.JSONDecodeError:
        return None
    return value, False


# ----------------------------------------------------------------------------- Qwen2.5

TOOL_CALL_BLOCK = re.compile(r"<tool_call>(.*?)(</tool_call>|$)", re.DOTALL)


def parse_qwen2_5(text: str, tools: list[dict]) -> ParsedTurn:  # noqa: ARG001 (same signature as GLM's)
    """Qwen2.5: `<tool_call>\\n{"name": .., "arguments": {..}}\\n</tool_call>` blocks, else text."""
    if "<tool_call>" not in text:
        return ParsedTurn(TEXT, content=text.strip(), format_valid=True)
    calls, exact = [], True
    for body, closing in TOOL_CALL_BLOCK.findall(text):
        found = _first_json_value(body)
        payload, clean = found if found else (None, False)
        arguments = _arguments(payload.get("arguments")) if isinstance(payload, dict) else None
        if not isinstance(payload, dict) or not isinstance(payload.get("name"), str) \
                or arguments is None:
            return ParsedTurn(MALFORMED, content=text)
        calls.append({"name": payload["name"], "arguments": arguments})
        exact = exact and clean and bool(closing)
    content = text[:text.index("<tool_call>")].strip()
    between = TOOL_CALL_BLOCK.sub("", text[text.index("<tool_call>"):])
    return ParsedTurn(CALLS, content=content, calls=calls,
                      format_valid=exact and not between.strip())


# ----------------------------------------------------------------------------- GLM-4

FUNCTION_NAME = re.compile(r"[A-Za-z_][\w.\-]*")


def _glm4_call(block: str, offered: set[str]) -> tuple[dict | None, bool] | None:
    """One `name\n{json}` block: (the call, or None when the attempt cannot be read; whether
    it is written exactly), or None when the block is prose, not a call attempt."""
    first_line, _, rest = block.partition("\n")
    name = first_line.strip()
    shaped_like_call = bool(FUNCTION_NAME.fullmatch(name)) and rest.lstrip().startswith("{")
    if name not in offered and not shaped_like_call:
        return None
    found = _first_json_value(rest)
    if found is None or not isinstance(found[0], dict):
        return None, False
    return {"name": name, "arguments": found[0]}, found[1] and first_line == name


def parse_glm4(text: str, tools: list[dict]) -> ParsedTurn:
    """GLM-4: `\n{answer}` is text; `name\n{json}` blocks (joined by <|assistant|>) are calls."""
    offered = {function_of(t)["name"] for t in tools}
    blocks = text.split("<|assistant|>")
    content, exact = "", True
    if _glm4_call(blocks[0], offered) is None:  # the turn opens with text
        content = blocks[0].strip()
        exact = blocks[0].startswith("\n")
        if len(blocks) == 1:
            return ParsedTurn(TEXT, content=content, format_valid=exact)
        blocks = blocks[1:]
    calls = []
    for block in blocks:
        parsed = _glm4_call(block, offered)
        if parsed is None or parsed[0] is None:  # prose or an unreadable call where a call must be
            return ParsedTurn(MALFORMED, content=text)
        calls.append(parsed[0])
        exact = exact and parsed[1]
    return ParsedTurn(CALLS, content=content, calls=calls, format_valid=exact)
