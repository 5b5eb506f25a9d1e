"""The real run's code path end to end, offline: `dvc repro` with weights=hub and a hub data set
id, against a local Hugging Face cache that holds tiny checkpoints laid out and configured as
the real ones ship (toolcall/families/ Family.base) and the data set's one file. Every stage
runs its hub-mode code (snapshot_download pinned to a commit, hub training settings, LoRA with
trainable format tokens, the adapter export naming its hub base) on a CPU."""

import json
import subprocess

import pytest
from conftest import TINY, tiny_params

from benchmarks.dress_rehearsal import COMMIT, DATASET, build_hub_cache, hub_project, offline_env
from toolcall.io import read_json
from toolcall.standins import SHAPE_KEYS

pytestmark = pytest.mark.slow  # `pytest -m slow` (pyproject.toml)


@pytest.fixture(scope="module")
def hub_run(tmp_path_factory):
    home, root = tmp_path_factory.mktemp("hf_home"), tmp_path_factory.mktemp("project")
    standin = tiny_params()["standin"]
    shape = {k: standin[k] for k in SHAPE_KEYS if k != "max_position_embeddings"}
    build_hub_cache(home, {**shape, "max_position_embeddings": 4096}, "cpu")
    hub_project(root, {"dataset": {"max_rows": 40, "min_test_conversations": 1}, "lora": {"r": 4},
                       "train": {"max_steps": 2, "logging_steps": 1, "eval_steps": 2, "save_steps": 2},
                       "evaluate": TINY["evaluate"]})
    env = offline_env(home, root)
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
    for key, hub_id, family in (("glm4-9b", "THUDM/glm-4-9b-hf", "glm4"),
                                ("qwen2_5-7b", "Qwen/Qwen2.5-7B", "qwen2_5")):
        manifest = read_json(root / "models" / key / "base.manifest.json")
        assert manifest == {"source": "hub", "hub_id": hub_id, "revision": COMMIT, "commit": COMMIT,
                            "family": family}
        adapter = read_json(root / "models" / key / "adapter" / "adapter_config.json")
        assert adapter["trainable_token_indices"]  # the hub LoRA trains the format tokens
        for variant in ("base", "tuned"):
            metrics = read_json(root / "metrics" / "models" / key / f"{variant}.details.json")
            assert metrics["turns"] > 0
    assert "glm4-9b tuned" in (root / "metrics" / "compare.md").read_text()


def _template(folder) -> str | None:
    """The chat template a tokenizer folder holds (its own file, or tokenizer_config.json's)."""
    jinja = folder / "chat_template.jinja"
    if jinja.exists():
        return jinja.read_text(encoding="utf-8")
    return json.loads((folder / "tokenizer_config.json").read_text()).get("chat_template")


def test_the_glm_checkpoint_s_missing_template_is_replaced_and_qwen_s_kept(hub_run):
    from toolcall.families import get_family

    models = hub_run / "models"
    assert _template(models / "glm4-9b/base") is None  # GLM-4-9B's base ships none
    assert _template(models / "glm4-9b/adapter") == get_family("glm4").chat_template
    shipped = _template(models / "qwen2_5-7b/base")  # Qwen2.5's renders the training format
    assert shipped and _template(models / "qwen2_5-7b/adapter") == shipped


def test_an_adapter_export_names_its_hub_base_and_commit(hub_run):
    config = read_json(hub_run / "models/qwen2_5-7b/export/adapter_config.json")
    assert (config["base_model_name_or_path"], config["revision"]) == ("Qwen/Qwen2.5-7B", COMMIT)
