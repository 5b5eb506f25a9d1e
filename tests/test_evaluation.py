"""Turn expansion and batched generation on a tiny stand-in."""

import pytest
import torch
from peft import LoraConfig, get_peft_model
from torch._dynamo.utils import counters
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.generation.configuration_utils import CompileConfig

from toolcall.evaluation import (
    cut_at_stop,
    generate_greedy,
    greedy_config,
    load_causal_lm,
    prefix_roots,
)
from toolcall.families import all_families
from toolcall.glaive import CleaningRules, clean_row, decode_conversation
from toolcall.io import read_jsonl
from toolcall.sample_data import make_sample
from toolcall.standins import build_standin
from toolcall.turns import build_samples

FAMILIES = all_families()


def _conversations(n):
    return [{"id": f"c{i}", **clean_row(row, CleaningRules())[0]}
            for i, row in enumerate(make_sample(n, seed=3))]


def test_every_assistant_turn_is_one_sample_with_the_gold_history():
    conversations = _conversations(20)
    samples = build_samples(conversations, FAMILIES["qwen2_5"])
    assistant_turns = sum(m["role"] == "assistant" for c in conversations for m in c["messages"])
    assert len(samples) == assistant_turns
    for s in samples:
        assert s["prompt"].endswith("<|im_start|>assistant\n")
        assert s["stratum"] in ("call", "nocall_after_obs", "nocall_with_tools", "notools")
        assert (s["stratum"] == "call") == bool(s["gold"].get("tool_calls"))


def test_cut_at_stop():
    assert cut_at_stop([5, 6, 2, 7], {2, 9}) == ([5, 6], 2)
    assert cut_at_stop([5, 6], {2}) == ([5, 6], None)


def _plain_generate(model, tokenizer, prompt: str, stops: list[int], max_new_tokens: int) -> str:
    """transformers' own generate on one prompt: no padding, no batch, no shared cache."""
    ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
    config = greedy_config(max_new_tokens, stops, tokenizer.pad_token_id)
    with torch.inference_mode():
        new = model.generate(input_ids=ids, generation_config=config)[0, ids.shape[1]:].tolist()
    return tokenizer.decode(cut_at_stop(new, set(stops))[0], skip_special_tokens=False)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_shared_prefix_batches_give_plain_generate_tokens(family, tmp_path):
    """The generate stage's path (a conversation's turns decoding from one prefill, batches
    left-padded) gives exactly the tokens of transformers' generate on each prompt alone."""
    fam = FAMILIES[family]
    conversations = _conversations(12)
    texts = [fam.render(*decode_conversation(c)).text
             for c in conversations]
    shape = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
             "num_key_value_heads": 1, "intermediate_size": 64, "max_position_embeddings": 2048}
    settings = {"vocab_size": 500, "seed": 0, "pretrain_steps": 5, "pretrain_batch_size": 4,
                "pretrain_block_size": 64, "pretrain_learning_rate": 1e-2}
    build_standin(fam, texts, texts, shape, settings, tmp_path, fam.base)
    model = AutoModelForCausalLM.from_pretrained(tmp_path, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    prompts = [s["prompt"] for s in build_samples(conversations[:6], fam)]
    stops = tokenizer.convert_tokens_to_ids(fam.stop_tokens)
    batched = dict(generate_greedy(model, tokenizer, prompts, stops, 12, batch_size=8))
    single = dict(generate_greedy(model, tokenizer, prompts, stops, 12, batch_size=1))
    plain = [_plain_generate(model, tokenizer, p, stops, 12) for p in prompts]
    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    roots = prefix_roots(encoded)
    shared = sum(r != i for i, r in enumerate(roots))
    # Qwen3's generation prompt opens an empty think block that its history drops, so no
    # prompt extends another; every other family's turns really share a prefill
    assert shared == 0 if family == "qwen3" else shared >= 3
    assert len({len(e) for e in encoded}) > 1  # padding really happens
    assert sorted(batched) == list(range(len(prompts)))
    assert [batched[i]["text"] for i in range(len(prompts))] == plain
    assert [single[i]["text"] for i in range(len(prompts))] == plain


def test_prefix_roots_are_the_longest_prompt_extending_each():
    prompts = [[1, 2], [1, 2, 3, 4], [1, 2, 3], [5], [1, 3], [5, 6], [1, 2, 3, 4]]
    roots = prefix_roots(prompts)
    assert [prompts[r] for r in roots] == [[1, 2, 3, 4]] * 3 + [[5, 6], [1, 3], [5, 6],
                                                                   [1, 2, 3, 4]]
    assert roots[1] == roots[6]  # equal prompts share one prefill too


@pytest.mark.parametrize(("key", "family"), [("glm4-9b", "glm4"), ("qwen2_5-7b", "qwen2_5")])
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
        (kw["input_ids"].shape[0], kw["generation_config"].max_cache_len)) or generate(**kw)
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


def test_decoding_is_greedy_whatever_the_checkpoint_ships(tmp_path, recwarn, caplog):
    """A checkpoint whose generation_config.json asks for sampling and a repetition penalty
    (as Qwen2.5-7B-Instruct's does) decodes exactly like one that ships nothing, silently."""
    from transformers import GenerationConfig

    fam = FAMILIES["qwen2_5"]
    conversations = _conversations(8)
    texts = [fam.render(*decode_conversation(c)).text for c in conversations]
    shape = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
             "num_key_value_heads": 1, "intermediate_size": 64, "max_position_embeddings": 2048}
    settings = {"vocab_size": 400, "seed": 0, "pretrain_steps": 20, "pretrain_batch_size": 4,
                "pretrain_block_size": 64, "pretrain_learning_rate": 1e-2}
    build_standin(fam, texts, texts, shape, settings, tmp_path, fam.base)
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    prompts = [s["prompt"] for s in build_samples(conversations[:4], fam)]
    stops = tokenizer.convert_tokens_to_ids(fam.stop_tokens)

    def generate(shipped: GenerationConfig) -> list[str]:
        model = AutoModelForCausalLM.from_pretrained(tmp_path, dtype=torch.float32).eval()
        model.generation_config = shipped
        done = dict(generate_greedy(model, tokenizer, prompts, stops, 16, batch_size=4))
        return [done[i]["text"] for i in range(len(prompts))]

    penalised = GenerationConfig(do_sample=True, temperature=0.7, top_p=0.8, top_k=20,
                                 repetition_penalty=5.0, no_repeat_ngram_size=2)
    caplog.set_level("WARNING")
    got = generate(penalised)
    assert got == generate(GenerationConfig())
    # the penalty would have changed the tokens, had it applied
    model = AutoModelForCausalLM.from_pretrained(tmp_path, dtype=torch.float32).eval()
    ids = tokenizer(prompts[0], add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        raw = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                             max_new_tokens=16, repetition_penalty=5.0, no_repeat_ngram_size=2,
                             eos_token_id=stops, pad_token_id=tokenizer.pad_token_id)
    penalised_text = tokenizer.decode(cut_at_stop(raw[0, ids.shape[1]:].tolist(), set(stops))[0],
                                      skip_special_tokens=False)
    assert penalised_text != got[0]
    assert not [w for w in recwarn if "generation" in str(w.message).lower()]
    assert "do_sample" not in caplog.text and "temperature" not in caplog.text


def test_one_model_is_resident_at_a_time(tiny_project, tmp_path, monkeypatch):
    """The generate stage frees base before it loads tuned: two 9B models do not fit a GPU
    that trains one."""
    import gc
    import shutil
    import weakref

    from stages import generate
    from toolcall.params import load_params

    root = tmp_path / "p"
    shutil.copytree(tiny_project, root)
    monkeypatch.chdir(root)
    base = root / "models" / "glm4-9b" / "base"
    lora = LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False)
    adapter = root / "models" / "glm4-9b" / "adapter"
    get_peft_model(AutoModelForCausalLM.from_pretrained(base), lora).save_pretrained(adapter)
    AutoTokenizer.from_pretrained(base).save_pretrained(adapter)
    alive, loaded = [], []

    def tracked_load(*args, **kwargs):
        gc.collect()
        alive.append(sum(ref() is not None for ref in loaded))
        model = load_causal_lm(*args, **kwargs)
        loaded.append(weakref.ref(model))
        return model

    monkeypatch.setattr(generate, "load_causal_lm", tracked_load)
    generate.generate_variants("glm4-9b", ["base", "tuned"], load_params())
    assert alive == [0, 0] and len(loaded) == 2
