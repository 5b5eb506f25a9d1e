"""The benchmarks' arithmetic (their timings are printed, never asserted)."""

import pytest

from benchmarks.generate_speed import pays_after
from benchmarks.prefix_sharing import reusable_tokens


def test_prefix_reuse_counts_conversation_prefixes_and_radix_tree_sharing():
    prompts = [[1, 2, 3], [1, 2, 3, 4, 5], [1, 2, 9], [7, 8]]
    result = reusable_tokens(prompts, ["a", "a", "b", "a"])
    assert result["prompt_tokens"] == 13
    # a's second turn extends its first (3 tokens reused); a's third turn does not extend
    # its second (no token-level prefix), so nothing is reused there
    assert result["conversation_reuse_tokens"] == 3
    # sorted: [1,2,3] [1,2,3,4,5] [1,2,9] [7,8] -> common prefixes 3, 2, 0
    assert result["radix_reuse_tokens"] == 5
    assert result["radix_reuse_share"] == pytest.approx(5 / 13)


def test_compilation_pays_back_after_the_tokens_its_time_buys():
    # 100 -> 200 tokens/s saves 5 ms a token: 10 s of compiling is back after 2,000 tokens
    assert pays_after(10.0, slow_rate=100.0, fast_rate=200.0) == pytest.approx(2000.0)
    assert pays_after(10.0, slow_rate=200.0, fast_rate=200.0) is None
    assert pays_after(10.0, slow_rate=200.0, fast_rate=100.0) is None
