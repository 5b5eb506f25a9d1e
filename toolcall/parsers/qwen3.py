"""Reading Qwen3's answers back (toolcall/families/qwen3.py): Hermes calls, after a think block
if the model wrote one, as BFCL's Qwen handler reads them."""

from __future__ import annotations

import re

from toolcall.parsers import hermes
from toolcall.parsing import ParsedTurn

FAMILIES = ("qwen3",)  # the families whose answers this module reads

THINK_BLOCK = re.compile(r"\s*<think>.*?</think>\s*", re.DOTALL)


def parse(text: str, tools: list[dict], stop_token: str | None = None) -> ParsedTurn:
    """Qwen2.5's reading of what follows a think block, if the model wrote one."""
    return hermes.parse(THINK_BLOCK.sub("", text, count=1) if text.lstrip().startswith("<think>")
                         else text, tools, stop_token)
