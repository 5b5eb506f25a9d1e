"""BFCL next to our own test split: our scorer gives the official checker's verdicts, the
questions are asked in each family's native format, and the summary is BFCL's arithmetic.
The data is the pinned bfcl-eval wheel, fetched from PyPI once (toolcall.registry)."""

import json
from functools import cache

import pytest
from conftest import load_fixture

from benchmarks.bfcl_agreement import all_cases, our_verdict
from toolcall.bfcl import CATEGORIES, as_tool, bfcl_samples, data_file, question_conversation, read_lines
from toolcall.bfcl_scoring import judge, summarize
from toolcall.families import all_families
from toolcall.parsers import get_parser
from toolcall.registry import BFCL_EVAL, fetch

FAMILIES = all_families()


@cache
def cases() -> dict[tuple, dict]:
    return {(c["category"], c["id"], c["kind"]): c for c in all_cases(fetch(BFCL_EVAL))}


def test_our_verdicts_are_the_official_checker_s():
    """Verdicts of BFCL's own ast_checker (and its runner's call / no-call rule), recorded by
    benchmarks/bfcl_agreement.py on accepted answers and their mutations."""
    recorded = load_fixture("bfcl_verdicts.json")
    assert len(recorded) > 1000 and {valid for *_, valid in recorded} == {True, False}
    kinds = {kind for _, _, kind, _ in recorded}
    assert {"accepted", "wrong_value", "wrong_type", "missing_required", "extra_param", "wrong_name",
            "reversed_calls", "list_reversed", "string_punctuation", "a_call", "no_call"} <= kinds
    for category, entry_id, kind, official in recorded:
        assert our_verdict(cases()[(category, entry_id, kind)]) is official, (category, entry_id, kind)


def test_bfcl_types_become_json_schema_with_the_python_note():
    doc = {"name": "math.area", "description": "Area.", "parameters": {
        "type": "dict", "required": ["shape"], "properties": {
            "shape": {"type": "string"}, "sides": {"type": "tuple", "items": {"type": "float"}},
            "options": {"type": "dict", "properties": {"round": {"type": "boolean"}}},
            "anything": {"type": "any"}, "untyped": {"description": "x"}}}}
    tool = as_tool(doc)["function"]
    props = tool["parameters"]["properties"]
    assert tool["parameters"]["type"] == "object" and tool["name"] == "math.area"
    assert (props["sides"]["type"], props["sides"]["items"]["type"]) == ("array", "number")
    assert props["options"]["type"] == "object"
    assert props["options"]["properties"]["round"]["type"] == "boolean"
    assert props["anything"]["type"] == props["untyped"]["type"] == "string"
    assert tool["description"].endswith("Note that the provided function is in Python 3 syntax.")
    assert doc["parameters"]["type"] == "dict"  # the original is left as it was


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_questions_are_asked_in_the_native_format(family):
    root = fetch(BFCL_EVAL)
    entry = read_lines(data_file(root, "live_multiple"))[0]
    samples = bfcl_samples([question_conversation(entry, "live_multiple")], FAMILIES[family])
    prompt = samples[0]["prompt"]
    for function in entry["function"]:
        assert f'"name": "{function["name"]}"' in prompt
    fam = FAMILIES[family]  # it ends where the model starts writing its answer
    opening = fam.render([], [], add_generation_prompt=True).text.removeprefix(fam.render([], []).text)
    assert prompt.endswith(opening) and entry["question"][0][-1]["content"] in prompt


def test_answers_are_read_by_the_family_parser_and_judged():
    root = fetch(BFCL_EVAL)
    answer = read_lines(data_file(root, "simple_python", answers=True))[0]
    entry = read_lines(data_file(root, "simple_python"))[0]
    tools = [as_tool(f) for f in entry["function"]]
    right = {"name": "calculate_triangle_area", "arguments": {"base": 10, "height": 5}}
    wrong = {"name": "calculate_triangle_area", "arguments": {"base": 10, "height": 6}}
    bfcl_answer = {"function": entry["function"], "ground_truth": answer["ground_truth"]}

    def verdict(family, call):
        text = family.assistant_text({"role": "assistant", "content": "", "tool_calls": [call]})
        return judge("simple_python", get_parser(family.name)(text, tools), bfcl_answer)

    for family in FAMILIES.values():
        assert verdict(family, right) is None and verdict(family, wrong) == "value_error"
        assert judge("irrelevance", get_parser(family.name)(family.assistant_text(
            {"role": "assistant", "content": "我无法回答。"}), tools), None) is None


def test_summary_follows_the_leaderboard_arithmetic():
    def judged(category: str, right: int, wrong: int) -> list[dict]:
        return [{"category": category, "correct": True}] * right + [
            {"category": category, "correct": False}] * wrong

    records = (judged("simple_python", 3, 0) + judged("multiple", 0, 1) + judged("live_simple", 3, 0)
               + judged("live_multiple", 0, 1) + judged("irrelevance", 1, 0)
               + judged("live_irrelevance", 0, 1))
    summary = summarize(records)
    assert summary["bfcl_non_live_ast"] == pytest.approx((1.0 + 0.0) / 2)  # unweighted
    assert summary["bfcl_live"] == pytest.approx(3 / 4)  # weighted by questions
    assert summary["bfcl_irrelevance_detection"] == pytest.approx(0.5)
    assert summary["bfcl_irrelevance"] == 1.0  # the category keeps its own figure
    assert summary["bfcl_relevance_detection"] is None
    assert summary["bfcl_parallel_questions"] == 0
    assert set(CATEGORIES) <= {k.removeprefix("bfcl_") for k in summary}
    json.dumps(summary)
