"""What the real run needs, computed from the published checkpoints' shapes (each family's
Architecture.real(), the config.json facts in toolcall/families/) and params.yaml: weights on
disk and in GPU memory (bf16), the LoRA adapter's trainable parameters, and the KV cache of one
generation batch. Arithmetic, not a measurement: activation memory and time depend on the GPU
and kernels; `python -m benchmarks.dress_rehearsal` measures both on a GPU.

    python -m benchmarks.real_run_needs
"""

from __future__ import annotations

import torch
from accelerate import init_empty_weights
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from toolcall.families import get_family
from toolcall.params import load_params

GB = 1e9
BF16 = 2  # bytes per parameter or cached value


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


if __name__ == "__main__":
    main()
