"""Two processes (torchrun + gloo on the CPU, as accelerate would start them on GPUs)
give what one process gives: the same losses with the same global batch, one adapter,
and the same generations."""

import csv
import shutil

import pytest
import torch
import yaml
from conftest import run_stage
from safetensors.torch import load_file

from stages.finetune import finetune
from stages.generate import generate_variants
from toolcall.params import load_params

pytestmark = pytest.mark.slow  # `pytest -m slow` (pyproject.toml)

KEY = "glm4-9b"


def _project(source, folder, **standin_train):
    shutil.copytree(source, folder)
    params = yaml.safe_load((folder / "params.yaml").read_text())
    params["standin_train"].update(standin_train)
    (folder / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True))
    return folder


def _set_processes(folder, n):
    params = yaml.safe_load((folder / "params.yaml").read_text())
    params["distributed"]["num_processes"] = n
    (folder / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True))


def _losses(folder):
    with (folder / "metrics/models" / KEY / "train_loss.csv").open() as f:
        return [float(r["loss"]) for r in csv.DictReader(f)]


@pytest.fixture(scope="module")
def runs(tiny_project, tmp_path_factory):
    """One process with batch 2 and two processes with batch 1: the same global batch."""
    root = tmp_path_factory.mktemp("distributed")
    one = _project(tiny_project, root / "one", per_device_train_batch_size=2, max_steps=4)
    two = _project(tiny_project, root / "two", per_device_train_batch_size=1, max_steps=4)
    _set_processes(two, 2)
    with pytest.MonkeyPatch.context() as patch:  # one process: this one
        patch.chdir(one)
        finetune(KEY, load_params())
    output = run_stage(["stages.finetune", "--model", KEY], two)
    assert "launching 2 processes" in output
    return one, two


def test_two_processes_train_like_one_with_the_same_global_batch(runs):
    one, two = runs
    # Tolerance: float32 sums in another order (gradients all-reduced over gloo).
    assert _losses(two) == pytest.approx(_losses(one), rel=1e-4)
    a = load_file(one / "models" / KEY / "adapter" / "adapter_model.safetensors")
    b = load_file(two / "models" / KEY / "adapter" / "adapter_model.safetensors")
    for name, tensor in a.items():
        torch.testing.assert_close(b[name], tensor, rtol=1e-3, atol=1e-5, msg=name)


def test_only_one_process_writes_the_outputs(runs):
    one, two = runs
    files = sorted(p.name for p in (two / "models" / KEY / "adapter").iterdir())
    assert files == sorted(p.name for p in (one / "models" / KEY / "adapter").iterdir())
    assert not (two / "models" / KEY / "checkpoints").exists()


def test_two_process_generation_writes_what_one_process_writes(runs, monkeypatch):
    one, _ = runs
    results = one / "generations" / KEY
    monkeypatch.chdir(one)
    generate_variants(KEY, ["base", "tuned"], load_params())
    single = {p.name: p.read_text() for p in results.glob("*.*")}
    _set_processes(one, 2)
    output = run_stage(["stages.generate", "--model", KEY], one)
    assert "launching 2 processes" in output
    sharded = {p.name: p.read_text() for p in results.glob("*.*")}
    assert sharded == single and len(single) == 4  # base, tuned: generations and meta
    assert not list((one / "models" / KEY / "progress").glob("*"))
