"""The model families the pipeline knows, one module each, toolcall/families/<name>.py: its chat
format (renderer, assistant text, Jinja template, tokens; built on a shared format in
toolcall/formats/), its architecture (stand-in and real shapes), and the facts its published
checkpoints ship. `models.<m>.family` in params.yaml names one of FAMILY_NAMES, the module's
name. How a family's answers are read back is apart, in toolcall/parsers/.

A family's module is imported only when a stage asks for it (get_family), and dvc.yaml makes a
model's stages depend on toolcall/families/<its family>.py and on no other family's module (the
shared formats of toolcall/formats/ and base.py are every model's): an edit to one family's
file reruns that family's models only. So no family module imports another.

Adding a family: write its module (CONTRIBUTING.md) and name it in the FAMILIES of the parser
that reads its call syntax; tests/test_families.py then runs every check on it.
"""

from __future__ import annotations

import importlib
import pkgutil

from toolcall.families.base import (
    PROBE_MESSAGES,
    PROBE_TOOLS,
    Architecture,
    Checkpoint,
    Family,
    Rendered,
    template_is_equivalent,
)

# Every module of this folder but base.py is a family (its name is the family's name).
FAMILY_NAMES: tuple[str, ...] = tuple(sorted(module.name for module in pkgutil.iter_modules(__path__)
                                             if module.name != "base"))


def get_family(name: str) -> Family:
    if name not in FAMILY_NAMES:
        raise ValueError(f"unknown model family {name!r}: expected one of {list(FAMILY_NAMES)}")
    return importlib.import_module(f"{__name__}.{name}").FAMILY


def all_families() -> dict[str, Family]:
    """Every family by name (imports them all: for tests and benchmarks, never for a stage)."""
    return {name: get_family(name) for name in FAMILY_NAMES}


__all__ = ["FAMILY_NAMES", "PROBE_MESSAGES", "PROBE_TOOLS", "Architecture", "Checkpoint", "Family",
           "Rendered", "all_families", "get_family", "template_is_equivalent"]
