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
    message = _broken(lambda d: d["models"]["glm4-9b"]["lora"].update(rank=8))
    assert "models.glm4-9b.lora.rank" in message and "allowed keys" in message


def test_wrong_type():
    message = _broken(lambda d: d["models"]["glm4-9b"]["train"].update(learning_rate="fast"))
    assert "models.glm4-9b.train.learning_rate" in message and "'fast'" in message


def test_impossible_lora_rank():
    message = _broken(lambda d: d["models"]["qwen2_5-7b"]["lora"].update(r=0))
    assert "models.qwen2_5-7b.lora.r = 0" in message


def test_unknown_family():
    message = _broken(lambda d: d["models"]["glm4-9b"].update(family="llama"))
    assert "models.glm4-9b.family" in message and "glm4" in message and "qwen2.5" in message


def test_max_length_shorter_than_the_tool_prompt():
    message = _broken(lambda d: d["models"]["glm4-9b"].update(max_length=128))
    assert "models.glm4-9b.max_length = 128" in message


def test_missing_key():
    message = _broken(lambda d: d["evaluate"].pop("batch_size"))
    assert "missing key evaluate.batch_size" in message


def test_bad_weights_switch():
    assert "weights" in _broken(lambda d: d.update(weights="cloud"))


def test_standin_overrides_must_be_train_keys():
    message = _broken(lambda d: d["models"]["glm4-9b"]["standin_train"].update(epochs=3))
    assert "models.glm4-9b.standin_train" in message


def test_standin_overrides_apply_only_to_standins():
    params = parse_params(PARAMS)
    glm = params.models["glm4-9b"]
    assert glm.train_for("hub") == glm.train
    assert glm.train_for("standin").learning_rate == PARAMS["models"]["glm4-9b"][
        "standin_train"]["learning_rate"]
