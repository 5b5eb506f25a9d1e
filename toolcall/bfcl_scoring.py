"""BFCL's single-turn AST rules, as the official `ast_checker` and its runner apply them (the
rules are listed in toolcall/bfcl.py; benchmarks/bfcl_agreement.py proves the verdicts equal),
and the leaderboard's summary arithmetic. Scoring only: generation never depends on this."""

from __future__ import annotations

import re

from toolcall.bfcl import CATEGORIES, LIVE_AST, NON_LIVE_AST
from toolcall.parsing import CALLS, MALFORMED, ParsedTurn

# BFCL's type names -> the Python type a JSON value must have (ast_checker's PYTHON_TYPE_MAPPING)
PYTHON_TYPES = {"string": str, "integer": int, "float": float, "boolean": bool, "array": list,
                "tuple": list, "dict": dict, "any": str}


def standardize(text: str) -> str:
    return re.sub(r"[ ,./\-_*^]", "", text).lower().replace("'", '"')


def _first_type(accepted: list) -> type | None:
    """The type of the first accepted value that is not "" (the "variable" type)."""
    return next((type(a) for a in accepted if a != ""), None)


def _type_ok(value, accepted: list, expected: type, nested: type | None) -> tuple[bool, bool]:
    """(the value's type passes, it is a "variable": a value of the ground truth's own type
    where the doc expects another, compared as is). Nested types are checked one level deep."""
    variable_type = _first_type(accepted)
    is_variable = variable_type is not None and variable_type is not expected
    if type(value) is expected:
        if nested is None:
            return True, is_variable
        for option in accepted:
            if type(option) is not list or all(_type_ok(item, option, nested, None)[0]
                                               for item in value):
                return True, is_variable
        return False, is_variable
    return variable_type is not None and type(value) is variable_type, True


def _normalized(values: list) -> list:
    return [standardize(v) if type(v) is str else v for v in values]


def _dict_ok(value: dict, accepted: list) -> bool:
    for option in accepted:
        if option == "":
            continue
        if all(key in option and (standardize(v) if type(v) is str else v) in _normalized(option[key])
               for key, v in value.items()) and \
                all(key in value or "" in values for key, values in option.items()):
            return True
    return False


def _list_of_dicts_ok(value: list, accepted: list) -> bool:
    return any(len(value) == len(option) and all(_dict_ok(v, [o]) for v, o in zip(value, option, strict=True))
               for option in accepted)


def _string_ok(value: str, accepted: list) -> bool:
    return standardize(value) in [standardize(a) for a in accepted if type(a) is str]


def _list_ok(value: list, accepted: list) -> bool:
    return _normalized(value) in [_normalized(list(option)) for option in accepted]


def check_call(doc: dict, call: dict, expected: dict) -> str | None:
    """BFCL's verdict on one call against one expected call ({name: {param: accepted}}): None
    when it passes, else the reason."""
    accepted_params = next(iter(expected.values()))
    if doc["name"] not in call:
        return "wrong_func_name"
    arguments = call[doc["name"]]
    properties = doc["parameters"]["properties"]
    if any(p not in arguments for p in doc["parameters"].get("required", [])):
        return "missing_required"
    for param, value in arguments.items():
        if param not in properties or param not in accepted_params:
            return "unexpected_param"
        accepted = accepted_params[param]
        kind = properties[param]["type"]
        expected_type = PYTHON_TYPES[kind]
        nested = PYTHON_TYPES[properties[param]["items"]["type"]] if kind in ("array", "tuple") else None
        if kind == "float" and type(value) is int:  # BFCL lets an int stand for a float
            value = float(value)
        type_passes, is_variable = _type_ok(value, accepted, expected_type, nested)
        if not type_passes:
            return "type_error"
        if not is_variable:
            if expected_type is dict:
                ok = _dict_ok(value, accepted)
            elif expected_type is list and nested is dict:
                ok = _list_of_dicts_ok(value, accepted)
            elif expected_type is str:
                ok = _string_ok(value, accepted)
            elif expected_type is list:
                ok = _list_ok(value, accepted)
            else:
                ok = value in accepted
        else:
            ok = value in accepted
        if not ok:
            return "value_error"
    if any(p not in arguments and "" not in accepted for p, accepted in accepted_params.items()):
        return "missing_optional"
    return None


def check_calls(category: str, docs: list[dict], calls: list[dict], expected: list[dict]) -> str | None:
    """BFCL's verdict on a decoded answer ([{name: arguments}]) to an AST question."""
    def doc_of(call: dict) -> dict:
        name = next(iter(call))
        return next((d for d in docs if d["name"] == name), docs[0])

    if len(calls) != len(expected):
        return "wrong_count"
    if "parallel" in category:
        matched: set[int] = set()
        for want in expected:
            hit = next((i for i, call in enumerate(calls) if i not in matched
                        and check_call(doc_of(want), call, want) is None), None)
            if hit is None:
                return "cannot_find_match"
            matched.add(hit)
        return None
    if "multiple" in category:
        return check_call(doc_of(expected[0]), calls[0], expected[0])
    return check_call(docs[0], calls[0], expected[0])  # a simple question offers one function


def judge(category: str, parsed: ParsedTurn, answer: dict | None) -> str | None:
    """The verdict on a parsed answer: None when right, else the reason."""
    decoded = [{c["name"]: c["arguments"]} for c in parsed.calls] if parsed.kind == CALLS else []
    if category in ("irrelevance", "live_irrelevance"):
        return "spurious_call" if decoded else None
    if category == "live_relevance":
        return None if decoded else "no_call"
    if not decoded:  # a malformed attempt decodes to nothing, as BFCL's decoder fails on it
        return "malformed" if parsed.kind == MALFORMED else "no_call"
    return check_calls(category, answer["function"], decoded, answer["ground_truth"])


# ----------------------------------------------------------------------------- summary


def summarize(records: list[dict]) -> dict:
    """Per-category accuracy and BFCL's summary figures over judged records ({category,
    correct}); questions left out for a too-long prompt count as wrong.
    - non_live_ast: the unweighted mean of the four non-live AST categories (Python only: the
      leaderboard's "Non-Live AST" averages simple over Python, Java and JavaScript);
    - live: the four live AST categories weighted by their questions, as the leaderboard's;
    - irrelevance_detection: the unweighted mean of irrelevance and live_irrelevance;
      relevance_detection: live_relevance."""
    totals: dict[str, list[int]] = {}
    for record in records:
        seen = totals.setdefault(record["category"], [0, 0])
        seen[0] += bool(record["correct"])
        seen[1] += 1
    accuracy = {c: right / total for c, (right, total) in totals.items()}
    out: dict[str, float | int | None] = {}
    for category in CATEGORIES:
        out[f"bfcl_{category}"] = accuracy.get(category)
        out[f"bfcl_{category}_questions"] = totals.get(category, [0, 0])[1]

    def mean(names: list[str]) -> float | None:
        values = [accuracy[n] for n in names if n in accuracy]
        return sum(values) / len(values) if values else None

    live = [n for n in LIVE_AST if n in totals]
    out["bfcl_non_live_ast"] = mean(NON_LIVE_AST)
    out["bfcl_live"] = (sum(totals[n][0] for n in live) / sum(totals[n][1] for n in live)
                        if live else None)
    # Named as the leaderboard's columns: "bfcl_irrelevance" is already the category.
    out["bfcl_irrelevance_detection"] = mean(["irrelevance", "live_irrelevance"])
    out["bfcl_relevance_detection"] = accuracy.get("live_relevance")
    return out


SUMMARY = ["bfcl_non_live_ast", "bfcl_live", "bfcl_irrelevance_detection",
           "bfcl_relevance_detection"]

# Published leaderboard figures for the families' chat models (percent), to read the chat
# reference rows against. Source: the data behind gorilla.cs.berkeley.edu/leaderboard.html
# (github.com/ShishirPatil/gorilla, branch gh-pages, data_*.csv), BFCL v3, 2025-04-30.
LEADERBOARD = {
    "source": "BFCL leaderboard v3, 2025-04-30 (gorilla gh-pages data_*.csv)",
    "THUDM/glm-4-9b-chat (FC)": {"simple_python": 86.50, "multiple": 81.50, "parallel": 0.0,
                                 "parallel_multiple": 0.0, "irrelevance": 88.33, "live": 66.81,
                                 "live_irrelevance": 71.09, "live_relevance": 66.67},
    "Qwen/Qwen2.5-7B-Instruct (FC)": {"simple_python": 95.50, "multiple": 95.00, "parallel": 90.00,
                                      "parallel_multiple": 86.00, "irrelevance": 65.83,
                                      "live": 74.19, "live_irrelevance": 72.34,
                                      "live_relevance": 77.78},
}
