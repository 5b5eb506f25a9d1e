"""What the real run needs, computed from the published checkpoints' shapes (each family's
Architecture.real(), the config.json facts in toolcall/families/) and params.yaml: weights on
disk and in GPU memory (bf16), the LoRA adapter's trainable parameters, and the KV cache of one
generation batch. Then each GPU stage's time at the default settings, from the speeds measured
on one H200 (MEASURED_ON_H200) and the work params.yaml asks for. Arithmetic over measured
rates, not a run: `python -m benchmarks.dress_rehearsal` measures every stage on your GPU.

    python -m benchmarks.real_run_needs
"""

from __future__ import annotations

import math

import torch
from accelerate import init_empty_weights
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from toolcall.bfcl import data_file, read_lines
from toolcall.families import get_family
from toolcall.params import load_params
from toolcall.registry import BFCL_EVAL, fetch

GB = 1e9
BF16 = 2  # bytes per parameter or cached value

# Measured on one H200 with random weights of the real shapes (bf16, SDPA, transformers), by
# the settings benchmarks/train_speed.py and benchmarks/generate_speed.py run; Qwen2.5-7B's
# generation was not measured and is taken as GLM-4-9B's (the decode step is bound by kernel
# launches, not by the weights' size: ~10x above its memory-bandwidth floor).
MEASURED_ON_H200 = {
    # packed 4096-token rows, LoRA r16 on all linear layers, no gradient checkpointing: the
    # default train / lora settings. Measured with rows attending across each other; keeping
    # them apart (position ids per row, as finetune does) cost 16% on GLM-4-9B.
    "train_tokens_per_s": {"glm4": 6830 * 0.84, "qwen2_5": 8753 * 0.84},
    "train_peak_gib": {"glm4": 73},
    # batch 32, 700-token prompts, attention mask given: prefill 0.74 s, 57 ms a decode step
    "prefill_s_per_token": 0.74 / (32 * 700),
    "decode_step_s": 0.057,
}
# The zh hub set (1,000 rows, the public 1k sample's) after prepare-dataset's cleaning and
# split: 884 training conversations packed into 120 rows of 4,096 tokens (Qwen2.5's
# tokenizer), and 49 test conversations holding 180 assistant turns.
HUB_SET = {"packed_rows": 120, "test_turns": 180}
PROMPT_TOKENS = 700  # a typical prompt: the tool system prompt and a few turns


def needs(key: str) -> dict:
    params = load_params()
    model_params, lora = params.model(key), params.lora_for(key, "hub")
    config = get_family(model_params.family).architecture.real()
    with init_empty_weights():  # shapes only: no memory, no download
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    total = sum(p.numel() for p in model.parameters())
    peft = get_peft_model(model, LoraConfig(r=lora.r, lora_alpha=lora.alpha,
                                            target_modules=lora.target_modules, task_type="CAUSAL_LM"))
    trainable = sum(p.numel() for p in peft.parameters() if p.requires_grad)
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    kv_per_token = 2 * config.num_hidden_layers * config.num_key_value_heads * head_dim * BF16
    evaluate = params.evaluate
    batch_tokens = evaluate.batch_size * (evaluate.max_prompt_tokens + evaluate.max_new_tokens)
    return {"model": f"{key} ({model_params.hub_id})", "parameters": total,
            "weights_gb": total * BF16 / GB, "lora_trainable": trainable,
            # bf16 LoRA weights and grads, fp32 Adam moments and master copy
            "lora_training_state_gb": trainable * (BF16 + BF16 + 4 + 4 + 4) / GB,
            "kv_cache_per_token_kb": kv_per_token / 1e3,
            "kv_cache_generation_batch_gb": kv_per_token * batch_tokens / GB}


def generation_seconds(prompts: int, batch_size: int, max_new_tokens: int) -> float:
    """Batches of `batch_size` prompts, each a prefill and at most `max_new_tokens` decode
    steps (a batch stops early only when every row has stopped: an upper bound)."""
    batches = math.ceil(prompts / batch_size)
    prefill = MEASURED_ON_H200["prefill_s_per_token"] * batch_size * PROMPT_TOKENS
    return batches * (prefill + max_new_tokens * MEASURED_ON_H200["decode_step_s"])


def gpu_stage_times(key: str, bfcl_questions: int) -> dict:
    """Seconds of GPU work per stage for one model at params.yaml's settings (loading the
    weights and the held-out loss evaluations not included); None where nothing was measured."""
    params = load_params()
    family, train, evaluate = params.model(key).family, params.train_for(key, "hub"), params.evaluate
    rate = MEASURED_ON_H200["train_tokens_per_s"].get(family)
    tokens = HUB_SET["packed_rows"] * train.max_length * train.num_train_epochs
    return {"finetune_s": tokens / rate if rate else None,
            "finetune_peak_gib": MEASURED_ON_H200["train_peak_gib"].get(family),
            # base and tuned are each asked every turn and every question
            "generate_s": 2 * generation_seconds(HUB_SET["test_turns"], evaluate.batch_size,
                                                 evaluate.max_new_tokens),
            "generate_bfcl_s": 2 * generation_seconds(bfcl_questions, evaluate.batch_size,
                                                      evaluate.max_new_tokens)}


def bfcl_question_count(categories: list[str]) -> int:
    """Every question of the categories in the pinned bfcl-eval wheel (what a real run asks)."""
    root = fetch(BFCL_EVAL)
    return sum(len(read_lines(data_file(root, category))) for category in categories)


def minutes(seconds: float | None) -> str:
    return "not measured" if seconds is None else f"{seconds / 60:.0f} min"


def main() -> None:
    params = load_params()
    print("| model | parameters | weights, bf16 (disk = GPU) | LoRA trainable | LoRA training state "
          "| KV cache per token | KV cache, one generation batch |")
    print("|---|---|---|---|---|---|---|")
    tokens = params.evaluate.max_prompt_tokens + params.evaluate.max_new_tokens
    for key in params.models:
        n = needs(key)
        print(f"| {n['model']} | {n['parameters'] / 1e9:.2f} B | {n['weights_gb']:.1f} GB "
              f"| {n['lora_trainable'] / 1e6:.1f} M | {n['lora_training_state_gb']:.2f} GB "
              f"| {n['kv_cache_per_token_kb']:.0f} kB | {n['kv_cache_generation_batch_gb']:.2f} GB "
              f"({params.evaluate.batch_size} x {tokens} tokens) |")
    questions = bfcl_question_count(params.bfcl.categories)
    print()
    print(f"| model | finetune ({params.train.num_train_epochs:g} epochs) | finetune peak memory "
          f"| generate (base + tuned, {HUB_SET['test_turns']} turns each) "
          f"| generate-bfcl (base + tuned, {questions:,} questions each) |")
    print("|---|---|---|---|---|")
    for key in params.models:
        t = gpu_stage_times(key, questions)
        peak = "not measured" if t["finetune_peak_gib"] is None else f"{t['finetune_peak_gib']} GiB"
        print(f"| {key} | {minutes(t['finetune_s'])} | {peak} | {minutes(t['generate_s'])} "
              f"| {minutes(t['generate_bfcl_s'])} |")


if __name__ == "__main__":
    main()
