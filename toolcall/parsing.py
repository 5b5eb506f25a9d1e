"""Parse a generated assistant turn back into text or tool calls, per family.

Order (eval-spec): strict parse in the family's native format (format-valid), then a
lenient fallback when a call was clearly attempted (bare JSON with a name, a json code
fence, the family's call marker), else `malformed`, which still counts as a decision
to call. Arguments given as a JSON string are decoded once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

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


def call_from_json(payload: object) -> dict | None:
    """`{"name": str, "arguments": object | JSON string}` -> a call, else None."""
    if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
        return None
    arguments = payload.get("arguments", payload.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError:
            return None
    if not isinstance(arguments, dict):
        return None
    return {"name": payload["name"], "arguments": arguments}


def _json_objects(text: str) -> list[object]:
    """Every top-level JSON value that starts at a '{' or '[' in text."""
    decoder = json.JSONDecoder()
    found, i = [], 0
    while i < len(text):
        if text[i] in "{[":
            try:
                value, end = decoder.raw_decode(text, i)
                found.append(value)
                i = end
                continue
            except json.JSONDecodeError:
                pass
        i += 1
    return found


def lenient_calls(text: str) -> list[dict]:
    """Calls written some other way: bare JSON, a code fence, a list of calls."""
    calls = []
    for value in _json_objects(text):
        for item in value if isinstance(value, list) else [value]:
            call = call_from_json(item)
            if call:
                calls.append(call)
    return calls


def looks_like_call_attempt(text: str) -> bool:
    return bool(re.search(r'"name"\s*:|```json|<tool_call>|"arguments"', text))


def _fallback(text: str) -> ParsedTurn:
    calls = lenient_calls(text)
    if calls:
        return ParsedTurn(CALLS, calls=calls, format_valid=False)
    if looks_like_call_attempt(text):
        return ParsedTurn(MALFORMED, content=text)
    return ParsedTurn(TEXT, content=text.strip(), format_valid=True)


FUNCTION_NAME = re.compile(r"[A-Za-z_][\w.\-]*")


def parse_glm4(text: str) -> ParsedTurn:
    """GLM-4: `\\n{answer}` is text; `name\\n{json}` (repeated after <|assistant|>) is calls."""
    if text.startswith("\n"):
        return _fallback(text[1:])
    calls = []
    for block in text.split("<|assistant|>"):
        name, newline, arguments = block.partition("\n")
        call = None
        if newline and FUNCTION_NAME.fullmatch(name.strip()):
            try:
                call = call_from_json({"name": name.strip(), "arguments": json.loads(arguments)})
            except json.JSONDecodeError:
                call = None
        if call is None:
            # The metadata slot holds only function names: anything else is a broken call.
            fallback = lenient_calls(text)
            if fallback:
                return ParsedTurn(CALLS, calls=fallback, format_valid=False)
            return ParsedTurn(MALFORMED, content=text)
        calls.append(call)
    return ParsedTurn(CALLS, calls=calls, format_valid=True)


TOOL_CALL_BLOCK = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)


def parse_qwen2_5(text: str) -> ParsedTurn:
    """Qwen2.5: `<tool_call>\\n{"name":..,"arguments":..}\\n</tool_call>` blocks, else text."""
    if "<tool_call>" not in text:
        return _fallback(text)
    calls, strict = [], "</tool_call>" in text
    for block in TOOL_CALL_BLOCK.findall(text):
        try:
            call = call_from_json(json.loads(block))
        except json.JSONDecodeError:
            call = None
        if call is None:
            strict = False
            call = next(iter(lenient_calls(block)), None)
        if call:
            calls.append(call)
    if not calls:
        return ParsedTurn(MALFORMED, content=text)
    prose = TOOL_CALL_BLOCK.sub("", text).strip()
    return ParsedTurn(CALLS, content=prose, calls=calls, format_valid=strict)


PARSERS = {"glm4": parse_glm4, "qwen2.5": parse_qwen2_5}
