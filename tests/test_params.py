"""params.yaml validation: each class of mistake gets one message naming the key."""

import copy

import pytest
import yaml
from conftest import ROOT

from toolcall.params import ParamsError, parse_params

PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))


def test_shipped_params_are_valid():
    params = parse_params(PARAMS)
    assert set(params.models) == {"glm4-9b", "qwen2_5-7b"}
    assert params.models["glm4-9b"].hub_id == "THUDM/glm-4-9b-hf"
    assert params.models["qwen2_5-7b"].hub_id == "Qwen/Qwen2.5-7B"


def _broken(edit):
    data = copy.deepcopy(PARAMS)
    edit(data)
    with pytest.raises(ParamsError) as error:
        parse_params(data)
    return str(error.value)


def test_unknown_key():
    message = _broken(lambda d: d["lora"].update(rank=8))
    assert "lora.rank" in message and "allowed keys" in message


def test_wrong_type():
    message = _broken(lambda d: d["models"]["glm4-9b"].update(train={"learning_rate": "fast"}))
    assert "models.glm4-9b.train.learning_rate" in message and "'fast'" in message


def test_impossible_lora_rank():
    message = _broken(lambda d: d["models"]["qwen2_5-7b"].update(lora={"r": 0}))
    assert "models.qwen2_5-7b.lora.r = 0" in message


def test_unknown_family():
    message = _broken(lambda d: d["models"]["glm4-9b"].update(family="llama"))
    assert "models.glm4-9b.family" in message and "glm4" in message and "qwen2_5" in message


def test_max_length_shorter_than_the_tool_prompt():
    message = _broken(lambda d: d["train"].update(max_length=128))
    assert "train.max_length = 128" in message and "tool system prompt" in message


def test_missing_key():
    message = _broken(lambda d: d["evaluate"].pop("batch_size"))
    assert "missing key evaluate.batch_size" in message


def test_bad_weights_switch():
    assert "weights" in _broken(lambda d: d.update(weights="cloud"))


def test_standin_overrides_must_be_train_keys():
    message = _broken(lambda d: d["standin_train"].update(epochs=3))
    assert "standin_train.epochs" in message


def test_chat_reference_must_name_a_model():
    message = _broken(lambda d: d.update(chat_references={"llama": {"hub_id": "x/y",
                                                                    "revision": "main"}}))
    assert "chat_references.llama" in message and "glm4-9b" in message


def test_settings_are_layered_shared_then_model_then_standin():
    data = copy.deepcopy(PARAMS)
    data["models"]["qwen2_5-7b"]["train"] = {"learning_rate": 2e-4, "num_train_epochs": 3}
    params = parse_params(data)
    assert params.train_for("glm4-9b", "hub") == params.train
    qwen_hub = params.train_for("qwen2_5-7b", "hub")
    assert (qwen_hub.learning_rate, qwen_hub.num_train_epochs) == (2e-4, 3)
    qwen_standin = params.train_for("qwen2_5-7b", "standin")
    assert qwen_standin.learning_rate == PARAMS["standin_train"]["learning_rate"]  # applied last
    assert qwen_standin.num_train_epochs == 3
    assert params.lora_for("glm4-9b", "standin").modules_to_save == ["embed_tokens", "lm_head"]
    assert params.lora_for("glm4-9b", "hub").modules_to_save == []


def test_vllm_backend_needs_a_single_process():
    message = _broken(lambda d: (d["evaluate"].update(backend="vllm"),
                                 d["distributed"].update(num_processes=2)))
    assert "evaluate.backend = 'vllm'" in message
    assert "backend" in _broken(lambda d: d["evaluate"].update(backend="tgi"))


def test_params_are_read_as_dvc_reads_them(tmp_path):
    """`1e-4` is a number to DVC (YAML 1.2): load_params reads it as one too, so the value the
    stages train with is the value DVC tracks; a quoted number is refused with the reason."""
    from dvc.utils.serialize import load_yaml  # noqa: PLC0415 (how DVC reads params files)

    from toolcall.params import load_params  # noqa: PLC0415

    text = (ROOT / "params.yaml").read_text(encoding="utf-8").replace(
        "  learning_rate: 1.0e-4", "  learning_rate: 1e-4", 1)
    assert "learning_rate: 1e-4" in text
    (tmp_path / "params.yaml").write_text(text, encoding="utf-8")
    assert load_yaml(tmp_path / "params.yaml")["train"]["learning_rate"] == 1e-4
    assert load_params(tmp_path / "params.yaml").train.learning_rate == 1e-4
    message = _broken(lambda d: d["train"].update(learning_rate="1e-4"))
    assert "train.learning_rate = '1e-4'" in message and "remove the quotes" in message


@pytest.mark.parametrize("key, value", [("learning_rate", float("inf")), ("weight_decay", float("nan")),
                                        ("num_train_epochs", 0), ("num_train_epochs", -1.0)])
def test_impossible_training_values(key, value):
    assert f"train.{key} = " in _broken(lambda d: d["train"].update({key: value}))


def test_a_dotted_model_key_is_refused_with_the_reason():
    message = _broken(lambda d: d["models"].update({"qwen2.5-7b": d["models"].pop("qwen2_5-7b")}))
    assert "'qwen2.5-7b'" in message and "DVC splits params paths" in message


def test_scheduler_names_are_checked_before_any_stage_runs():
    """Every name allowed is one transformers builds from the step counts alone; a typo is
    refused by the params check, not by the trainer after DVC deleted the adapter."""
    import torch
    from transformers import get_scheduler

    from toolcall.params import LR_SCHEDULERS

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    for name in LR_SCHEDULERS:
        get_scheduler(name, optimizer, num_warmup_steps=1, num_training_steps=10)
    assert "train.lr_scheduler_type = 'bogus'" in _broken(
        lambda d: d["train"].update(lr_scheduler_type="bogus"))
