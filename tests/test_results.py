"""The committed default run says what the README says it says.

The stand-in figures move a little between CPU kinds (README, "Comparing GLM and
Qwen"), so these tests check the conclusions with margins, never the digits: tuning
teaches both stand-ins when to call, the call format and the function to call, their
bases call nothing, and the README's excerpt is copied from the committed table."""

import json

import pytest
from conftest import ROOT

COMPARE = json.loads((ROOT / "metrics" / "compare.json").read_text(encoding="utf-8"))
MODELS = sorted({key.split(".")[0] for key in COMPARE if key.endswith(".tuned.tool_score")})


def test_the_default_run_compares_both_families():
    assert MODELS == ["glm4-9b", "qwen2_5-7b"]


@pytest.mark.parametrize("model", MODELS)
def test_tuning_teaches_when_and_what_to_call(model):
    base = {k.split(".", 2)[2]: v for k, v in COMPARE.items() if k.startswith(f"{model}.base.")}
    tuned = {k.split(".", 2)[2]: v for k, v in COMPARE.items()
             if k.startswith(f"{model}.tuned.")}
    assert tuned["decision_f1"] - base["decision_f1"] >= 0.5
    assert tuned["call_name_accuracy"] >= 0.7 and base["call_name_accuracy"] <= 0.1
    assert tuned["format_valid_rate"] >= 0.7
    assert base["call_exact_match"] <= 0.05
    assert tuned["hit_token_limit_rate"] <= 0.05  # answers end; they are not cut off


def test_the_readme_excerpt_is_the_committed_table():
    table = (ROOT / "metrics" / "compare.md").read_text(encoding="utf-8").splitlines()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("Excerpt of `metrics/compare.md`")
    rows = [line for line in readme[start:].split("\n\n", 2)[1].splitlines()]
    assert len(rows) >= 4
    assert all(row in table for row in rows), "README excerpt differs from metrics/compare.md"
