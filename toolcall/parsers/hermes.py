"""Reading Hermes-style answers back (ChatML with Hermes tools, toolcall/formats/chatml.py: the
format of Qwen2.5 and SmolLM2): `<tool_call>` blocks are calls, anything else is text; as vLLM's
hermes parser reads Qwen."""

from __future__ import annotations

import re

from toolcall.parsing import (
    FABRICATED,
    MALFORMED,
    TEXT,
    ParsedTurn,
    arguments_object,
    call_turn,
    first_json_value,
)

FAMILIES = ("qwen2_5", "smollm2")  # the families whose answers this module reads

OBSERVATION_MARKER = "<tool_response>"  # how a tool's result is shown to the model
TOOL_CALL_BLOCK = re.compile(r"<tool_call>(.*?)(</tool_call>|$)", re.DOTALL)


def parse(text: str, tools: list[dict], stop_token: str | None = None) -> ParsedTurn:  # noqa: ARG001 (every parser's signature)
    """`<tool_call>` blocks are calls, anything else is text; text before the first block is
    the turn's content (as vLLM's hermes parser reads Qwen). Hermes stop tokens end every turn
    alike (<|im_end|>), so which one ended it says nothing here."""
    if "<tool_call>" not in text:
        if OBSERVATION_MARKER in text:  # the tool's output, written by the model itself
            return ParsedTurn(FABRICATED, content=text.strip())
        return ParsedTurn(TEXT, content=text.strip(), format_valid=True)
    calls, exact = [], True
    for body, closing in TOOL_CALL_BLOCK.findall(text):
        found = first_json_value(body)
        payload, clean = found if found else (None, False)
        arguments = arguments_object(payload.get("arguments")) if isinstance(payload, dict) else None
        if not isinstance(payload, dict) or not isinstance(payload.get("name"), str) \
                or arguments is None:
            return ParsedTurn(MALFORMED, content=text)
        calls.append({"name": payload["name"], "arguments": arguments})
        exact = exact and clean and bool(closing)
    content = text[:text.index("<tool_call>")].strip()
    between = TOOL_CALL_BLOCK.sub("", text[text.index("<tool_call>"):])
    return call_turn(calls, content, exact and not between.strip(), text)
