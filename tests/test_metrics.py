"""Equality rules, edge cases and sanity properties of the tool-call metrics (docs/evaluation.md)."""

import random

import pytest
from conftest import WEATHER_TOOL

from toolcall.families import all_families
from toolcall.glaive import CleaningRules, clean_row
from toolcall.metrics import (
    LENIENT,
    SOFT,
    STRICT,
    aggregate,
    bleu4,
    bootstrap_intervals,
    calls_equal,
    paired_differences,
    replay_gold,
    rouge_l_f1,
    score_turn,
    values_equal,
)
from toolcall.parsers import get_parser
from toolcall.parsing import ParsedTurn
from toolcall.sample_data import make_sample
from toolcall.turns import build_samples

FAMILIES = all_families()


@pytest.mark.parametrize("pred, gold, strict, lenient", [
    (1, 1.0, True, True),           # numbers by value
    ("1", 1, False, True),          # stringified number: strict fails, lenient passes
    ("2.50", 2.5, False, True),
    ("true", True, False, True),    # "true" vs boolean
    (1, True, False, False),        # booleans are not numbers
    ("约翰·多伊", "约翰 多伊", True, True),  # punctuation and whitespace removed
    ("北京，上海", "北京,上海", True, True),  # full-width comma == ASCII comma (NFKC)
    ("ＡＢＣ", "abc", True, True),  # full-width letters and case
    (["a", "b"], ["b", "a"], False, False),  # lists in order
    ({"a": 1, "b": None}, {"a": 1}, True, True),  # null counts as absent
    ({"a": 1}, {"a": 1, "b": 2}, False, False),
    (None, None, True, True),
    ({"x": {"y": "1"}}, {"x": {"y": 1}}, False, True),
])
def test_value_equality_levels(pred, gold, strict, lenient):
    assert values_equal(pred, gold, STRICT) is strict
    assert values_equal(pred, gold, LENIENT) is lenient


def test_soft_equality_uses_character_rouge():
    assert not values_equal("北京市朝阳区", "北京朝阳区", LENIENT)
    assert values_equal("北京市朝阳区", "北京朝阳区", SOFT)
    assert not values_equal("上海", "北京", SOFT)


def test_calls_match_in_any_order_names_exactly():
    a = {"name": "f", "arguments": {"x": 1}}
    b = {"name": "g", "arguments": {"y": 2}}
    assert calls_equal([a, b], [b, a])
    assert not calls_equal([a], [a, a])
    assert not calls_equal([{"name": "F", "arguments": {"x": 1}}], [a])


def test_text_similarity_on_chinese():
    assert rouge_l_f1("北京今天晴", "北京今天晴") == 1.0
    assert 0 < rouge_l_f1("北京今天晴", "北京明天晴") < 1
    assert bleu4("今天北京天气晴朗", "今天北京天气晴朗") == pytest.approx(1.0)
    assert bleu4("完全不同", "今天北京天气晴朗") == 0.0


def test_rouge_l_equals_the_textbook_dynamic_programme():
    """The bit-parallel LCS against the O(n*m) table written out here, on random token lists
    (small alphabets, so long common subsequences; empty and 64+ token lists included)."""
    def lcs_table(a, b):
        table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
        for i, x in enumerate(a):
            for j, y in enumerate(b):
                table[i + 1][j + 1] = table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
        return table[-1][-1]

    rng = random.Random(0)
    for _ in range(500):
        alphabet = "北京天气ab"[: rng.randint(1, 6)]
        a = [rng.choice(alphabet) for _ in range(rng.randint(0, 90))]
        b = [rng.choice(alphabet) for _ in range(rng.randint(0, 90))]
        common = lcs_table(a, b)
        expected = 0.0 if not common else 2 * common / (len(a) + len(b))
        if not a or not b:
            expected = float(a == b)
        assert rouge_l_f1(" ".join(a), " ".join(b)) == pytest.approx(expected), (a, b)


def _samples(family="glm4", n=60):
    rows = make_sample(n, seed=7)
    conversations = []
    for i, row in enumerate(rows):
        conversation, _ = clean_row(row, CleaningRules())
        conversations.append({"id": f"c{i}", **conversation})
    return build_samples(conversations, FAMILIES[family])


def _gold_output(sample):
    gold = sample["gold"]
    if gold.get("tool_calls"):
        return ParsedTurn("calls", calls=gold["tool_calls"], format_valid=True)
    return ParsedTurn("text", content=gold["content"], format_valid=True)


def _judge(samples, outputs):
    return [{"conversation_id": s["conversation_id"], **score_turn(s, o)}
            for s, o in zip(samples, outputs, strict=True)]


def test_gold_replayed_scores_one_on_every_match_metric():
    samples = _samples()
    metrics = aggregate(_judge(samples, [_gold_output(s) for s in samples]))
    for name in ("call_exact_match", "no_call_accuracy_with_tools", "tool_score", "decision_f1",
                 "decision_precision", "decision_recall", "call_name_accuracy",
                 "call_lenient_match", "call_soft_match", "arg_key_f1", "arg_value_f1",
                 "text_rouge_l", "conversation_success_rate", "format_valid_rate"):
        assert metrics[name] == pytest.approx(1.0), name
    assert metrics["hallucinated_function_rate"] == 0
    assert metrics["missing_arg_rate"] == 0 and metrics["extra_arg_rate"] == 0
    assert metrics["schema_valid_rate"] == metrics["gold_schema_valid_rate"]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_gold_text_through_the_real_parser_scores_one(family):
    """Each gold turn written as the model would write it, parsed by the family's parser."""
    metrics = aggregate(replay_gold(_samples(family, n=80), FAMILIES[family]))
    for name in ("call_exact_match", "no_call_accuracy_with_tools", "tool_score", "decision_f1",
                 "decision_accuracy", "format_valid_rate", "call_name_accuracy", "arg_value_f1",
                 "text_rouge_l", "conversation_success_rate", "schema_valid_rate"):
        assert metrics[name] == pytest.approx(1.0), name
    assert metrics["turns"] == metrics["turns_call"] + metrics["turns_nocall_after_obs"] + \
        metrics["turns_nocall_with_tools"] + metrics["turns_notools"]


def test_never_calling_scores_nothing():
    """tool_score cannot reward silence: a model that never calls scores 0 (the mean of the two
    parts gave it 0.5, above tuned models that do call)."""
    samples = _samples()
    metrics = aggregate(_judge(samples, [ParsedTurn("text", content="好的") for _ in samples]))
    assert metrics["no_call_accuracy_with_tools"] == 1.0
    assert metrics["call_exact_match"] == 0.0
    assert metrics["tool_score"] == 0.0
    assert metrics["decision_f1"] == 0.0
    assert metrics["errors_missed_call"] == metrics["turns_call"]


def test_stringified_numbers_lose_strict_keep_lenient():
    sample = {"conversation_id": "c", "stratum": "call", "tools": [WEATHER_TOOL], "gold": {
        "role": "assistant", "content": "",
        "tool_calls": [{"name": "get_weather", "arguments": {"city": "北京", "days": 3}}]}}
    pred = ParsedTurn("calls", calls=[{"name": "get_weather",
                                       "arguments": {"city": "北京", "days": "3"}}])
    turn = {"conversation_id": "c", **score_turn(sample, pred)}
    assert not turn["exact_strict"] and turn["exact_lenient"]
    assert turn["error_type"] == "type_mismatch"
    assert turn["pred_schema_valid"] == 0 and turn["gold_schema_valid"] == 1


def test_call_without_tools_is_false_and_hallucinated():
    sample = {"conversation_id": "c", "stratum": "notools", "tools": [],
              "gold": {"role": "assistant", "content": "你好"}}
    pred = ParsedTurn("calls", calls=[{"name": "get_weather", "arguments": {}}], format_valid=True)
    metrics = aggregate([{"conversation_id": "c", **score_turn(sample, pred)}])
    assert metrics["hallucinated_function_rate"] == 1.0
    assert metrics["no_call_accuracy_notools"] == 0.0
    assert metrics["decision_precision"] == 0.0
    assert metrics["errors_spurious_call"] == 1


@pytest.mark.parametrize("output, kind, calls", [
    ("", "text", []),                                   # an empty answer, not a call attempt
    ("get_weather\n{\"city\": \"北", "malformed", []),     # truncated at the token limit
    ("\n北京今天晴。", "text", []),
    ("北京明天晴。", "text", []),                        # prose without GLM's newline is text too
    ('Answer\n{"a": 1}', "calls", [{"name": "Answer", "arguments": {"a": 1}}]),  # hallucinated
])
def test_glm4_edge_outputs(output, kind, calls):
    parsed = get_parser("glm4")(output, [WEATHER_TOOL])
    assert parsed.kind == kind and parsed.calls == calls


def test_malformed_counts_as_a_decision_to_call():
    sample = {"conversation_id": "c", "stratum": "nocall_with_tools", "tools": [WEATHER_TOOL],
              "gold": {"role": "assistant", "content": "请问哪个城市？"}}
    turn = score_turn(sample, get_parser("glm4")("get_weather\n{", [WEATHER_TOOL]))
    assert turn["predicted_call"] and turn["error_type"] == "spurious_call"


def test_missing_and_extra_arguments():
    gold = {"role": "assistant", "content": "",
            "tool_calls": [{"name": "get_weather", "arguments": {"city": "北京", "days": 1}}]}
    sample = {"conversation_id": "c", "stratum": "call", "tools": [WEATHER_TOOL], "gold": gold}
    missing = score_turn(sample, ParsedTurn("calls", calls=[
        {"name": "get_weather", "arguments": {"city": "北京"}}]))
    extra = score_turn(sample, ParsedTurn("calls", calls=[
        {"name": "get_weather", "arguments": {"city": "北京", "days": 1, "unit": "摄氏度"}}]))
    assert missing["error_type"] == "missing_arg" and missing["missing_arg"]
    assert extra["error_type"] == "extra_arg" and extra["extra_arg"]
    metrics = aggregate([{"conversation_id": "a", **missing}, {"conversation_id": "b", **extra}])
    assert metrics["arg_key_recall"] == pytest.approx(3 / 4)
    assert metrics["arg_key_precision"] == pytest.approx(3 / 4)


def test_empty_denominators_are_none_and_counts_present():
    metrics = aggregate([])
    assert metrics["turns"] == 0 and metrics["turns_call"] == 0
    assert metrics["call_exact_match"] is None and metrics["tool_score"] is None


def test_bootstrap_interval_contains_the_estimate():
    samples = _samples(n=80)
    outputs = [_gold_output(s) if i % 3 else ParsedTurn("text", content="x")
               for i, s in enumerate(samples)]
    turns = _judge(samples, outputs)
    point = aggregate(turns)
    ci = bootstrap_intervals(turns, samples=200, seed=0)
    for name in ("call_exact_match", "tool_score", "decision_f1"):
        assert ci[f"{name}_ci_low"] <= point[name] <= ci[f"{name}_ci_high"]
        assert ci[f"{name}_ci_low"] < ci[f"{name}_ci_high"]


def test_tool_score_is_the_harmonic_mean_of_its_parts():
    samples = _samples(n=80)
    outputs = [_gold_output(s) if i % 3 else ParsedTurn("text", content="x")
               for i, s in enumerate(samples)]
    m = aggregate(_judge(samples, outputs))
    exact, abstain = m["call_exact_match"], m["no_call_accuracy_with_tools"]
    assert 0 < exact < 1 and m["tool_score"] == pytest.approx(2 / (1 / exact + 1 / abstain))


def test_every_shown_rate_carries_its_count():
    """0.400 could be 6/15 or 600/1500: the rates the reports show keep their evidence, counted
    here again from the samples."""
    samples = _samples(n=80)
    outputs = [_gold_output(s) if i % 3 else ParsedTurn("text", content="x")
               for i, s in enumerate(samples)]
    m = aggregate(_judge(samples, outputs))
    calls = [i for i, s in enumerate(samples) if s["stratum"] == "call"]
    assert m["call_exact_match_denominator"] == len(calls) == m["turns_call"]
    assert m["call_exact_match_numerator"] == sum(1 for i in calls if i % 3)
    for name in ("call_exact_match", "no_call_accuracy_with_tools", "call_name_accuracy",
                 "format_valid_rate", "conversation_success_rate", "fabricated_observation_rate"):
        assert m[name] == m[f"{name}_numerator"] / m[f"{name}_denominator"], name


def _conversations(n: int, right_per_conversation) -> list[dict]:
    """Judged turns of n conversations with 3 call turns each, right_per_conversation(i) of
    them exactly right: copies of one real call turn judged right (gold) and wrong (no call)."""
    sample = next(s for s in _samples() if s["stratum"] == "call")
    right, wrong = (score_turn(sample, output) for output in (_gold_output(sample),
                                                               ParsedTurn("text", content="x")))
    return [{**(right if j < right_per_conversation(i) else wrong), "conversation_id": f"c{i}",
             "turn_index": j} for i in range(n) for j in range(3)]


def _numpy_paired_interval(a: list[dict], b: list[dict], samples: int) -> tuple[float, float]:
    """The same paired bootstrap written independently: per-conversation counts, numpy's own
    generator, percentiles by numpy."""
    import numpy as np

    ids = sorted({t["conversation_id"] for t in a})
    right = {side: np.array([sum(t["exact_strict"] for t in turns if t["conversation_id"] == c)
                             for c in ids]) for side, turns in (("a", a), ("b", b))}
    total = np.array([sum(t["conversation_id"] == c for t in a) for c in ids])
    picks = np.random.default_rng(1).integers(0, len(ids), size=(samples, len(ids)))
    diffs = right["a"][picks].sum(1) / total[picks].sum(1) - right["b"][picks].sum(1) / total[picks].sum(1)
    return float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))


@pytest.mark.parametrize("b_right, verdict", [(lambda i: 1 if i % 4 else 0, "better"),
                                              (lambda i: 1 if i % 2 else 2, "no detectable difference")])
def test_paired_difference_agrees_with_an_independent_computation(b_right, verdict):
    a = _conversations(40, lambda i: 2 if i % 2 else 1)
    b = _conversations(40, b_right)
    result = paired_differences(a, b, samples=4000, seed=0, metric_names=["call_exact_match"])
    found = result["call_exact_match"]
    assert found["verdict"] == verdict and found["conversations"] == 40
    expected = sum(t["exact_strict"] for t in a) / len(a) - sum(t["exact_strict"] for t in b) / len(b)
    assert found["difference"] == pytest.approx(expected)
    low, high = _numpy_paired_interval(a, b, 4000)
    assert found["low"] == pytest.approx(low, abs=0.02) and found["high"] == pytest.approx(high, abs=0.02)


def test_paired_difference_is_over_the_turns_both_runs_judged():
    """A turn only one run has (a prompt too long for one family's tokenizer) is left out."""
    a = _conversations(10, lambda i: 3)
    b = [t for t in _conversations(10, lambda i: 3) if t["conversation_id"] != "c0"]
    a[0]["exact_strict"] = False  # only in c0, which b lacks
    found = paired_differences(a, b, samples=50, seed=0, metric_names=["call_exact_match"])
    assert found["call_exact_match"]["difference"] == 0 and found["call_exact_match"]["conversations"] == 9


@pytest.mark.parametrize("family, output, stop_token", [
    ("qwen2_5", '<tool_response>\n{"temperature": 3}\n</tool_response>', "<|im_end|>"),
    # GLM-4's tool-result marker is a stop token: text that ends there hands over to a tool
    ("glm4", "\n北京3度。", "<|observation|>"),
])
def test_an_invented_tool_result_is_never_a_right_answer(family, output, stop_token):
    """After a tool result the model should answer; writing the family's tool-result marker
    instead invents the tool's output: fabricated_observation, wrong for no-call and decision
    metrics alike (it counted as a correct no-call before)."""
    samples = [s for s in _samples(family, n=80) if s["stratum"] == "nocall_after_obs"]
    invented = get_parser(family)(output, samples[0]["tools"], stop_token)
    metrics = aggregate(_judge(samples, [invented for _ in samples]))
    assert metrics["errors_fabricated_observation"] == len(samples) > 0
    assert metrics["no_call_accuracy_nocall_after_obs"] == 0.0
    assert metrics["decision_accuracy"] == 0.0 and metrics["fabricated_observation_rate"] == 1.0
    gold = aggregate(_judge(samples, [_gold_output(s) for s in samples]))
    assert gold["no_call_accuracy_nocall_after_obs"] == 1.0 and gold["fabricated_observation_rate"] == 0
