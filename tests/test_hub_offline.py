"""The real run's code path end to end, offline: `dvc repro` with weights=hub and a hub data set
id, against a local Hugging Face cache that holds tiny checkpoints laid out and configured as
the real ones ship (toolcall/templates.py Family.base) and the data set's one file. Every stage
runs its hub-mode code (snapshot_download pinned to a commit, hub training settings, LoRA with
trainable format tokens, the adapter export naming its hub base) on a CPU."""

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, tiny_params

from toolcall.io import read_json
from toolcall.params import load_params
from toolcall.sample_data import SAMPLE_PATH
from toolcall.standins import build_standin
from toolcall.templates import FAMILIES

COMMIT = "0123456789abcdef0123456789abcdef01234567"
DATASET = "llamafactory/glaive_toolcall_zh"


def put_in_hub_cache(cache: Path, repo_type: str, repo_id: str, files: Path) -> None:
    """`files` as huggingface_hub's cache holds a download of `repo_id` at COMMIT: blobs named
    by their hash, a snapshot of symlinks into them, refs/main naming the commit."""
    repo = cache / f"{repo_type}s--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    for path in files.iterdir():
        data = path.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        (snapshot / path.name).symlink_to(os.path.relpath(blob, snapshot))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)


@pytest.fixture(scope="module")
def hub_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("hf_home")
    rows = read_json(ROOT / SAMPLE_PATH)
    params = tiny_params()
    for key, model in load_params(ROOT / "params.yaml").models.items():
        family = FAMILIES[model.family]
        texts = [family.render([], [{"role": "user", "content": t["value"]}
                                    for t in r["conversations"][:1]]).text for r in rows]
        folder = tmp_path_factory.mktemp(key)
        build_standin(family, texts, texts, {k: params["standin"][k] for k in (
            "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
            "intermediate_size")} | {"max_position_embeddings": 4096},
            {**params["standin"], "pretrain_steps": 0}, folder, family.base)
        put_in_hub_cache(home / "hub", "model", model.hub_id, folder)
    data = tmp_path_factory.mktemp("data")
    shutil.copy(ROOT / SAMPLE_PATH, data / "glaive_toolcall_zh_1k.json")
    put_in_hub_cache(home / "hub", "dataset", DATASET, data)

    root = tmp_path_factory.mktemp("project")
    for name in ("stages", "toolcall", ".dvcignore", "dvc.yaml"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, root / name)
    params["weights"] = "hub"
    for model in params["models"].values():
        model["revision"] = COMMIT
    params["dataset"].update(source=DATASET, hub_revision=COMMIT, max_rows=40)
    params["train"].update(max_steps=2, logging_steps=1, eval_steps=2, save_steps=2)
    params["lora"]["r"] = 4
    (root / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), "utf-8")
    env = {**os.environ, "HF_HOME": str(home), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "SWANLAB_MODE": "disabled", "PYTHONPATH": str(root)}
    for command in (["git", "init", "-q"], ["dvc", "init", "-q", "--force"], ["dvc", "repro"],
                    ["python", "-m", "stages.export", "--model", "qwen2_5-7b"]):
        if command[0] == "python":
            (root / "params.yaml").write_text((root / "params.yaml").read_text().replace(
                "merge: true", "merge: false"))
        result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root


def test_every_stage_ran_its_hub_code_offline(hub_run):
    root = hub_run
    source = read_json(root / "data/prepared/source.json")["sources"]
    assert source == [{"kind": "hub", "id": DATASET, "revision": COMMIT, "commit": COMMIT}]
    for key, hub_id in (("glm4-9b", "THUDM/glm-4-9b-hf"), ("qwen2_5-7b", "Qwen/Qwen2.5-7B")):
        manifest = read_json(root / "models" / key / "base.manifest.json")
        assert manifest == {"source": "hub", "hub_id": hub_id, "revision": COMMIT, "commit": COMMIT}
        adapter = read_json(root / "models" / key / "adapter" / "adapter_config.json")
        assert adapter["trainable_token_indices"]  # the hub LoRA trains the format tokens
        for variant in ("base", "tuned"):
            metrics = read_json(root / "metrics" / "models" / key / f"{variant}.json")
            assert metrics["turns"] > 0
    assert "glm4-9b tuned" in (root / "metrics" / "compare.md").read_text()


def test_the_glm_checkpoint_s_missing_template_is_replaced_and_qwen_s_kept(hub_run):
    glm = json.loads((hub_run / "models/glm4-9b/adapter/tokenizer_config.json").read_text())
    assert glm.get("chat_template") or (hub_run / "models/glm4-9b/adapter/chat_template.jinja").exists()


def test_an_adapter_export_names_its_hub_base_and_commit(hub_run):
    config = read_json(hub_run / "models/qwen2_5-7b/export/adapter_config.json")
    assert (config["base_model_name_or_path"], config["revision"]) == ("Qwen/Qwen2.5-7B", COMMIT)
