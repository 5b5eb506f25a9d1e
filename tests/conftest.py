import json
import os
from pathlib import Path

import pytest

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


def load_fixture(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))
