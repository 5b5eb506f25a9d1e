"""The report's one-sentence answer (stages/compare_models.verdict_sentence)."""

import pytest

from stages.compare_models import Comparison, verdict_sentence
from toolcall.metrics import BETTER, NO_DIFFERENCE


def _sentence(glm: float, qwen: float, low: float, high: float, verdict: str) -> str:
    results = {"glm": {"tuned": {"tool_score": glm}}, "qwen": {"tuned": {"tool_score": qwen}}}
    found = {"difference": glm - qwen, "low": low, "high": high, "verdict": verdict,
             "conversations": 28}
    return verdict_sentence(results, [Comparison(("glm", "tuned"), ("qwen", "tuned"),
                                                 {"tool_score": found})])


@pytest.mark.parametrize("glm, qwen", [(0.0, 0.0), (0.25, 0.25)])
def test_equal_scores_tie_and_name_no_leader(glm, qwen):
    sentence = _sentence(glm, qwen, -0.1, 0.1, NO_DIFFERENCE)
    assert "they tie" in sentence and "leads" not in sentence, sentence


def test_the_leader_is_named_with_the_difference_signed_its_way():
    sentence = _sentence(0.2, 0.5, -0.4, 0.05, NO_DIFFERENCE)  # glm - qwen
    assert "qwen leads" in sentence and "+0.300 [-0.05, +0.40]" in sentence, sentence
    assert "interval includes 0" in sentence


def test_a_detectable_difference_says_which_calls_tools_better():
    sentence = _sentence(0.6, 0.2, 0.2, 0.6, BETTER)
    assert sentence.startswith("glm calls tools better than qwen"), sentence
