"""Golden renderings, Jinja/Python agreement, trained spans and render->parse round trips."""

import json

import pytest
from conftest import FIXTURES, WEATHER_TRAINED_SPANS
from transformers.utils.chat_template_utils import render_jinja_template

from toolcall.templates import (
    FAMILIES,
    render_glm4_call,
    render_qwen_call,
    template_is_equivalent,
)

FAMILY_NAMES = sorted(FAMILIES)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_golden_rendering(family, weather_conversation):
    tools, messages = weather_conversation
    expected = (FIXTURES / f"golden_{family}.txt").read_text(encoding="utf-8")
    assert FAMILIES[family].render(tools, messages).text == expected


def test_glm4_golden_has_native_markers(weather_conversation):
    text = FAMILIES["glm4"].render(*weather_conversation).text
    assert text.startswith("[gMASK]<sop><|system|>\n")
    assert "# 可用工具\n\n## get_weather\n\n{\n    \"name\": \"get_weather\"" in text
    assert '<|assistant|>get_weather\n{"city": "北京", "days": 1}<|observation|>' in text
    assert "<|users|>" not in text and "'city'" not in text  # no role typo, no Python repr


def test_qwen_golden_has_hermes_markers(weather_conversation):
    text = FAMILIES["qwen2.5"].render(*weather_conversation).text
    assert '<tools>\n{"type": "function", "function": {"name": "get_weather"' in text
    assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "北京", "days": 1}}\n' \
           "</tool_call><|im_end|>" in text
    # two results in a row share one user turn
    assert "</tool_response>\n<tool_response>\n" in text


@pytest.mark.parametrize("family", FAMILY_NAMES)
@pytest.mark.parametrize("with_tools", [True, False])
@pytest.mark.parametrize("cut", [1, 3, 5, 9])
def test_jinja_template_renders_the_same(family, with_tools, cut, weather_conversation):
    tools, messages = weather_conversation
    tools = tools if with_tools else []
    prefix = messages[:cut]
    generation = prefix[-1]["role"] != "assistant"
    python = FAMILIES[family].render(tools, prefix, add_generation_prompt=generation).text
    rendered, _ = render_jinja_template(
        conversations=[prefix], tools=tools or None, chat_template=FAMILIES[family].chat_template,
        add_generation_prompt=generation)
    assert rendered[0] == python


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_jinja_accepts_openai_style_calls_with_string_arguments(family, weather_conversation):
    tools, messages = weather_conversation
    openai_style = [dict(m) for m in messages[:2]]
    openai_style[1]["tool_calls"] = [{"type": "function", "function": {
        "name": "get_weather", "arguments": json.dumps({"city": "北京", "days": 1},
                                                       ensure_ascii=False)}}]
    rendered, _ = render_jinja_template(conversations=[openai_style], tools=tools,
                                        chat_template=FAMILIES[family].chat_template)
    assert rendered[0] == FAMILIES[family].render(tools, messages[:2]).text


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_trained_spans(family, weather_conversation):
    rendered = FAMILIES[family].render(*weather_conversation)
    assert [rendered.text[s:e] for s, e in rendered.trained] == WEATHER_TRAINED_SPANS[family]


ROUND_TRIP_CALLS = [
    {"name": "f", "arguments": {}},
    {"name": "book", "arguments": {"n": 2, "price": 9.5, "ok": True, "tags": ["a", "b"],
                                   "where": {"city": "北京", "floor": 0}, "note": "含\"引号\""}},
]


@pytest.mark.parametrize("call", ROUND_TRIP_CALLS)
def test_round_trip_glm4(call):
    parsed = FAMILIES["glm4"].parse(render_glm4_call(call), [{"name": call["name"]}])
    assert parsed.kind == "calls" and parsed.format_valid
    assert parsed.calls == [call]
    assert [type(v) for v in parsed.calls[0]["arguments"].values()] == [
        type(v) for v in call["arguments"].values()]


@pytest.mark.parametrize("call", ROUND_TRIP_CALLS)
def test_round_trip_qwen(call):
    parsed = FAMILIES["qwen2.5"].parse(render_qwen_call(call), [{"name": call["name"]}])
    assert parsed.kind == "calls" and parsed.format_valid
    assert parsed.calls == [call]


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_round_trip_of_a_whole_turn(family, weather_conversation):
    """The trained text of each assistant turn (minus its stop token) is the family's
    assistant_text of it, and parses back to it."""
    tools, messages = weather_conversation
    fam = FAMILIES[family]
    for k, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prompt = fam.render(tools, messages[:k], add_generation_prompt=True).text
        full = fam.render(tools, messages[: k + 1]).text
        generated = full[len(prompt):]
        for stop in fam.stop_tokens:
            generated = generated.split(stop)[0]
        assert generated == fam.assistant_text(message)
        parsed = fam.parse(generated, tools)
        if message.get("tool_calls"):
            assert parsed.calls == message["tool_calls"] and parsed.format_valid
        else:
            assert parsed.kind == "text" and parsed.content == message["content"]


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_template_equivalence_check(family):
    fam = FAMILIES[family]
    assert template_is_equivalent(fam.chat_template, fam)
    assert not template_is_equivalent(None, fam)
    other = FAMILIES["qwen2.5" if family == "glm4" else "glm4"]
    assert not template_is_equivalent(other.chat_template, fam)
    assert not template_is_equivalent("{{ messages[0].content }}", fam)
