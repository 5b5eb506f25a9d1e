"""The README's GLM-vs-Qwen workflow: one `dvc exp run` per model under the same key, so
`dvc params diff` and `dvc metrics diff` line the two models up key by key.

Each experiment runs the tiny DAG up to the model's scores (`evaluate-toolcall@solo`): the BFCL and
comparison stages (run in test_pipeline.py) would double this module's time and add nothing
to what the diffs show."""

import json
import shlex

import pytest
from conftest import ROOT, dvc_project, tiny_params
from conftest import run_command as run

from toolcall.layout import RESULTS

EXPERIMENTS = {
    "glm": "{family: glm4, hub_id: THUDM/glm-4-9b-hf, revision: main}",
    "qwen": "{family: qwen2_5, hub_id: Qwen/Qwen2.5-7B, revision: main, lora: {r: 8}}",
}


@pytest.fixture(scope="module")
def experiments(tmp_path_factory):
    root = tmp_path_factory.mktemp("experiments")
    env = dvc_project(root, tiny_params())
    for name, model in EXPERIMENTS.items():
        run(["dvc", "exp", "run", "-n", name, "-S", f"++models={{solo: {model}}}",
             "-S", "++chat_references={}", "evaluate-toolcall@solo"], root, env)
    return root, env


def test_params_diff_shows_what_differs_between_the_models(experiments):
    root, env = experiments
    params = json.loads(run(["dvc", "params", "diff", "glm", "qwen", "--json"], root, env))
    changed = params["params.yaml"]
    assert changed["models.solo.family"] == {"old": "glm4", "new": "qwen2_5"}
    assert changed["models.solo.hub_id"] == {"old": "THUDM/glm-4-9b-hf", "new": "Qwen/Qwen2.5-7B"}
    assert changed["models.solo.lora.r"] == {"old": None, "new": 8}


def test_metrics_diff_lines_the_models_up_key_by_key(experiments):
    root, env = experiments
    metrics = json.loads(run(["dvc", "metrics", "diff", "glm", "qwen", "--all", "--json"],
                             root, env))
    for variant in ("base", "tuned"):
        scores = metrics[f"{RESULTS}/solo/{variant}.json"]
        assert {"old", "new"} <= set(scores["tool_score"])
        assert {"old", "new"} <= set(scores["decision_f1"])
    shown = run(["dvc", "exp", "show", "--no-pager", "--csv"], root, env)
    assert "glm" in shown and "qwen" in shown and "tool_score" in shown


def test_the_readmes_exp_show_filter_shows_the_comparison_in_a_terminal(experiments):
    """The README's `dvc exp show` line, run as written: both experiments' tuned tool_score and
    decision_f1, and nothing wider than 120 columns."""
    root, env = experiments
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(line for line in readme.splitlines() if line.startswith("dvc exp show --no-pager --drop"))
    shown = run(shlex.split(line), root, {**env, "COLUMNS": "120"})
    rows = [row for row in shown.splitlines() if row.strip()]
    assert any("[glm]" in row for row in rows) and any("[qwen]" in row for row in rows), shown
    assert "tuned.json:tool_score" in shown and "tuned.json:decision_f1" in shown
    assert "lora" not in shown and "dataset" not in shown  # no params columns
    assert max(len(row) for row in rows) <= 120, shown
