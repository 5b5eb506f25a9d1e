import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("SWANLAB_MODE", "disabled")

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "查询天气",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "城市"},
                "days": {"type": "integer"},
                "unit": {"type": "string", "enum": ["摄氏度", "华氏度"]},
            },
            "required": ["city"],
        },
    },
}


@pytest.fixture
def weather_conversation():
    """Tools + a call, its result, an answer, a follow-up and a second call with 2 calls."""
    return [WEATHER_TOOL], [
        {"role": "user", "content": "北京天气？"},
        {"role": "assistant", "content": "",
         "tool_calls": [{"name": "get_weather", "arguments": {"city": "北京", "days": 1}}]},
        {"role": "tool", "content": '{"temp": 3}'},
        {"role": "assistant", "content": "北京3度。"},
        {"role": "user", "content": "上海和广州呢？"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"name": "get_weather", "arguments": {"city": "上海"}},
            {"name": "get_weather", "arguments": {"city": "广州", "unit": "华氏度"}}]},
        {"role": "tool", "content": '{"temp": 9}'},
        {"role": "tool", "content": '{"temp": 70}'},
        {"role": "assistant", "content": "上海9度，广州70华氏度。"},
    ]


# What the loss trains in `weather_conversation`, per family: the calls and answers plus the
# token that natively ends each assistant turn.
WEATHER_TRAINED_SPANS = {
    "glm4": [
        'get_weather\n{"city": "北京", "days": 1}<|observation|>',
        "\n北京3度。<|user|>",
        'get_weather\n{"city": "上海"}<|assistant|>get_weather\n'
        '{"city": "广州", "unit": "华氏度"}<|observation|>',
        "\n上海9度，广州70华氏度。<|endoftext|>",
    ],
    "qwen2.5": [
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "北京", "days": 1}}\n'
        "</tool_call><|im_end|>",
        "北京3度。<|im_end|>",
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "上海"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "广州", "unit": "华氏度"}}\n'
        "</tool_call><|im_end|>",
        "上海9度，广州70华氏度。<|im_end|>",
    ],
}
# The successors write their turns as their predecessors do (their prompts differ).
WEATHER_TRAINED_SPANS["qwen3"] = WEATHER_TRAINED_SPANS["qwen2.5"]
WEATHER_TRAINED_SPANS["glm4-0414"] = WEATHER_TRAINED_SPANS["glm4"]


def load_fixture(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


# A tiny configuration of the real params.yaml: seconds per stage on a CPU.
TINY = {
    "standin": {"vocab_size": 400, "hidden_size": 32, "num_hidden_layers": 1,
                "num_attention_heads": 2, "num_key_value_heads": 1, "intermediate_size": 64,
                "pretrain_conversations": 200, "pretrain_steps": 3, "pretrain_batch_size": 2,
                "pretrain_block_size": 64},
    "standin_train": {"max_steps": 3, "per_device_train_batch_size": 2, "logging_steps": 1,
                      "eval_steps": 2, "save_steps": 2},
    "evaluate": {"max_new_tokens": 8, "batch_size": 8, "bootstrap_samples": 20},
    "dataset": {"max_rows": 60, "test_fraction": 0.15},
    "bfcl": {"max_per_category": 1},
}


def tiny_params() -> dict:
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    for section, values in TINY.items():
        params[section].update(values)
    return params


def run_stage(args: list[str], cwd: Path) -> str:
    """Run `python -m stages.<...>` in a scratch project; fail with its output."""
    env = {**os.environ, "SWANLAB_MODE": "disabled", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory) -> Path:
    """A scratch project with the tiny params, prepared splits and both stand-in bases
    (no adapters: tests that need one train it)."""
    root = tmp_path_factory.mktemp("tiny")
    shutil.copytree(ROOT / "data" / "sample", root / "data" / "sample")
    shutil.copytree(ROOT / "configs", root / "configs")
    (root / "params.yaml").write_text(yaml.safe_dump(tiny_params(), allow_unicode=True), "utf-8")
    run_stage(["stages.resolve_dataset"], root)
    run_stage(["stages.prepare_dataset"], root)
    for key in ("glm4-9b", "qwen2_5-7b"):
        run_stage(["stages.fetch_weights", "--model", key], root)
    return root
