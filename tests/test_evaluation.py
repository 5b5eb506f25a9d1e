"""Turn expansion and batched generation on a tiny stand-in."""

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from toolcall.evaluation import build_samples, cut_at_stop, generate_greedy
from toolcall.glaive import CleaningRules, clean_row, decode_conversation
from toolcall.sample_data import make_sample
from toolcall.standins import build_standin
from toolcall.templates import FAMILIES


def _conversations(n):
    return [{"id": f"c{i}", **clean_row(row, CleaningRules())[0]}
            for i, row in enumerate(make_sample(n, seed=3))]


def test_every_assistant_turn_is_one_sample_with_the_gold_history():
    conversations = _conversations(20)
    samples = build_samples(conversations, FAMILIES["qwen2.5"])
    assistant_turns = sum(m["role"] == "assistant" for c in conversations for m in c["messages"])
    assert len(samples) == assistant_turns
    for s in samples:
        assert s["prompt"].endswith("<|im_start|>assistant\n")
        assert s["stratum"] in ("call", "nocall_after_obs", "nocall_with_tools", "notools")
        assert (s["stratum"] == "call") == bool(s["gold"].get("tool_calls"))


def test_cut_at_stop():
    assert cut_at_stop([5, 6, 2, 7], {2, 9}) == ([5, 6], True)
    assert cut_at_stop([5, 6], {2}) == ([5, 6], False)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_batched_and_static_cache_generation_equal_one_by_one(family, tmp_path):
    fam = FAMILIES[family]
    conversations = _conversations(12)
    texts = [fam.render(*decode_conversation(c)).text
             for c in conversations]
    shape = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
             "num_key_value_heads": 1, "intermediate_size": 64, "max_position_embeddings": 2048}
    settings = {"vocab_size": 500, "seed": 0, "pretrain_steps": 5, "pretrain_batch_size": 4,
                "pretrain_block_size": 64, "pretrain_learning_rate": 1e-2}
    build_standin(fam, texts, texts, shape, settings, tmp_path)
    model = AutoModelForCausalLM.from_pretrained(tmp_path, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    prompts = [s["prompt"] for s in build_samples(conversations[:6], fam)]
    stops = tokenizer.convert_tokens_to_ids(fam.stop_tokens)
    batched = dict(generate_greedy(model, tokenizer, prompts, stops, 12, batch_size=8))
    single = dict(generate_greedy(model, tokenizer, prompts, stops, 12, batch_size=1))
    static = dict(generate_greedy(model, tokenizer, prompts, stops, 12, batch_size=8,
                                  static_cache=True))
    assert len({len(tokenizer(p)["input_ids"]) for p in prompts}) > 1  # padding really happens
    assert sorted(batched) == list(range(len(prompts)))
    assert [batched[i]["text"] for i in range(len(prompts))] == [
        single[i]["text"] for i in range(len(prompts))]
    # the static-cache path (extra left padding, preallocated cache) changes no token
    assert [static[i] for i in range(len(prompts))] == [single[i] for i in range(len(prompts))]
