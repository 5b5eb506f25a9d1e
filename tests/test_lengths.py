"""Length policy: long rows are dropped or split at user turns, never truncated."""

import json

import pytest
from conftest import WEATHER_TOOL

from toolcall.families import all_families
from toolcall.lengths import DROP, SPLIT, fit_to_length, user_turn_segments
from toolcall.standins import train_tokenizer

FAMILIES = all_families()


def _conversation(n_exchanges, long_exchange=None):
    messages = []
    for i in range(n_exchanges):
        messages += [{"role": "user", "content": f"第{i}个问题"},
                     {"role": "assistant", "content": f"第{i}个回答"}]
    if long_exchange:
        messages += [{"role": "user", "content": long_exchange},
                     {"role": "assistant", "content": "好"}]
    return {"id": "c", "tools": json.dumps([WEATHER_TOOL], ensure_ascii=False),
            "messages": messages}


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer([FAMILIES["glm4"].render([WEATHER_TOOL], _conversation(3)["messages"]
                                                    ).text] * 3, FAMILIES["glm4"], 500,
                           FAMILIES["glm4"].base)


def test_segments_start_at_user_turns():
    segments = user_turn_segments(_conversation(3)["messages"])
    assert len(segments) == 3 and all(s[0]["role"] == "user" for s in segments)


def _length(tokenizer, conversation):
    fam = FAMILIES["glm4"]
    examples, _ = fit_to_length([conversation], fam, tokenizer, 10**6, DROP)
    return len(examples[0].input_ids)


def test_short_rows_pass_untouched(tokenizer):
    examples, report = fit_to_length([_conversation(2)], FAMILIES["glm4"], tokenizer, 10**6, SPLIT)
    assert len(examples) == 1 and report.rows_over_max_length == 0


def test_drop_counts_and_drops(tokenizer):
    conversation = _conversation(6)
    limit = _length(tokenizer, conversation) - 1
    examples, report = fit_to_length([conversation], FAMILIES["glm4"], tokenizer, limit, DROP)
    assert examples == [] and report.rows_over_max_length == 1
    assert report.rows_losing_content == 1


def test_split_keeps_every_piece_whole_and_within_limit(tokenizer):
    conversation = _conversation(6)
    two_exchanges = _length(tokenizer, _conversation(2))
    examples, report = fit_to_length([conversation], FAMILIES["glm4"], tokenizer, two_exchanges,
                                     SPLIT)
    assert report.rows_over_max_length == 1 and report.pieces_from_splits == 3
    assert report.rows_losing_content == 0
    for example in examples:
        assert len(example.input_ids) <= two_exchanges
        text = tokenizer.decode(example.input_ids)
        assert text.startswith("[gMASK]<sop><|system|>") and "## get_weather" in text
        assert text.endswith("<|endoftext|>")
    answers = "".join(tokenizer.decode(e.input_ids) for e in examples)
    assert all(f"第{i}个回答" in answers for i in range(6))  # nothing lost


def test_an_exchange_too_long_alone_is_dropped_and_counted(tokenizer):
    conversation = _conversation(2, long_exchange="很长" * 400)
    limit = _length(tokenizer, _conversation(2))
    examples, report = fit_to_length([conversation], FAMILIES["glm4"], tokenizer, limit, SPLIT)
    assert report.exchanges_dropped == 1 and len(examples) == 1
    assert report.rows_losing_content == 1
