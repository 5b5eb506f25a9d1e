"""The benchmarks' arithmetic (their timings are printed, never asserted)."""

import sys
from pathlib import Path

import pytest

from benchmarks.attention_speed import attend
from benchmarks.generate_speed import pays_after
from benchmarks.near_duplicates import kept_by_row, synthetic
from benchmarks.prefix_sharing import reusable_tokens
from benchmarks.real_run_needs import gpu_stage_times, needs
from benchmarks.real_run_needs import main as print_real_run_needs
from benchmarks.repro_profile import slowest_setups, stage_times, suite_table, table
from toolcall.splitting import near_duplicate_groups


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


def test_the_scaling_set_plants_near_copies_and_nothing_else():
    kept = [c for c in kept_by_row(Path("data/sample/glaive_toolcall_zh_sample.json")) if c]
    conversations = synthetic(kept, 400, seed=0, planted=0.1)
    group = dict(zip((c["id"] for c in conversations), near_duplicate_groups(conversations, 0.5),
                     strict=True))
    planted = [c["id"] for c in conversations if "~" in c["id"]]
    assert 20 <= len(planted) <= 60
    assert all(group[name] == group[name.split("~")[0]] for name in planted)
    # the other copies are strangers: only a few land in a group by chance
    originals = {name.split("~")[0] for name in planted}
    strangers = [c["id"] for c in conversations if "~" not in c["id"] and c["id"] not in originals]
    sizes = {g: list(group.values()).count(g) for g in set(group.values())}
    assert sum(sizes[group[name]] > 1 for name in strangers) <= 0.05 * len(strangers)


@pytest.mark.parametrize("key, published", [("glm4-9b", 9.40e9), ("qwen2_5-7b", 7.62e9)])
def test_the_real_run_arithmetic_counts_the_published_parameters(key, published):
    """The shapes it computes from give the model cards' sizes (GLM-4-9B: 9.4B; Qwen2.5-7B:
    7.61B, 7.62B with its untied output layer)."""
    found = needs(key)
    assert found["parameters"] == pytest.approx(published, rel=0.005)
    assert found["weights_gb"] == pytest.approx(found["parameters"] * 2 / 1e9)
    assert 0 < found["lora_trainable"] < 0.01 * found["parameters"]


def test_the_real_run_times_are_the_measured_rates_times_the_work():
    """Recomputed by hand from the H200 rates: 120 packed 4,096-token rows x 3 epochs at
    6,830 tokens/s less 16% for keeping packed rows apart; 180 turns in 12 batches of 16,
    each a 16 x 700-token prefill and 96 decode steps of 57 ms, for base and tuned."""
    times = gpu_stage_times("glm4-9b", bfcl_questions=17)
    assert times["finetune_s"] == pytest.approx(120 * 4096 * 3 / (6830 * 0.84))
    batch = 0.74 * 16 / 32 + 96 * 0.057
    assert times["generate_s"] == pytest.approx(2 * 12 * batch)
    assert times["generate_bfcl_s"] == pytest.approx(2 * 2 * batch)  # 17 questions: 2 batches
    assert gpu_stage_times("qwen2_5-7b", 17)["finetune_peak_gib"] is None  # never measured: said so


def test_the_readme_shows_what_the_real_run_script_prints(capsys):
    print_real_run_needs()
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("|"):
            assert line in Path("README.md").read_text()
            assert line in Path("README.zh-CN.md").read_text()


def test_the_repro_profile_splits_the_run_at_each_stage():
    """Each stage lasts from its "Running stage" line to the next: every stage once, in order,
    and together no longer than the whole run."""
    script = "print(\"Running stage 'a':\"); print('work'); print(\"Running stage 'b@m':\")"
    times, total = stage_times([sys.executable, "-c", script])
    assert [name for name, _ in times] == ["a", "b@m"]
    assert sum(seconds for _, seconds in times) <= total
    assert table(times, total).splitlines()[-1].startswith("| all (`dvc repro -f`) |")


def test_the_suite_profile_keeps_each_module_s_slowest_setup():
    output = """============================= slowest 5 durations =============================
75.01s setup    tests/test_pipeline.py::test_repro_writes_every_output
32.91s call     tests/test_real_artifacts.py::test_gold_replay[zh]
12.00s setup    tests/test_chat.py::test_a
16.66s setup    tests/test_chat.py::test_b[glm4-9b]
5.20s setup     tests/test_pipeline.py::test_other
481 passed, 99 warnings in 256.85s (0:04:16)"""
    setups, total = slowest_setups(output)
    assert setups == [("tests/test_pipeline.py", 75.01), ("tests/test_chat.py", 16.66)]  # calls left out
    assert total == 256.85
    assert suite_table(setups, total).splitlines()[-1] == "| whole suite (`pytest`, wall) | 257 |"


def test_both_attention_paths_the_benchmark_times_compute_the_same_attention():
    """The 4-D path (the stand-ins' own) and the 3-D one agree, values and gradients, so the
    benchmark compares speed only; and both are causal: a later token never changes an
    earlier output."""
    import torch

    torch.manual_seed(0)
    inputs = [torch.randn(37, 4, 8, requires_grad=True) for _ in range(3)]
    outputs, grads = [], []
    for four_d in (False, True):
        out = attend(*inputs, four_d)
        out.square().sum().backward()
        outputs.append(out.detach())
        grads.append([t.grad.clone() for t in inputs])
        for t in inputs:
            t.grad = None
    torch.testing.assert_close(outputs[0], outputs[1])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b)
    changed = [t.detach().clone() for t in inputs]
    changed[1][-1] += 1.0  # the last key
    assert torch.equal(attend(*changed, True)[:-1], outputs[1][:-1])
