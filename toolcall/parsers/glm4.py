"""Reading GLM-4's answers back (the format: toolcall/formats/glm.py): `\\n{text}` is an
answer, `name\\n{json}` blocks joined by `<|assistant|>` are calls. GLM-4-9B-0414 writes its calls
the same way, and its template's spaced `name \\n{json}` is read too (the name is stripped)."""

from __future__ import annotations

import re

from toolcall.parsing import FABRICATED, MALFORMED, TEXT, ParsedTurn, call_turn, first_json_value
from toolcall.schema import function_of

FAMILIES = ("glm4", "glm4_0414")  # the families whose answers this module reads

# The tool-result role token. A call ends with it (the tool answers next); an answer ends with
# <|user|>. Both are stop tokens, so generation cuts there and the parser is told which it was.
OBSERVATION_MARKER = "<|observation|>"
FUNCTION_NAME = re.compile(r"[A-Za-z_][\w.\-]*")


def _call_block(block: str, offered: set[str]) -> tuple[dict | None, bool] | None:
    """One `name\\n{json}` block: (the call, or None when the attempt cannot be read; whether
    it is written exactly), or None when the block is prose, not a call attempt."""
    first_line, _, rest = block.partition("\n")
    name = first_line.strip()
    shaped_like_call = bool(FUNCTION_NAME.fullmatch(name)) and rest.lstrip().startswith("{")
    if name not in offered and not shaped_like_call:
        return None
    found = first_json_value(rest)
    if found is None or not isinstance(found[0], dict):
        return None, False
    # a space after the name is GLM-4-0414's template's own rendering, which GLM's server strips
    return {"name": name, "arguments": found[0]}, found[1] and first_line.rstrip() == name


def parse(text: str, tools: list[dict], stop_token: str | None = None) -> ParsedTurn:
    """`\\n{answer}` is text; `name\\n{json}` blocks (joined by <|assistant|>) are calls. As in
    GLM-4's own server, a first line is a function name when it names an offered tool; one that
    merely has a function name's shape counts too when a JSON object follows it: a call to a
    function never offered (hallucinated). Prose is text (docs/evaluation.md), but prose that
    hands over to the tool (ends with <|observation|>) opens a tool result the model would write
    itself: fabricated_observation."""
    offered = {function_of(t)["name"] for t in tools}
    blocks = text.split("<|assistant|>")
    content, exact = "", True
    if _call_block(blocks[0], offered) is None:  # the turn opens with text
        content = blocks[0].strip()
        exact = blocks[0].startswith("\n")
        if len(blocks) == 1:
            if stop_token == OBSERVATION_MARKER:
                return ParsedTurn(FABRICATED, content=content)
            return ParsedTurn(TEXT, content=content, format_valid=exact)
        blocks = blocks[1:]
    calls = []
    for block in blocks:
        parsed = _call_block(block, offered)
        if parsed is None or parsed[0] is None:  # prose or an unreadable call where a call must be
            return ParsedTurn(MALFORMED, content=text)
        calls.append(parsed[0])
        exact = exact and parsed[1]
    return call_turn(calls, content, exact, text)
