"""Cleaning verdicts on a fixture with one row of every kind of dirt, and the split."""

import json

from conftest import load_fixture

from stages.prepare_dataset import clean_rows, clean_sources, split_conversations
from toolcall.glaive import KEEP_ALL, CleaningRules, decode_conversation

DIRTY = load_fixture("dirty_glaive.json")


def test_every_dirty_row_gets_its_verdict():
    kept, rejects, stats = clean_rows([d["row"] for d in DIRTY], CleaningRules())
    verdicts = {r["row"]: r["reason"] for r in rejects}
    for index, case in enumerate(DIRTY):
        assert verdicts.get(index, "kept") == case["verdict"], (index, case["row"])
    assert stats["rows_in"] == len(DIRTY)
    assert stats["rows_kept"] + stats["rows_dropped"] == len(DIRTY)
    assert len(kept) == stats["rows_kept"]
    # every reject carries its source row, so nothing is lost
    assert all(r["data"] == DIRTY[r["row"]]["row"] for r in rejects)


def test_repairs_are_counted():
    _, _, stats = clean_rows([DIRTY[2]["row"]], CleaningRules())
    assert stats["rows_kept"] == 1
    assert stats["repaired_arguments_string_decoded"] == 1
    assert stats["repaired_whitespace_stripped"] == 1
    assert stats["repaired_tool_wrapped_to_openai_form"] == 1


def test_rules_can_be_relaxed_and_what_they_keep_is_counted():
    reasons = {"argument_not_in_schema", "required_argument_missing", "call_name_not_offered",
               "argument_type_mismatch", "argument_not_in_enum"}
    rows = [d["row"] for d in DIRTY if d["verdict"] in reasons]
    kept, rejects, stats = clean_rows(rows, KEEP_ALL)
    assert len(kept) == len(rows) and not rejects
    assert {k.removeprefix("kept_") for k in stats if k.startswith("kept_")} == reasons


def test_arguments_stay_json_strings_and_decode_to_the_source_keys():
    kept, _, _ = clean_rows([DIRTY[0]["row"]], CleaningRules())
    stored = kept[0]["messages"][1]["tool_calls"][0]
    assert isinstance(stored["arguments"], str) and isinstance(kept[0]["tools"], str)
    tools, messages = decode_conversation(kept[0])
    assert messages[1]["tool_calls"] == [{"name": "get_weather", "arguments": {"city": "北京"}}]
    assert tools[0]["type"] == "function"


def test_duplicates_never_cross_the_split():
    rows = [d["row"] for d in DIRTY if d["verdict"] in ("kept", "duplicate")] * 5
    kept, _, stats = clean_rows(rows, CleaningRules())
    train, test, _ = split_conversations(kept, 0.5, seed=1, threshold=0.95)
    contents = lambda split: {json.dumps(c["messages"]) + c["tools"] for c in split}  # noqa: E731
    assert not contents(train) & contents(test)
    assert stats["dropped_duplicate"] == len(rows) - len(kept)


def test_several_sources_are_cleaned_and_counted_each():
    rows = [d["row"] for d in DIRTY]
    kept, rejects, stats = clean_sources([("zh", rows), ("en", rows[:3])], CleaningRules())
    alone = clean_rows(rows, CleaningRules())[2]
    assert stats["sources"]["zh"] == alone
    # the second source repeats rows of the first: exact duplicates across sources are dropped
    assert stats["sources"]["en"]["dropped_duplicate"] == 3 and stats["rows_in"] == len(rows) + 3
    assert {r["source"] for r in rejects} == {0, 1} and len({c["id"] for c in kept}) == len(kept)


def test_split_is_seeded_and_complete():
    kept, _, _ = clean_rows([{"conversations": [{"from": "human", "value": f"第{i}个问题：{i * 7919}"},
                                                {"from": "gpt", "value": f"答案是{i * 104729}"}],
                              "tools": ""} for i in range(50)], CleaningRules())
    a = split_conversations(kept, 0.2, seed=3, threshold=0.95)
    b = split_conversations(kept, 0.2, seed=3, threshold=0.95)
    assert a == b and len(a[1]) == 10 and len(a[0]) + len(a[1]) == 50
