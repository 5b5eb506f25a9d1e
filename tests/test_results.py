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
    excerpt = readme[start:readme.index("Read it as a user would read a real run", start)]
    rows = [line for line in excerpt.splitlines() if line.startswith(("|", "**Verdict."))]
    assert len(rows) >= 10 and rows[0].startswith("**Verdict.")
    assert all(row in table for row in rows), "README excerpt differs from metrics/compare.md"


# The committed SmolLM2 run (README, "A real model on a CPU"): a real pretrained model, so the
# conclusions are about learning, with margins below what it measured.
SMOLLM2 = ROOT / "results" / "smollm2-glaive-en"


def test_the_real_model_learns_to_call_tools():
    figures = json.loads((SMOLLM2 / "compare.json").read_text(encoding="utf-8"))
    base = {k.split(".", 2)[2]: v for k, v in figures.items() if k.startswith("smollm2-135m.base.")}
    tuned = {k.split(".", 2)[2]: v for k, v in figures.items() if k.startswith("smollm2-135m.tuned.")}
    assert base["call_exact_match"] <= 0.05 and base["call_name_accuracy"] <= 0.1
    # it learns the format and which function to call; exact calls only begin (README)
    assert tuned["format_valid_rate"] >= 0.7 and tuned["call_name_accuracy"] >= 0.2
    assert tuned["call_exact_match"] > base["call_exact_match"]
    assert tuned["decision_f1"] - base["decision_f1"] >= 0.2
    assert tuned["bfcl_simple_python"] > base["bfcl_simple_python"]
    # what it has not unlearned: inventing the tool's result, judged wrong (README)
    assert tuned["fabricated_observation_rate"] >= 0.1


def test_the_readme_shows_the_committed_real_model_table():
    table = (SMOLLM2 / "compare.md").read_text(encoding="utf-8").splitlines()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("Excerpt of `results/smollm2-glaive-en/compare.md`")
    headline, bfcl = readme[start:].split("\n\n", 3)[1:3]  # the two tables after that line
    rows = headline.splitlines() + bfcl.splitlines()
    assert len(rows) >= 10 and all(row.startswith("|") for row in rows)
    assert all(row in table for row in rows), "README excerpt differs from the committed table"
