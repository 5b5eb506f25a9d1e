"""How each family's answers are read back: `get_parser(family_name)`, one module per call
syntax (each lists the FAMILIES whose answers it reads). Kept apart from the families' formats
(toolcall/families/) so that generation and training never import it: an edit to how answers are
read reruns scoring and comparison only (dvc.yaml's deps follow the imports, tests/test_dvc.py).
The rule every parser follows, and the shared pieces: toolcall/parsing.py.
"""

from __future__ import annotations

from collections.abc import Callable

from toolcall.parsers import glm4, hermes, qwen3
from toolcall.parsing import ParsedTurn

# (a generated turn, the offered tools, the stop token that ended the turn or None)
Parser = Callable[[str, list[dict], str | None], ParsedTurn]
PARSERS: dict[str, Parser] = {family: module.parse for module in (glm4, hermes, qwen3)
                              for family in module.FAMILIES}


def get_parser(family: str) -> Parser:
    if family not in PARSERS:
        raise ValueError(f"no parser reads family {family!r}: add it to a module's FAMILIES in "
                         f"toolcall/parsers/ (have {sorted(PARSERS)})")
    return PARSERS[family]
