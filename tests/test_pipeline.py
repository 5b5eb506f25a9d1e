"""End to end: `dvc repro` of every stage on tiny stand-ins, in a scratch copy.

Also pins the DAG's behaviour: a second repro reruns nothing (but the moment-long
resolve-dataset), changing one model's settings invalidates only that model's chain, a
change to scoring never regenerates, editing a data file anywhere reruns preparation and
what follows, and the GLM-vs-Qwen experiment workflow of the README gives meaningful
`dvc params diff` / `dvc metrics diff`.
"""

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml
from conftest import ROOT, tiny_params

from toolcall.layout import RESULTS, generation_file


def run(args, cwd, env):
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    for name in ("stages", "toolcall", "data/sample", ".dvcignore", "dvc.yaml"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, root / name)
    params = tiny_params()
    params["chat_references"] = {"glm4-9b": {"hub_id": "THUDM/glm-4-9b-chat-hf",
                                             "revision": "main"}}
    (root / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), "utf-8")
    env = {**os.environ, "SWANLAB_MODE": "disabled", "PYTHONPATH": str(root)}
    run(["git", "init", "-q"], root, env)
    run(["dvc", "init", "-q", "--force"], root, env)
    (root / ".dvc" / "config").write_text((ROOT / ".dvc" / "config").read_text())
    shutil.copytree(ROOT / ".dvc" / "plots", root / ".dvc" / "plots")
    output = run(["dvc", "repro"], root, env)
    run(["git", "add", "-A"], root, env)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "repro"], root, env)
    return root, env, params, output


def test_repro_writes_every_output(project):
    root, _, params, _ = project
    for key in params["models"]:
        assert (root / "models" / key / "adapter" / "adapter_model.safetensors").exists()
        assert (root / "models" / key / "adapter" / "chat_template.jinja").exists()
        manifest = json.loads((root / "models" / key / "base.manifest.json").read_text())
        assert manifest["source"] == "standin"
        variants = ("base", "tuned", "chat") if key == "glm4-9b" else ("base", "tuned")
        for variant in variants:
            metrics = json.loads((root / RESULTS / key / f"{variant}.json").read_text())
            assert metrics["turns"] > 0 and "tool_score" in metrics
            assert all(v is None or isinstance(v, (int, float)) for v in metrics.values())
            turns = (root / RESULTS / key / f"{variant}.turns.jsonl").read_text().splitlines()
            assert len(turns) == metrics["turns"]
            generated = (root / generation_file(key, variant)).read_text().splitlines()
            assert len(generated) == metrics["turns"]
        assert not list((root / "models" / key / "progress").glob("*"))
    compare = json.loads((root / "metrics" / "compare.json").read_text())
    assert "glm4-9b.tuned.tool_score" in compare and "qwen2_5-7b.gain.decision_f1" in compare
    assert "glm4-9b.chat.tool_score" in compare and "qwen2_5-7b.chat.tool_score" not in compare
    table = (root / "metrics" / "compare.md").read_text()
    assert "| tool_score |" in table and "**family**" in table and "glm4-9b chat" in table
    assert "| bfcl_non_live_ast |" in table and "Published BFCL figures" in table
    bfcl = json.loads((root / RESULTS / "glm4-9b" / "bfcl.tuned.json").read_text())
    assert bfcl["bfcl_simple_python_questions"] == 1 and "bfcl_live" in bfcl
    page = (root / "metrics" / "compare.html").read_text()
    assert page.count("<svg") == 4 and "http" not in page.replace(
        "http://www.w3.org/2000/svg", "")  # self-contained: nothing to fetch


def test_metrics_show_lists_every_model(project):
    root, env, params, _ = project
    shown = run(["dvc", "metrics", "show", "--json"], root, env)
    for key in params["models"]:
        assert f"{RESULTS}/{key}/tuned.json" in shown and f"{RESULTS}/{key}/base.json" in shown


def test_plots_show_renders_every_chart(project):
    root, env, params, _ = project
    plots = json.loads(run(["dvc", "plots", "show", "--json"], root, env))
    assert "errors" not in plots or not plots["errors"], plots.get("errors")
    ids = set(plots["data"])
    assert {"Headline metrics per model and variant", "Error types per model and variant",
            "Training and eval loss, all models"} <= ids
    headline = plots["data"]["Headline metrics per model and variant"][0]["content"]
    runs = {row["run"] for row in headline["data"]["values"]}
    assert runs == {"glm4-9b base", "glm4-9b tuned", "glm4-9b chat", "qwen2_5-7b base",
                    "qwen2_5-7b tuned"}
    assert headline["encoding"]["x"]["scale"]["zero"] is True


def _would_run(root, env) -> set[str]:
    out = run(["dvc", "repro", "--dry"], root, env)
    return set(re.findall(r"Running stage '([^']+)'", out))


def test_second_repro_reruns_nothing(project):
    root, env, _, _ = project
    status = run(["dvc", "status", "--json"], root, env)
    assert json.loads(status) == {"resolve-dataset": ["always changed"]}
    assert _would_run(root, env) == {"resolve-dataset"}


def test_a_scoring_change_never_regenerates(project):
    """The parser, a metric or the bootstrap: only scoring and the comparison rerun."""
    root, env, _, _ = project
    metrics = root / "toolcall" / "metrics.py"
    original = metrics.read_text(encoding="utf-8")
    metrics.write_text(original + "\n# a changed metric\n", encoding="utf-8")
    try:
        would_run = _would_run(root, env)
    finally:
        metrics.write_text(original, encoding="utf-8")
    assert would_run == {"resolve-dataset", "score@glm4-9b", "score@qwen2_5-7b",
                         "score-chat-reference@glm4-9b", "score-bfcl@glm4-9b", "score-bfcl@qwen2_5-7b",
                         "score-bfcl-chat-reference@glm4-9b", "compare-models"}


def test_editing_a_data_file_anywhere_reruns_preparation_and_what_follows(project, tmp_path):
    root, env, params, _ = project
    source = tmp_path / "elsewhere" / "glaive.json"  # outside the project
    source.parent.mkdir()
    shutil.copy(root / params["dataset"]["source"], source)
    original = (root / "params.yaml").read_text("utf-8")
    moved = json.loads(json.dumps(params))
    moved["dataset"]["source"] = str(source)
    (root / "params.yaml").write_text(yaml.safe_dump(moved, allow_unicode=True), "utf-8")
    try:
        run(["dvc", "repro", "prepare-dataset"], root, env)  # same rows: the same split
        assert _would_run(root, env) == {"resolve-dataset"}
        rows = json.loads(source.read_text("utf-8"))
        source.write_text(json.dumps(rows[1:], ensure_ascii=False), "utf-8")  # one row less
        output = run(["dvc", "repro", "prepare-dataset"], root, env)
        assert "Running stage 'prepare-dataset'" in output
        stale = set(json.loads(run(["dvc", "status", "--json"], root, env)))
    finally:
        (root / "params.yaml").write_text(original, "utf-8")
        run(["dvc", "repro", "prepare-dataset"], root, env)
    assert {"finetune@glm4-9b", "finetune@qwen2_5-7b", "generate@glm4-9b", "score@glm4-9b",
            "generate@qwen2_5-7b", "score@qwen2_5-7b"} <= stale
    assert json.loads(run(["dvc", "status", "--json"], root, env)) == {
        "resolve-dataset": ["always changed"]}


def test_one_model_setting_invalidates_only_that_model(project):
    root, env, params, _ = project
    changed = json.loads(json.dumps(params))
    changed["models"]["glm4-9b"]["lora"] = {"r": 8}
    original = (root / "params.yaml").read_text("utf-8")
    (root / "params.yaml").write_text(yaml.safe_dump(changed, allow_unicode=True), "utf-8")
    try:
        stale = set(json.loads(run(["dvc", "status", "--json"], root, env))) - {"resolve-dataset"}
    finally:
        (root / "params.yaml").write_text(original, "utf-8")
    # generate@glm4-9b follows once the adapter changes; qwen's chain stays cached
    assert stale == {"finetune@glm4-9b", "compare-models"}


def test_glm_vs_qwen_experiments_diff_the_real_settings(project):
    """The README workflow: one experiment per model under the same key, so `dvc params
    diff` and `dvc metrics diff` line the two models up key by key."""
    root, env, _, _ = project
    for name, model in EXPERIMENTS.items():
        run(["dvc", "exp", "run", "--temp", "-n", name, "-S", f"++models={{solo: {model}}}",
             "-S", "++chat_references={}"], root, env)
    params = json.loads(run(["dvc", "params", "diff", "glm", "qwen", "--json"], root, env))
    changed = params["params.yaml"]
    assert changed["models.solo.family"] == {"old": "glm4", "new": "qwen2.5"}
    assert changed["models.solo.hub_id"] == {"old": "THUDM/glm-4-9b-hf", "new": "Qwen/Qwen2.5-7B"}
    assert changed["models.solo.lora.r"] == {"old": None, "new": 8}
    metrics = json.loads(run(["dvc", "metrics", "diff", "glm", "qwen", "--all", "--json"],
                             root, env))
    tuned = metrics[f"{RESULTS}/solo/tuned.json"]
    assert {"old", "new"} <= set(tuned["tool_score"])
    shown = run(["dvc", "exp", "show", "--no-pager", "--csv"], root, env)
    assert "glm" in shown and "qwen" in shown and "tool_score" in shown


EXPERIMENTS = {
    "glm": "{family: glm4, hub_id: THUDM/glm-4-9b-hf, revision: main}",
    "qwen": "{family: qwen2.5, hub_id: Qwen/Qwen2.5-7B, revision: main, lora: {r: 8}}",
}
