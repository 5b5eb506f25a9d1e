"""The suite every registered family passes (toolcall/families/): golden renderings, Jinja =
Python, trained spans that are exactly the assistant turns and their end tokens, stop tokens,
the template check, and a stand-in that builds and trains."""

import json

import pytest
from conftest import FIXTURES, WEATHER_TRAINED_SPANS
from transformers.utils.chat_template_utils import render_jinja_template

from toolcall.families import all_families, template_is_equivalent
from toolcall.formats.chatml import render_call as render_qwen_call
from toolcall.formats.glm import render_call as render_glm4_call
from toolcall.parsers import get_parser

FAMILIES = all_families()

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
    text = FAMILIES["qwen2_5"].render(*weather_conversation).text
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


@pytest.mark.parametrize("family", sorted(WEATHER_TRAINED_SPANS))
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
    parsed = get_parser("glm4")(render_glm4_call(call), [{"name": call["name"]}])
    assert parsed.kind == "calls" and parsed.format_valid
    assert parsed.calls == [call]
    assert [type(v) for v in parsed.calls[0]["arguments"].values()] == [
        type(v) for v in call["arguments"].values()]


@pytest.mark.parametrize("call", ROUND_TRIP_CALLS)
def test_round_trip_qwen(call):
    parsed = get_parser("qwen2_5")(render_qwen_call(call), [{"name": call["name"]}])
    assert parsed.kind == "calls" and parsed.format_valid
    assert parsed.calls == [call]


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_trained_spans_are_the_turns_as_generated(family, weather_conversation):
    """In a training row every trained span is one assistant turn exactly as the model writes
    it (assistant_text, which the parser reads back) plus the token that ends it, and follows
    exactly what a prompt ends with: the model learns each turn in its inference context."""
    tools, messages = weather_conversation
    fam = FAMILIES[family]
    opening = fam.render([], [], add_generation_prompt=True).text.removeprefix(fam.render([], []).text)
    rendered = fam.render(tools, [{"role": "system", "content": "简短回答。"}, *messages])
    turns = [m for m in messages if m["role"] == "assistant"]
    assert len(rendered.trained) == len(turns)
    for (start, end), message in zip(rendered.trained, turns, strict=True):
        text = rendered.text[start:end]
        assert rendered.text[:start].endswith(opening)
        assert text.startswith(fam.assistant_text(message))
        assert text.removeprefix(fam.assistant_text(message)) in fam.stop_tokens
        parsed = get_parser(fam.name)(fam.assistant_text(message), tools)
        assert parsed.calls == message.get("tool_calls", []) and parsed.format_valid
    assert set(fam.stop_tokens) <= set(fam.special_tokens) and fam.pad_token in fam.special_tokens
    assert set(fam.tokenizer_prefix) <= set(fam.special_tokens)
    assert set(fam.base.eos_tokens) <= set(fam.special_tokens)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_template_equivalence_check(family):
    fam = FAMILIES[family]
    assert template_is_equivalent(fam.chat_template, fam)
    assert not template_is_equivalent(None, fam)
    for other in FAMILIES.values():
        if other.name != family:
            assert not template_is_equivalent(other.chat_template, fam), other.name
    assert not template_is_equivalent("{{ messages[0].content }}", fam)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_a_stand_in_builds_and_trains(family, weather_conversation, tmp_path):
    """The family's architecture and tokens make a model that loads and learns its format."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from toolcall.encoding import encode_rendered
    from toolcall.standins import build_standin

    fam = FAMILIES[family]
    rendered = fam.render(*weather_conversation)
    shape = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
             "num_key_value_heads": 1, "intermediate_size": 64, "max_position_embeddings": 1024}
    settings = {"vocab_size": 400, "seed": 0, "pretrain_steps": 2, "pretrain_batch_size": 2,
                "pretrain_block_size": 32, "pretrain_learning_rate": 1e-3}
    build_standin(fam, [rendered.text] * 4, [rendered.text] * 4, shape, settings, tmp_path, fam.base)
    model = AutoModelForCausalLM.from_pretrained(tmp_path)
    assert type(model).__name__ == fam.architecture.name
    encoded = encode_rendered(rendered, AutoTokenizer.from_pretrained(tmp_path))
    ids = torch.tensor([encoded.input_ids])
    labels = torch.where(torch.tensor([encoded.assistant_masks]) == 1, ids, -100)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(5):
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_everything_else_asks_the_registry():
    """No stage, benchmark or pipeline module imports a family's module or branches on a family
    name: a new family is its module and a registry line."""
    import re

    from conftest import ROOT

    names = "|".join(re.escape(n) for n in FAMILIES)
    direct = rf"toolcall\.families\.({names})\b|from toolcall\.families import .*\b({names})\b"
    for folder in ("stages", "benchmarks", "toolcall"):
        for path in (ROOT / folder).rglob("*.py"):
            if "families" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            assert not re.search(direct, text), path
            assert not re.search(rf"""==\s*["']({names})["']""", text), path


def test_every_family_has_exactly_one_parser_and_formats_never_import_parsing():
    """Reading answers is apart from writing prompts: each family is read by one parser
    module, and no family module (what training and generation import) imports a parser."""
    from conftest import ROOT

    from toolcall.parsers import PARSERS

    assert set(PARSERS) == set(FAMILIES)
    for path in [*(ROOT / "toolcall" / "families").glob("*.py"),
                 *(ROOT / "toolcall" / "formats").glob("*.py")]:
        text = path.read_text(encoding="utf-8")
        assert "toolcall.parsing" not in text and "toolcall.parsers" not in text, path


def test_a_family_is_its_module_and_imports_no_other():
    """dvc.yaml makes a model's stages depend on toolcall/families/<family>.py only, so the
    family's name is its module's name and no family module imports another (what they share
    lives in toolcall/formats/)."""
    import re

    from conftest import ROOT

    for name, family in FAMILIES.items():
        assert family.name == name
        text = (ROOT / "toolcall" / "families" / f"{name}.py").read_text(encoding="utf-8")
        others = "|".join(re.escape(n) for n in FAMILIES if n != name)
        assert not re.search(rf"toolcall\.families(\.| import .*\b)({others})\b", text), name
