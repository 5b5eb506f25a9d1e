"""Turn expansion and batched generation on a tiny stand-in."""

import pytest
import torch
from peft import LoraConfig, get_peft_model
from torch._dynamo.utils import counters
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.generation.configuration_utils import CompileConfig

from toolcall.evaluation import build_samples, cut_at_stop, generate_greedy, load_causal_lm
from toolcall.glaive import CleaningRules, clean_row, decode_conversation
from toolcall.io import read_jsonl
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
    assert len({len(tokenizer(p)["input_ids"]) for p in prompts}) > 1  # padding really happens
    assert sorted(batched) == list(range(len(prompts)))
    assert [batched[i]["text"] for i in range(len(prompts))] == [
        single[i]["text"] for i in range(len(prompts))]


@pytest.mark.parametrize(("key", "family"), [("glm4-9b", "glm4"), ("qwen2_5-7b", "qwen2.5")])
def test_fast_path_gives_plain_one_by_one_tokens_on_every_test_turn(tiny_project, key, family,
                                                                   tmp_path):
    """evaluate's fast path (adapter merged, static cache, batches) against the plain one
    (unmerged PEFT model, one prompt at a time, dynamic cache) for every test turn."""
    base = tiny_project / "models" / key / "base"
    torch.manual_seed(0)
    lora = LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False)  # not a no-op
    get_peft_model(AutoModelForCausalLM.from_pretrained(base), lora).save_pretrained(tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(base)
    fam = FAMILIES[family]
    samples = build_samples(read_jsonl(tiny_project / "data" / "prepared" / "test.jsonl"), fam)
    prompts = [s["prompt"] for s in samples]
    stops = tokenizer.convert_tokens_to_ids(fam.stop_tokens)

    def outputs(model, batch_size, static_cache):
        done = dict(generate_greedy(model, tokenizer, prompts, stops, 8, batch_size=batch_size,
                                    static_cache=static_cache))
        return [done[i] for i in range(len(prompts))]

    fast_model = load_causal_lm(base, tmp_path, None, merge=True)
    # transformers compiles the static-cache decode step only on accelerators; trace it here
    # too, with dynamo's eager backend (no code generation), to count compilations
    compile_config = CompileConfig(backend="eager")
    compile_config._compile_all_devices = True
    fast_model.generation_config.compile_config = compile_config
    torch._dynamo.reset()
    counters.clear()
    shapes = []
    generate = fast_model.generate
    fast_model.generate = lambda **kw: shapes.append(
        (kw["input_ids"].shape[0], kw.get("max_cache_len"))) or generate(**kw)
    batch = 7  # 24 test turns: 3 full batches and a short last one
    fast = outputs(fast_model, batch, static_cache=True)
    compiled_graphs = counters["stats"]["unique_graphs"]
    plain = outputs(load_causal_lm(base, tmp_path, None), 1, static_cache=False)
    without_adapter = outputs(load_causal_lm(base, None, None), 1, static_cache=False)

    assert len(prompts) > batch and len(prompts) % batch
    assert fast == plain
    assert without_adapter != plain  # the adapter changes tokens: the merge is not vacuous
    # one cache shape for every batch, so the decode step is compiled once for the whole run
    assert len(shapes) == -(-len(prompts) // batch) and len(set(shapes)) == 1
    assert compiled_graphs == 1
