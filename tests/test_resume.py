"""Interrupted runs lose nothing: finetune resumes from its last checkpoint and ends with
the adapter an uninterrupted run gives; generation skips the turns it already finished."""

import csv
import json
import logging
import shutil

import pytest
import torch
from conftest import run_stages_here
from safetensors.torch import load_file
from transformers import TrainerCallback

from stages import finetune
from toolcall.layout import adapter_dir, checkpoints_dir, generation_file, results_dir
from toolcall.params import load_params

KEY = "glm4-9b"


class CrashAt(TrainerCallback):
    """Stands in for a killed process: raises once training reaches `step`."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt(f"killed at step {self.step}")


class Evaluations(TrainerCallback):
    """Records the step and held-out loss of every evaluation the Trainer runs."""

    def __init__(self):
        self.seen: list[tuple[int, float]] = []

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        self.seen.append((state.global_step, metrics["eval_loss"]))


@pytest.fixture
def project(tiny_project, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="toolcall")
    root = tmp_path / "p"
    shutil.copytree(tiny_project, root)
    monkeypatch.chdir(root)
    return root


def _adapter() -> dict[str, torch.Tensor]:
    return load_file(adapter_dir(KEY) / "adapter_model.safetensors")


def test_interrupted_finetune_resumes_to_the_same_adapter(project, caplog):
    params = load_params()
    finetune.finetune(KEY, params)  # uninterrupted: 3 steps, checkpoint every 2
    assert "starting over" not in caplog.text  # a fresh run has nothing to discard
    expected = _adapter()
    expected_curve = (results_dir(KEY) / "train_loss.csv").read_text()
    expected_eval_curve = (results_dir(KEY) / "eval_loss.csv").read_text()
    expected_summary = json.loads((results_dir(KEY) / "train.json").read_text())
    assert not checkpoints_dir(KEY).exists()  # cleaned up after a finished run
    shutil.rmtree(adapter_dir(KEY))

    with pytest.raises(KeyboardInterrupt):
        finetune.finetune(KEY, params, callbacks=(CrashAt(3),))
    assert finetune.last_complete_checkpoint(checkpoints_dir(KEY)).name == "checkpoint-2"
    assert not adapter_dir(KEY).exists()

    finetune.finetune(KEY, params)
    assert "resuming from models/glm4-9b/checkpoints/checkpoint-2" in caplog.text
    resumed = _adapter()
    assert resumed.keys() == expected.keys()
    for name, tensor in expected.items():
        torch.testing.assert_close(resumed[name], tensor, rtol=0, atol=1e-6, msg=name)
    assert (results_dir(KEY) / "train_loss.csv").read_text() == expected_curve
    assert (results_dir(KEY) / "eval_loss.csv").read_text() == expected_eval_curve
    summary = json.loads((results_dir(KEY) / "train.json").read_text())
    assert summary["resumed_from_step"] == 2 and expected_summary["resumed_from_step"] == 0
    for name in ("train_loss", "train_loss_last", "eval_loss", "steps"):
        assert summary[name] == pytest.approx(expected_summary[name], rel=1e-6), name


def test_the_held_out_loss_is_measured_once_per_evaluation_step(project):
    """Evaluated every 2 steps of 3: at step 2 and at the end, each once (the Trainer evaluates
    at a run's last step itself); the curve and train.json hold what the Trainer measured."""
    evaluations = Evaluations()
    finetune.finetune(KEY, load_params(), callbacks=(evaluations,))
    assert [step for step, _ in evaluations.seen] == [2, 3]
    with (results_dir(KEY) / "eval_loss.csv").open() as f:
        curve = [(int(row["step"]), float(row["loss"])) for row in csv.DictReader(f)]
    assert curve == evaluations.seen
    assert json.loads((results_dir(KEY) / "train.json").read_text())["eval_loss"] == evaluations.seen[-1][1]


def test_checkpoints_of_other_settings_are_not_resumed(project, caplog):
    params = load_params()
    with pytest.raises(KeyboardInterrupt):
        finetune.finetune(KEY, params, callbacks=(CrashAt(3),))
    text = (project / "params.yaml").read_text().replace("learning_rate: 0.003",
                                                          "learning_rate: 0.002")
    (project / "params.yaml").write_text(text)
    finetune.finetune(KEY, load_params())
    assert "checkpoints of different settings or data; starting over" in caplog.text
    assert "resuming" not in caplog.text


def test_interrupted_generation_generates_only_the_missing_turns(project, monkeypatch):
    run_stages_here(project, [("generate", ["--model", KEY, "--variants", "base"])])
    expected = generation_file(KEY, "base").read_text()

    from stages import generate  # noqa: PLC0415
    from toolcall import evaluation  # noqa: PLC0415

    calls = []
    real_generate = evaluation.generate_greedy

    def crash_after_first_batch(model, tokenizer, prompts, *args, **kwargs):
        calls.append(len(prompts))
        for n, item in enumerate(real_generate(model, tokenizer, prompts, *args, **kwargs)):
            if len(calls) == 1 and n == 8:  # the first run dies after one batch of 8
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(generate, "generate_greedy", crash_after_first_batch)
    monkeypatch.setattr("sys.argv", ["generate", "--model", KEY, "--variants", "base"])
    with pytest.raises(KeyboardInterrupt):
        generate.main()
    # a rerun with another batch size resumes: it changes how fast, not which tokens
    text = (project / "params.yaml").read_text().replace("batch_size: 8", "batch_size: 5")
    (project / "params.yaml").write_text(text)
    generate.main()
    total = calls[0]
    assert calls == [total, total - 8]  # the rerun generated only what was missing
    assert generation_file(KEY, "base").read_text() == expected


def test_a_variant_finished_before_the_interruption_is_not_generated_again(project, monkeypatch):
    """Killed during the tuned variant, and the stage's outputs deleted as DVC does before a
    rerun: the rerun loads and generates only the tuned variant, and writes what an
    uninterrupted run writes."""
    from stages import generate  # noqa: PLC0415

    finetune.finetune(KEY, load_params())
    run_stages_here(project, [("generate", ["--model", KEY])])
    expected = {v: generation_file(KEY, v).read_text() for v in ("base", "tuned")}
    loaded = []
    real_load = generate.load_causal_lm

    def load(base, adapter, *args, **kwargs):
        loaded.append("tuned" if adapter else "base")
        if loaded == ["base", "tuned"]:
            raise KeyboardInterrupt("killed while loading the tuned variant")
        return real_load(base, adapter, *args, **kwargs)

    monkeypatch.setattr(generate, "load_causal_lm", load)
    monkeypatch.setattr("sys.argv", ["generate", "--model", KEY])
    for variant in expected:
        generation_file(KEY, variant).unlink()
    with pytest.raises(KeyboardInterrupt):
        generate.main()
    for variant in expected:  # DVC removes the outputs of a stage it reruns
        generation_file(KEY, variant).unlink(missing_ok=True)
    generate.main()
    assert loaded == ["base", "tuned", "tuned"]
    assert {v: generation_file(KEY, v).read_text() for v in expected} == expected
    assert not list((project / "models" / KEY / "progress").glob("*.jsonl"))  # kept until done
