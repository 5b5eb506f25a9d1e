"""Reading a generated assistant turn back: the result every family's parser returns, and the
JSON helpers they share. Each family's own call syntax lives in its module
(toolcall/families/); the rule they all follow (docs/evaluation.md, "Parsing"): a turn is a
call attempt only when it uses the family's own call marker; anything else is text, JSON in it
included. A call attempt whose call cannot be read is `malformed`, which still counts as a
decision to call. A call must carry its arguments as a JSON object (or a JSON string of one,
decoded once); a call without arguments is malformed, never given `{}`. A turn without a call
that writes the family's tool-result marker (Hermes `<tool_response>`, GLM-4 `<|observation|>`)
invents the tool's output instead of answering: `fabricated_observation`, never a correct text
or no-call turn. `format_valid` says
whether the calls were written exactly in the native format; a call recovered from a sloppy
rendering (trailing text, a missing closing tag) counts as a call but not as format-valid.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

TEXT, CALLS, MALFORMED, FABRICATED = "text", "calls", "malformed", "fabricated_observation"


@dataclass
class ParsedTurn:
    kind: str  # text | calls | malformed | fabricated_observation
    content: str = ""
    calls: list[dict] = field(default_factory=list)
    format_valid: bool = False

    def as_dict(self) -> dict:
        return {"kind": self.kind, "content": self.content, "calls": self.calls,
                "format_valid": self.format_valid}


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
