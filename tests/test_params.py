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
    assert "models.glm4-9b.family" in message and "glm4" in message and "qwen2.5" in message


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
