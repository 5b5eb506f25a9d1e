"""The model families the pipeline knows, one module each: its chat format (renderer, assistant
text, Jinja template, tokens), its architecture (stand-in and real shapes), and the facts its
published checkpoints ship. `models.<m>.family` in params.yaml names one of FAMILIES. How a
family's answers are read back is apart, in toolcall/parsers/, so that training and generation
never depend on it.

Adding a family: write its module (CONTRIBUTING.md), add it below and name it in the FAMILIES of
the parser that reads its call syntax; tests/test_families.py then runs every check on it.
"""

from __future__ import annotations

from toolcall.families import glm4, glm4_0414, qwen2_5, qwen3, smollm2
from toolcall.families.base import (
    PROBE_MESSAGES,
    PROBE_TOOLS,
    Architecture,
    Checkpoint,
    Family,
    Rendered,
    template_is_equivalent,
)

FAMILIES: dict[str, Family] = {module.FAMILY.name: module.FAMILY
                               for module in (glm4, qwen2_5, qwen3, glm4_0414, smollm2)}


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise ValueError(f"unknown model family {name!r}: expected one of {sorted(FAMILIES)}")
    return FAMILIES[name]


__all__ = ["FAMILIES", "PROBE_MESSAGES", "PROBE_TOOLS", "Architecture", "Checkpoint", "Family",
           "Rendered", "get_family", "template_is_equivalent"]
