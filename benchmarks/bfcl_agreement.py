"""Proof that our BFCL scorer is BFCL's scorer: the same decoded answers judged by the official
checker (in its own virtual environment, with its full dependency set) and by toolcall.bfcl,
verdict by verdict.

    python3 -m venv .bfcl-venv && .bfcl-venv/bin/pip install bfcl-eval==2026.3.23 soundfile
    python -m benchmarks.bfcl_agreement --python .bfcl-venv/bin/python --out bfcl_agreement.json
    python -m benchmarks.bfcl_agreement --python .bfcl-venv/bin/python --write-fixture   # the test's

Answers: for every question of every single-turn category, an accepted answer built from the
ground truth, and mutations of it: a wrong value, a wrong type, an int for a float, a string in
other case and spacing, a missing required or extra parameter, a wrong name, parallel calls in
reverse order, an optional parameter given, punctuation BFCL ignores and punctuation it keeps, a reversed
list, integers in a list of floats, a boolean for an integer, no call at all; a spurious call
on irrelevance questions and none on relevance ones. AST answers go through the official `ast_checker`;
call/no-call answers through the official runner's `is_empty_output` rule. The verdicts that
disagree are listed in full.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import tempfile
from pathlib import Path

from toolcall.bfcl import CATEGORIES, NO_ANSWER, data_file, read_lines
from toolcall.bfcl_scoring import check_calls
from toolcall.registry import BFCL_EVAL, fetch

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "bfcl_verdicts.json"
MODEL_NAME = "Qwen/Qwen3-8B-FC"  # a registered name whose rule keeps dotted function names

OFFICIAL = r"""
import json, os, sys
from bfcl_eval.constants.enums import Language
from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker
from bfcl_eval.utils import is_empty_output
verdicts = []
for case in json.load(sys.stdin):
    if case["category"] in ("irrelevance", "live_irrelevance", "live_relevance"):
        called = not is_empty_output(case["output"])
        verdicts.append(not called if "irrelevance" in case["category"] else called)
    else:
        result = ast_checker(case["function"], case["output"], case["ground_truth"],
                             Language.PYTHON, case["category"], sys.argv[1])
        verdicts.append(result["valid"])
json.dump(verdicts, sys.stdout)
"""


def _first(accepted: list):
    """The first accepted value that is not "" ("" itself when it is the only one; [] when
    nothing is accepted: BFCL has a few questions no answer can pass)."""
    return next((a for a in accepted if a != ""), "" if accepted else [])


def _left_out(accepted: list) -> bool:
    return "" in accepted and any(a != "" for a in accepted)


def _gold(option):
    """A value built from an accepted option: a dict (or list-of-dict) parameter's option holds
    one accepted-value list per key, one level deep (keys that may be left out are left out);
    anything else is the value itself."""
    if isinstance(option, dict) and all(isinstance(v, list) for v in option.values()):
        return {k: copy.deepcopy(_first(v)) for k, v in option.items() if not _left_out(v)}
    if isinstance(option, list) and option and all(isinstance(o, dict) for o in option):
        return [_gold(o) for o in option]
    return copy.deepcopy(option)


def accepted_answer(ground_truth: list[dict]) -> list[dict]:
    return [{name: {p: _gold(_first(v)) for p, v in params.items() if not _left_out(v)}}
            for call in ground_truth for name, params in call.items()]


def _other_value(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + " plus"
    if isinstance(value, list):
        return value[:-1] if value else ["extra"]
    if isinstance(value, dict):
        return {**value, "extra_key": "x"}
    return "changed"


def _other_type(value):
    if isinstance(value, str):
        return 12345
    return json.dumps(value)


def mutations(entry: dict, answer: dict | None, category: str) -> dict[str, list[dict]]:
    """kind -> decoded answer, for one question."""
    if category in NO_ANSWER:
        functions = entry["function"]
        call = [{functions[0]["name"]: {}}] if functions else [{"some_function": {}}]
        return {"no_call": [], "a_call": call}
    gold = accepted_answer(answer["ground_truth"])
    docs = {f["name"]: f for f in entry["function"]}
    out = {"accepted": gold, "no_call": [], "wrong_name": copy.deepcopy(gold)}
    first_name = next(iter(gold[0]))
    out["wrong_name"][0] = {first_name + "_v2": gold[0][first_name]}
    out["extra_param"] = copy.deepcopy(gold)
    out["extra_param"][0][first_name]["not_a_param"] = 1
    if len(gold) > 1:
        out["reversed_calls"] = gold[::-1]
    args = gold[0][first_name]
    properties = docs[first_name]["parameters"]["properties"]
    if args:
        param = next(iter(args))
        for kind, value in (("wrong_value", _other_value(args[param])),
                            ("wrong_type", _other_type(args[param]))):
            out[kind] = copy.deepcopy(gold)
            out[kind][0][first_name][param] = value
    for param, value in args.items():
        kind = properties.get(param, {}).get("type")
        if kind == "float" and isinstance(value, float) and value.is_integer():
            out["int_for_float"] = copy.deepcopy(gold)
            out["int_for_float"][0][first_name][param] = int(value)
        if isinstance(value, str) and value and "string_case_space" not in out:
            out["string_case_space"] = copy.deepcopy(gold)
            out["string_case_space"][0][first_name][param] = " " + value.upper() + " "
    for param, value in args.items():  # the subtle rules: what standardization removes, order
        prop = properties.get(param, {})
        if isinstance(value, str) and len(value) > 1 and "string_punctuation" not in out:
            out["string_punctuation"] = copy.deepcopy(gold)  # "-" and "_" go, "!" stays
            out["string_punctuation"][0][first_name][param] = value[0] + "-_" + value[1:]
            out["string_exclamation"] = copy.deepcopy(gold)
            out["string_exclamation"][0][first_name][param] = value + "!"
        if isinstance(value, list) and len(set(map(json.dumps, value))) > 1 and "list_reversed" not in out:
            out["list_reversed"] = copy.deepcopy(gold)
            out["list_reversed"][0][first_name][param] = value[::-1]
        if (prop.get("type") in ("array", "tuple") and prop.get("items", {}).get("type") == "float"
                and value and all(isinstance(v, float) and v.is_integer() for v in value)):
            out["float_list_as_ints"] = copy.deepcopy(gold)
            out["float_list_as_ints"][0][first_name][param] = [int(v) for v in value]
        if prop.get("type") == "integer" and isinstance(value, int) and "bool_for_int" not in out:
            out["bool_for_int"] = copy.deepcopy(gold)
            out["bool_for_int"][0][first_name][param] = bool(value)
    required = docs[first_name]["parameters"].get("required", [])
    if required and required[0] in args:
        out["missing_required"] = copy.deepcopy(gold)
        del out["missing_required"][0][first_name][required[0]]
    optional = [p for p, v in answer["ground_truth"][0][first_name].items() if _left_out(v)]
    if optional:
        out["optional_given"] = copy.deepcopy(gold)
        values = answer["ground_truth"][0][first_name][optional[0]]
        out["optional_given"][0][first_name][optional[0]] = _gold(_first(values))
    return out


def all_cases(root: Path) -> list[dict]:
    cases = []
    for category in CATEGORIES:
        answers = ({a["id"]: a for a in read_lines(data_file(root, category, answers=True))}
                   if category not in NO_ANSWER else {})
        for entry in read_lines(data_file(root, category)):
            answer = answers.get(entry["id"])
            for kind, output in mutations(entry, answer, category).items():
                cases.append({"category": category, "id": entry["id"], "kind": kind,
                              "function": entry["function"], "output": output,
                              "ground_truth": answer["ground_truth"] if answer else None})
    return cases


def our_verdict(case: dict) -> bool:
    if case["category"] in NO_ANSWER:
        called = bool(case["output"]) and all(isinstance(c, dict) and c for c in case["output"])
        return not called if "irrelevance" in case["category"] else called
    if not case["output"]:
        return False
    return check_calls(case["category"], case["function"], case["output"], case["ground_truth"]) is None


def official_verdicts(cases: list[dict], python: str) -> list[bool]:
    with tempfile.TemporaryDirectory() as project:  # BFCL makes folders in its project root
        result = subprocess.run([python, "-c", OFFICIAL, MODEL_NAME], input=json.dumps(cases),
                                capture_output=True, text=True, check=True,
                                env={**os.environ, "BFCL_PROJECT_ROOT": project})
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", required=True, help="the python of a venv with bfcl-eval")
    parser.add_argument("--out", type=Path, help="write the full report here (JSON)")
    parser.add_argument("--write-fixture", action="store_true",
                        help=f"also write every 20th verdict to {FIXTURE.relative_to(FIXTURE.parents[2])}")
    args = parser.parse_args()
    cases = all_cases(fetch(BFCL_EVAL))
    official = official_verdicts(cases, args.python)
    ours = [our_verdict(c) for c in cases]
    disagreements = [{**{k: c[k] for k in ("category", "id", "kind", "output")}, "official": o, "ours": u}
                     for c, o, u in zip(cases, official, ours, strict=True) if o != u]
    by_kind: dict[str, list[int]] = {}
    for case, verdict in zip(cases, official, strict=True):
        counts = by_kind.setdefault(case["kind"], [0, 0])
        counts[0] += verdict
        counts[1] += 1
    report = {"cases": len(cases), "agreement": 1 - len(disagreements) / len(cases),
              "official_valid_by_kind": {k: f"{v[0]}/{v[1]}" for k, v in sorted(by_kind.items())},
              "disagreements": disagreements}
    print(json.dumps({k: v for k, v in report.items() if k != "disagreements"}, indent=2))
    for d in disagreements:
        print(json.dumps(d, ensure_ascii=False)[:400])
    if args.out:
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    if args.write_fixture:
        rows = [json.dumps([c["category"], c["id"], c["kind"], o])  # one verdict a line
                for i, (c, o) in enumerate(zip(cases, official, strict=True)) if i % 20 == 0]
        FIXTURE.write_text("[\n" + ",\n".join(rows) + "\n]\n")


if __name__ == "__main__":
    main()
