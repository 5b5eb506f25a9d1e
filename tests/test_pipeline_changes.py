"""What a change or damage does to a finished run of the tiny DAG (a copy of the one
test_pipeline.py checks): editing the data file, one model's setting, a params typo, a damaged
output. Each test leaves the project as it found it."""

import hashlib
import json
import re
import shutil
import subprocess

import pytest
import yaml
from conftest import ALWAYS_RUN, copy_of_finished_pipeline, stale_stages
from conftest import run_command as run

from toolcall.layout import generation_file


@pytest.fixture(scope="module")
def project(finished_pipeline, tmp_path_factory):
    return copy_of_finished_pipeline(finished_pipeline, tmp_path_factory)


def test_editing_a_data_file_anywhere_reruns_preparation_and_what_follows(project, tmp_path):
    root, env, params = project
    source = tmp_path / "elsewhere" / "glaive.json"  # outside the project
    source.parent.mkdir()
    shutil.copy(root / params["dataset"]["source"], source)
    original = (root / "params.yaml").read_text("utf-8")
    moved = json.loads(json.dumps(params))
    moved["dataset"]["source"] = str(source)
    (root / "params.yaml").write_text(yaml.safe_dump(moved, allow_unicode=True), "utf-8")
    try:
        run(["dvc", "repro", "prepare-dataset"], root, env)  # same rows: the same split
        assert stale_stages(root) == ALWAYS_RUN
        rows = json.loads(source.read_text("utf-8"))
        source.write_text(json.dumps(rows[1:], ensure_ascii=False), "utf-8")  # one row less
        output = run(["dvc", "repro", "prepare-dataset"], root, env)
        assert "Running stage 'prepare-dataset'" in output
        stale = stale_stages(root)
    finally:
        (root / "params.yaml").write_text(original, "utf-8")
        run(["dvc", "repro", "prepare-dataset"], root, env)
    assert {"finetune@glm4-9b", "finetune@qwen2_5-7b", "generate@glm4-9b",
            "evaluate-toolcall@glm4-9b", "generate@qwen2_5-7b", "evaluate-toolcall@qwen2_5-7b"} <= stale
    assert stale_stages(root) == ALWAYS_RUN


def test_one_model_setting_invalidates_only_that_model(project):
    root, env, params = project
    changed = json.loads(json.dumps(params))
    changed["models"]["glm4-9b"]["lora"] = {"r": 8}
    original = (root / "params.yaml").read_text("utf-8")
    (root / "params.yaml").write_text(yaml.safe_dump(changed, allow_unicode=True), "utf-8")
    try:
        stale = stale_stages(root) - ALWAYS_RUN
    finally:
        (root / "params.yaml").write_text(original, "utf-8")
    # generate@glm4-9b follows once the adapter changes; qwen's chain stays cached (check-params
    # checks every change of params.yaml, a moment, and its output stays the same)
    assert stale == {"check-params", "finetune@glm4-9b", "compare-models"}


@pytest.mark.parametrize("section, key, typo", [("models", "family", "llama9"),
                                                ("train", "lr_scheduler_type", "bogus")])
def test_a_params_typo_deletes_nothing_and_its_revert_rebuilds_nothing(project, section, key, typo):
    """check-params stops `dvc repro` before DVC deletes any output: the base weights and the
    adapter are still there, and after the revert only the check itself runs again."""
    root, env, params = project
    broken = json.loads(json.dumps(params))
    target = broken["models"]["glm4-9b"] if section == "models" else broken["train"]
    target[key] = typo
    kept = [root / "models/glm4-9b/base/model.safetensors", root / "models/glm4-9b/base.manifest.json",
            root / "models/glm4-9b/adapter/adapter_model.safetensors"]
    before = {path: path.read_bytes() for path in kept}
    original = (root / "params.yaml").read_text("utf-8")
    (root / "params.yaml").write_text(yaml.safe_dump(broken, allow_unicode=True), "utf-8")
    try:
        failed = subprocess.run(["dvc", "repro"], cwd=root, env=env, capture_output=True, text=True)
    finally:
        (root / "params.yaml").write_text(original, "utf-8")
    assert failed.returncode != 0
    assert f"{key} = '{typo}'" in failed.stdout + failed.stderr
    assert re.findall(r"Running stage '([^']+)'", failed.stdout) == ["check-params"]
    assert {path: path.read_bytes() for path in kept} == before
    assert stale_stages(root) == ALWAYS_RUN


def test_a_damaged_output_never_damages_the_cache_and_is_restored_whole(project):
    """Truncating a finished adapter in place and overwriting a generation file: DVC's cache
    still holds the original bytes and `dvc status` names both stages; `dvc checkout` gives the
    adapter back from the cache, loadable, and `dvc repro` regenerates the same generations
    (the README's two ways back)."""
    from safetensors.torch import load_file

    root, env, _ = project
    adapter = root / "models/glm4-9b/adapter/adapter_model.safetensors"
    generations = root / generation_file("qwen2_5-7b", "tuned")
    before = {path: path.read_bytes() for path in (adapter, generations)}
    with adapter.open("r+b") as f:  # in place, as `truncate -s` does
        f.truncate(1000)
    with generations.open("w", encoding="utf-8") as f:
        f.write("damaged\n")
    for original in before.values():  # the cache object of each original file, by its md5
        md5 = hashlib.md5(original).hexdigest()
        assert (root / ".dvc/cache/files/md5" / md5[:2] / md5[2:]).read_bytes() == original
    assert {"finetune@glm4-9b", "generate@qwen2_5-7b"} <= stale_stages(root)
    run(["dvc", "checkout", "--force", str(adapter.parent.relative_to(root))], root, env)
    assert adapter.read_bytes() == before[adapter] and load_file(adapter)
    output = run(["dvc", "repro"], root, env)
    assert set(re.findall(r"Running stage '([^']+)'", output)) - ALWAYS_RUN == {"generate@qwen2_5-7b"}
    assert generations.read_bytes() == before[generations]
    assert stale_stages(root) == ALWAYS_RUN
