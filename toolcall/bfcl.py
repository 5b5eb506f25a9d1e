"""The Berkeley Function Calling Leaderboard's single-turn categories, next to our own test split.

Data: BFCL v4 as the pinned `bfcl-eval` wheel ships it (toolcall.registry.BFCL_EVAL):
`bfcl_eval/data/BFCL_v4_<category>.json` (JSON Lines: `id`, `question` = turns of chat
messages, `function` = function docs in BFCL's own type names) and
`bfcl_eval/data/possible_answer/BFCL_v4_<category>.json` (`ground_truth`: per expected call,
each parameter's list of accepted values; "" in a list: the parameter may be left out).

Each question is asked in the model family's native tool format, the function docs converted
to JSON Schema as BFCL converts them for function-calling models (`dict` -> object, `float` ->
number, `tuple` -> array, `any` -> string), with BFCL's "Python 3 syntax" note in every
description; function names keep their dots (BFCL's rule for Qwen's FC models). The family's
parser reads the answer, and toolcall.bfcl_scoring judges it by BFCL's AST rules (the official
`ast_checker`; benchmarks/bfcl_agreement.py compares the two verdict by verdict):
- the function name exactly; every parameter the doc requires present; no parameter the doc or
  the ground truth lacks; every ground-truth parameter without "" present;
- types exactly as Python sees JSON values (an integer where a float is expected passes, at the
  top level only; a value of the ground truth's own type counts as a "variable" and is compared
  as is); lists element-wise in order, dicts key by key one level deep;
- strings compared after removing spaces and `,./-_*^`, lower-casing, and `'` -> `"`;
- parallel calls in any order (each expected call takes the first unmatched call that passes);
- irrelevance: right when no call can be read; relevance: right when any call can be read.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from toolcall.params import ParamsError

CATEGORIES = ["simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance",
              "live_simple", "live_multiple", "live_parallel", "live_parallel_multiple",
              "live_irrelevance", "live_relevance"]
NON_LIVE_AST = ["simple_python", "multiple", "parallel", "parallel_multiple"]
LIVE_AST = ["live_simple", "live_multiple", "live_parallel", "live_parallel_multiple"]
NO_ANSWER = {"irrelevance", "live_irrelevance", "live_relevance"}  # judged by call / no call
PYTHON_HINT = " Note that the provided function is in Python 3 syntax."


def check_categories(categories: list[str]) -> None:
    """bfcl.categories names only categories this module knows."""
    unknown = sorted(set(categories) - set(CATEGORIES))
    if unknown:
        raise ParamsError(f"params.yaml: bfcl.categories has {unknown}: expected some of {CATEGORIES}")


# BFCL's type names -> JSON Schema (bfcl_eval/constants/type_mappings.py, GORILLA_TO_OPENAPI)
TO_JSON_SCHEMA = {"integer": "integer", "number": "number", "float": "number", "string": "string",
                  "boolean": "boolean", "bool": "boolean", "array": "array", "list": "array",
                  "dict": "object", "object": "object", "tuple": "array", "any": "string"}


def data_file(root: Path, category: str, answers: bool = False) -> Path:
    folder = root / "bfcl_eval" / "data" / ("possible_answer" if answers else "")
    return folder / f"BFCL_v4_{category}.json"


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# ----------------------------------------------------------------------------- questions


def _schema_properties(properties: dict) -> dict:
    """BFCL parameter docs -> JSON Schema, recursively (as BFCL's convert_to_tool does)."""
    out = {}
    for name, prop in properties.items():
        prop = dict(prop)
        prop["type"] = TO_JSON_SCHEMA.get(prop.get("type", "string"), "string")
        if isinstance(prop.get("properties"), dict):
            prop["properties"] = _schema_properties(prop["properties"])
        if isinstance(prop.get("items"), dict):
            prop["items"] = _schema_properties({"item": prop["items"]})["item"]
        out[name] = prop
    return out


def as_tool(function: dict) -> dict:
    """A BFCL function doc as an OpenAI-form tool with JSON Schema parameters."""
    function = copy.deepcopy(function)
    parameters = function.get("parameters") or {}
    function["description"] = function.get("description", "") + PYTHON_HINT
    function["parameters"] = {**parameters, "type": "object",
                              "properties": _schema_properties(parameters.get("properties") or {})}
    return {"type": "function", "function": function}


def question_conversation(entry: dict, category: str) -> dict:
    """A BFCL entry in the pipeline's stored form: tools as a JSON string, the messages of its
    one turn (system, user and earlier assistant messages as given)."""
    (turn,) = entry["question"]
    messages = [{"role": m["role"], "content": m["content"]} for m in turn]
    return {"id": entry["id"], "category": category,
            "tools": json.dumps([as_tool(f) for f in entry["function"]], ensure_ascii=False),
            "messages": messages}


def bfcl_samples(questions: list[dict], family) -> list[dict]:
    """One sample per question: its prompt ends where the model starts its answer."""
    samples = []
    for question in questions:
        tools = json.loads(question["tools"])
        samples.append({"conversation_id": question["id"], "turn_index": len(question["messages"]),
                        "category": question["category"], "tools": tools,
                        "prompt": family.render(tools, question["messages"],
                                                add_generation_prompt=True).text})
    return samples
