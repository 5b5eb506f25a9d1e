"""The parsers against adversarial text, gold replay and a render -> parse property."""

import json
import random

import pytest
from conftest import load_fixture

from toolcall.bfcl_scoring import judge
from toolcall.families import all_families
from toolcall.metrics import aggregate, replay_gold, score_turn
from toolcall.parsers import get_parser
from toolcall.schema import function_of
from toolcall.turns import build_samples

FAMILIES = all_families()

FIXTURE = load_fixture("adversarial_turns.json")
FAMILY_NAMES = sorted(FAMILIES)
# Every metric that compares calls or call decisions: gold replayed must score exactly 1.
MATCH_AND_DECISION = ["call_exact_match", "call_lenient_match", "call_soft_match",
                      "call_name_accuracy", "arg_key_f1", "arg_value_f1", "decision_f1",
                      "decision_precision", "decision_recall", "decision_accuracy",
                      "no_call_accuracy_with_tools", "no_call_accuracy_nocall_after_obs",
                      "no_call_accuracy_notools", "tool_score", "format_valid_rate",
                      "schema_valid_rate", "text_rouge_l", "conversation_success_rate"]


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_gold_replay_of_adversarial_text_answers_scores_one(family):
    """Text answers holding JSON, code fences, quoted "name": keys, tool names, and a turn
    with text and calls, written as the model would write them and read back."""
    samples = build_samples(FIXTURE["conversations"], FAMILIES[family])
    metrics = aggregate(replay_gold(samples, FAMILIES[family]))
    for name in MATCH_AND_DECISION:
        assert metrics[name] == 1.0, name
    assert metrics["hallucinated_function_rate"] == 0
    assert metrics["turns_notools"] and metrics["turns_nocall_after_obs"] and metrics["turns_call"]


@pytest.mark.parametrize("family", FAMILY_NAMES)
@pytest.mark.parametrize("case", FIXTURE["outputs"], ids=lambda c: c["why"][:40])
def test_raw_outputs_parse_by_the_family_syntax(family, case):
    parsed = get_parser(family)(case["output"], FIXTURE["tools"])
    assert parsed.kind == case[family], case["why"]


def test_a_call_never_gets_arguments_it_did_not_write():
    qwen = get_parser("qwen2_5")('<tool_call>\n{"name": "get_weather"}\n</tool_call>', [])
    glm = get_parser("glm4")("get_weather\n", FIXTURE["tools"])
    assert qwen.kind == glm.kind == "malformed" and not qwen.calls and not glm.calls


def test_hallucinated_calls_are_calls_in_both_families():
    tools = FIXTURE["tools"]
    glm = get_parser("glm4")('book_flight\n{"to": "巴黎"}', tools)
    qwen = get_parser("qwen2_5")(
        '<tool_call>\n{"name": "book_flight", "arguments": {"to": "巴黎"}}\n</tool_call>', tools)
    assert glm.calls == qwen.calls == [{"name": "book_flight", "arguments": {"to": "巴黎"}}]
    assert glm.format_valid and qwen.format_valid


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_a_repaired_call_earns_what_the_repair_policy_says_in_domain_and_on_bfcl(family):
    """docs/evaluation.md, "Repairs": a call recovered from a sloppy rendering earns exactly what
    an unreadable call earns (the decision to call, nothing more), in our metrics and on BFCL;
    what was recovered is kept for a reader."""
    call = {"name": "get_weather", "arguments": {"city": "北京"}}
    exact = FAMILIES[family].assistant_text({"role": "assistant", "content": "", "tool_calls": [call]})
    # a closing tag left out, or words after the call's JSON
    sloppy = exact.removesuffix("</tool_call>") if exact.endswith("</tool_call>") else exact + " 好的"
    parse = get_parser(family)
    parsed = parse(sloppy, FIXTURE["tools"])
    assert parsed.kind == "malformed" and not parsed.format_valid and parsed.calls == [call]
    sample = {"stratum": "call", "tools": FIXTURE["tools"],
              "gold": {"role": "assistant", "content": "", "tool_calls": [call]}}
    unreadable = parse(exact.replace('"北京"}', '"北京"'), FIXTURE["tools"])
    assert unreadable.kind == "malformed" and not unreadable.calls
    assert score_turn(sample, parsed) == score_turn(sample, unreadable)
    assert score_turn(sample, parsed)["error_type"] == "malformed"
    assert score_turn(sample, parse(exact, FIXTURE["tools"]))["exact_strict"]  # the exact call does
    answer = {"function": [function_of(FIXTURE["tools"][0])],
              "ground_truth": [{"get_weather": {"city": ["北京"]}}]}
    assert function_of(FIXTURE["tools"][0])["name"] == "get_weather"
    assert judge("simple_python", parsed, answer) == judge("simple_python", unreadable, answer) == "malformed"
    assert judge("simple_python", parse(exact, FIXTURE["tools"]), answer) is None


# ----------------------------------------------------------------------------- property

WORDS = ["北京", "天气", "name", '"name":', "{", "}", "[", "]", "```json", "\n", "：", "，", "a_b",
         '{"x": 1}', "get_weather", "示例", "1.5", "true", "null", "<", ">", "/", "'", "。"]


def _text(rng: random.Random) -> str:
    """Text that may look like anything except the families' own markers."""
    return "".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12))).strip()


def _value(rng: random.Random, depth: int = 0):
    kinds = ["str", "int", "float", "bool", "null"] + (["list", "dict"] if depth < 2 else [])
    kind = rng.choice(kinds)
    return {"str": lambda: _text(rng), "int": lambda: rng.randint(-5, 10 ** 6),
            "float": lambda: round(rng.uniform(-100, 100), 3), "bool": lambda: rng.random() < 0.5,
            "null": lambda: None, "list": lambda: [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))],
            "dict": lambda: {f"k{i}": _value(rng, depth + 1) for i in range(rng.randint(0, 3))}}[kind]()


def _message(rng: random.Random, names: list[str]) -> dict:
    """An assistant message of any representable shape: text, calls (1-3), or both."""
    shape = rng.choice(["text", "calls", "both"])
    calls = [] if shape == "text" else [
        {"name": rng.choice(names), "arguments": {f"p{i}": _value(rng) for i in range(rng.randint(0, 4))}}
        for _ in range(rng.randint(1, 3))]
    content = _text(rng) if shape != "calls" else ""
    return {"role": "assistant", "content": content, **({"tool_calls": calls} if calls else {})}


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_every_turn_shape_renders_and_parses_back_unchanged(family):
    fam = FAMILIES[family]
    names = ["get_weather", "lookup_person", "send.email", "x-y"]
    tools = [{"name": n, "parameters": {"type": "object"}} for n in names]
    rng = random.Random(0)
    for _ in range(400):
        message = _message(rng, names)
        parsed = get_parser(fam.name)(fam.assistant_text(message), tools)
        assert parsed.format_valid, message
        assert parsed.content == message["content"], message
        assert parsed.calls == message.get("tool_calls", []), message
        assert parsed.kind == ("calls" if message.get("tool_calls") else "text")
        json.dumps(parsed.as_dict())  # what evaluation writes per turn
