"""Reading a generated assistant turn back: the result every family's parser returns, and the
JSON helpers they share. Each family's own call syntax lives in its module
(toolcall/families/); the rule they all follow (docs/evaluation.md, "Parsing"): a turn is a
call attempt only when it uses the family's own call marker; anything else is text, JSON in it
included. A call attempt whose call cannot be read is `malformed`, which still counts as a
decision to call. A call must carry its arguments as a JSON object (or a JSON string of one,
decoded once); a call without arguments is malformed, never given `{}`. A turn without a call
that writes the family's tool-result marker (Hermes `<tool_response>`, GLM-4 `<|observation|>`)
invents the tool's output instead of answering: `fabricated_observation`, never a correct text
or no-call turn. The repair policy, the same for every family and for BFCL (`call_turn`): only
calls written exactly in the family's format are the turn's calls.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

TEXT, CALLS, MALFORMED, FABRICATED = "text", "calls", "malformed", "fabricated_observation"


@dataclass
class ParsedTurn:
    kind: str  # text | calls | malformed | fabricated_observation
    content: str = ""
    calls: list[dict] = field(default_factory=list)  # malformed: what could be read, if anything
    format_valid: bool = False

    def as_dict(self) -> dict:
        return {"kind": self.kind, "content": self.content, "calls": self.calls,
                "format_valid": self.format_valid}


def call_turn(calls: list[dict], content: str, exact: bool, text: str) -> ParsedTurn:
    """A turn of call attempts, under the repair policy (docs/evaluation.md, "Repairs"): calls
    written exactly in the family's format are the turn's calls. Calls that could only be
    recovered from a sloppy rendering (text after the JSON, a missing closing tag, text between
    calls) earn what an unreadable call earns: the turn is malformed, a decision to call and
    nothing more (no name, argument or match credit), as a strict server (vLLM, BFCL's decoder)
    would not run them either. What was recovered stays in `calls` for a reader."""
    if exact:
        return ParsedTurn(CALLS, content=content, calls=calls, format_valid=True)
    return ParsedTurn(MALFORMED, content=text, calls=calls)


def arguments_object(value: object) -> dict | None:
    """Call arguments: a JSON object, or a JSON string holding one (decoded once)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    return value if isinstance(value, dict) else None


def first_json_value(text: str) -> tuple[object, bool] | None:
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
