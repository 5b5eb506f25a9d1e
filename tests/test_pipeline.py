"""End to end: `dvc repro` of all five stages on tiny stand-ins, in a scratch copy.

Also pins the DAG's behaviour: a second repro reruns nothing, and changing one model's
learning rate invalidates only that model's finetune/evaluate and compare-models.
"""

import json
import os
import shutil
import subprocess

import pytest
import yaml
from conftest import ROOT

TINY = {
    "standin": {"vocab_size": 400, "hidden_size": 32, "num_hidden_layers": 1,
                "num_attention_heads": 2, "num_key_value_heads": 1, "intermediate_size": 64,
                "pretrain_steps": 3, "pretrain_batch_size": 2, "pretrain_block_size": 64},
    "train": {"max_steps": 3, "per_device_train_batch_size": 2, "logging_steps": 1,
              "eval_steps": 2},
    "evaluate": {"max_new_tokens": 8, "batch_size": 8, "bootstrap_samples": 20},
}


def run(args, cwd, env):
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    for name in ("stages", "toolcall", "data/sample", ".dvc/config", ".dvcignore", "dvc.yaml"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, root / name)
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["dataset"]["max_rows"] = 60
    params["dataset"]["test_fraction"] = 0.15
    params["standin"].update(TINY["standin"])
    params["evaluate"].update(TINY["evaluate"])
    for model in params["models"].values():
        model["standin_train"].update(TINY["train"])
    (root / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), "utf-8")
    env = {**os.environ, "SWANLAB_MODE": "disabled", "PYTHONPATH": str(root)}
    run(["git", "init", "-q"], root, env)
    run(["dvc", "init", "-q", "--force"], root, env)
    (root / ".dvc" / "config").write_text((ROOT / ".dvc" / "config").read_text())
    output = run(["dvc", "repro"], root, env)
    return root, env, params, output


def test_repro_writes_every_output(project):
    root, _, params, _ = project
    for key in params["models"]:
        assert (root / "models" / key / "adapter" / "adapter_model.safetensors").exists()
        assert (root / "models" / key / "adapter" / "chat_template.jinja").exists()
        manifest = json.loads((root / "models" / key / "manifest.json").read_text())
        assert manifest["source"] == "standin"
        for variant in ("base", "tuned"):
            metrics = json.loads((root / "metrics" / key / f"{variant}.json").read_text())
            assert metrics["turns"] > 0 and "tool_score" in metrics
            assert all(v is None or isinstance(v, (int, float)) for v in metrics.values())
            turns = (root / "metrics" / key / f"{variant}.turns.jsonl").read_text().splitlines()
            assert len(turns) == metrics["turns"]
    compare = json.loads((root / "metrics" / "compare.json").read_text())
    assert "glm4-9b.tuned.tool_score" in compare and "qwen2_5-7b.gain.decision_f1" in compare
    table = (root / "metrics" / "compare.md").read_text()
    assert "| tool_score |" in table and "**family**" in table


def test_metrics_show_lists_every_model(project):
    root, env, params, _ = project
    shown = run(["dvc", "metrics", "show", "--json"], root, env)
    for key in params["models"]:
        assert f"metrics/{key}/tuned.json" in shown and f"metrics/{key}/base.json" in shown


def test_second_repro_reruns_nothing(project):
    root, env, _, _ = project
    status = run(["dvc", "status", "--json"], root, env)
    assert json.loads(status) == {}


def test_one_learning_rate_invalidates_only_that_model(project):
    root, env, params, _ = project
    changed = json.loads(json.dumps(params))
    changed["models"]["glm4-9b"]["standin_train"]["learning_rate"] = 1e-3
    original = (root / "params.yaml").read_text("utf-8")
    (root / "params.yaml").write_text(yaml.safe_dump(changed, allow_unicode=True), "utf-8")
    try:
        stale = set(json.loads(run(["dvc", "status", "--json"], root, env)))
    finally:
        (root / "params.yaml").write_text(original, "utf-8")
    # evaluate-toolcall@glm4-9b follows once the adapter changes; qwen's chain stays cached
    assert stale == {"finetune@glm4-9b", "compare-models"}


def test_compare_models_depends_on_every_model_in_params():
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    deps = set(dvc["stages"]["compare-models"]["deps"])
    for key in params["models"]:
        for name in ("base.json", "tuned.json", "train.json"):
            assert f"metrics/{key}/{name}" in deps
