"""Generation speed of the generate stage's own path (toolcall.evaluation.generate_token_batches),
plain against fast, side by side.

    python -m benchmarks.generate_speed                      # GPU: both real shapes
    python -m benchmarks.generate_speed --models glm4-9b     # one shape (one device call)
    python -m benchmarks.generate_speed --shape standin      # CPU: stand-in shapes, shows it runs

Rows, for each batch size in --batches (the baseline is `generate` at the first one: plain
batched generate with an attention mask):
  generate       dynamic KV cache                        (evaluate.static_cache: false)
  static         static KV cache, one shape per run: transformers compiles the decode step
                 with CUDA graphs on a GPU                (evaluate.static_cache: true)
  generate+lora  (--lora, first batch only) an unmerged LoRA r16 on every linear layer:
                 what evaluate.merge_adapter: false costs. A merged adapter has the base's
                 shapes, so the base's speed.

Prompts are random tokens of eval-like lengths (--prompt-tokens, +-20%). Every row makes
--new-tokens tokens (the stop id lies outside the vocabulary). For each row: prefill time,
mean decode step, new tokens/s, and the first call's extra time (compilation) separately,
with the number of new tokens after which the compilation has paid for itself against
`generate` at the same batch. The decode floor is the time to read the weights and the KV
cache once per step at --bandwidth-tbs (H200: 4.8 TB/s peak, ~4.3 measured). --profile
also profiles one plain decode step (operators, GPU kernels, time in kernels, share of the
step the GPU idles).
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import torch

from benchmarks.shapes import benchmark_parser, config_for, head_dim, random_model
from toolcall.evaluation import generate_token_batches, left_pad


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def random_prompts(config, batch: int, prompt_tokens: int, seed: int) -> list[list[int]]:
    """Token-id prompts of eval-like lengths (never the pad id)."""
    rng = random.Random(seed)
    return [[rng.randrange(1000, config.vocab_size - 1)
             for _ in range(int(prompt_tokens * rng.uniform(0.8, 1.2)))] for _ in range(batch)]


def timed_call(model, prompts: list[list[int]], new_tokens: int, static: bool) -> float:
    """One batch through evaluate's path, in seconds."""
    config = model.config
    _sync()
    start = time.perf_counter()
    for _ in generate_token_batches(model, prompts, config.pad_token_id,
                                    stop_ids=[config.vocab_size], max_new_tokens=new_tokens,
                                    batch_size=len(prompts), static_cache=static):
        pass
    _sync()
    return time.perf_counter() - start


def measure(model, prompts: list[list[int]], new_tokens: int, static: bool, repeats: int) -> dict:
    """First call (includes any compilation), then prefill-only and full calls; the decode
    step is (full - prefill) / (new_tokens - 1)."""
    first = timed_call(model, prompts, new_tokens, static)
    prefill = min(timed_call(model, prompts, 1, static) for _ in range(repeats))
    full = min(timed_call(model, prompts, new_tokens, static) for _ in range(repeats))
    return {"first_call_s": first, "compile_and_warmup_s": max(0.0, first - full),
            "prefill_s": prefill, "decode_step_ms": (full - prefill) / (new_tokens - 1) * 1e3,
            "new_tokens_per_s": len(prompts) * new_tokens / full, "wall_s": full}


def decode_floor_ms(model, config, batch: int, context: int, bandwidth_tbs: float) -> float:
    """Reading every weight and the KV cache of `context` tokens per row once."""
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    element = next(model.parameters()).element_size()
    kv_per_token = 2 * config.num_hidden_layers * config.num_key_value_heads * head_dim(config) * element
    kv_bytes = kv_per_token * batch * context
    return (weight_bytes + kv_bytes) / (bandwidth_tbs * 1e12) * 1e3


def pays_after(compile_s: float, slow_rate: float, fast_rate: float) -> float | None:
    """New tokens after which a one-time compilation is paid back (None: never)."""
    saved_per_token = 1 / slow_rate - 1 / fast_rate
    return compile_s / saved_per_token if saved_per_token > 0 else None


@torch.inference_mode()
def profile_decode_step(model, prompts: list[list[int]]) -> dict:
    """Where one plain decode step's time goes: operators dispatched from Python (top-level
    aten ops: each pays the CPU-side overhead), GPU kernels launched, time the GPU spent in
    kernels, and the share of the step's wall time it spent idle (launch and Python
    overhead, which CUDA graphs remove). --shape narrow counts the real models' operators
    on a CPU."""
    from torch.profiler import ProfilerActivity, profile  # noqa: PLC0415

    ids, mask = left_pad(prompts, max(map(len, prompts)), model.config.pad_token_id, model.device)
    prefill = model(input_ids=ids, attention_mask=mask, use_cache=True)
    next_ids = prefill.logits[:, -1:].argmax(-1)
    mask = torch.cat([mask, torch.ones_like(next_ids)], dim=1)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
    with profile(activities=activities) as prof:
        _sync()
        start = time.perf_counter()
        model(input_ids=next_ids, attention_mask=mask, cache=prefill.cache, use_cache=True)
        _sync()
        wall_ms = (time.perf_counter() - start) * 1e3
    events = prof.events()
    kernels = [e for e in events if e.device_type.name == "CUDA"]
    kernel_ms = sum(e.device_time_total for e in kernels) / 1e3
    top_level = [e for e in events if e.cpu_parent is None and e.name.startswith("aten::")]
    return {"profiled_step_ms": wall_ms, "top_level_ops": len(top_level),
            "cuda_kernels": len(kernels), "kernel_ms": kernel_ms,
            "gpu_idle_share": 1 - kernel_ms / wall_ms if kernels else None}


def with_lora(model):
    """The model wrapped in an (unmerged) LoRA r16 on every linear layer, as finetune trains."""
    from peft import LoraConfig, get_peft_model  # noqa: PLC0415

    return get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules="all-linear")).eval()


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 128],
                        help="batch sizes; the first is the baseline's")
    parser.add_argument("--prompt-tokens", type=int, default=700)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--bandwidth-tbs", type=float, default=4.3)
    parser.add_argument("--lora", action="store_true", help="also time an unmerged LoRA")
    parser.add_argument("--profile", action="store_true", help="profile one plain decode step")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/generate_speed.json"))
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    name = torch.cuda.get_device_name() if cuda else "cpu"
    results = []

    def record(key: str, path: str, model, config, prompts: list[list[int]], static: bool) -> dict:
        context = max(map(len, prompts)) + args.new_tokens
        result = {"model": key, "shape": args.shape, "device": name, "path": path,
                  "batch": len(prompts), "prompt_tokens": sum(map(len, prompts)) // len(prompts),
                  "new_tokens": args.new_tokens,
                  "decode_floor_ms": decode_floor_ms(model, config, len(prompts), context,
                                                     args.bandwidth_tbs),
                  **measure(model, prompts, args.new_tokens, static, args.repeats)}
        results.append(result)
        print(json.dumps(result), flush=True)
        return result

    def profile(key: str, model, prompts: list[list[int]], lora: bool) -> None:
        profiled = {"model": key, "shape": args.shape, "device": name, "batch": len(prompts),
                    "lora": lora, **profile_decode_step(model, prompts)}
        results.append(profiled)
        print(json.dumps(profiled), flush=True)

    for key in args.models:
        config = config_for(args.shape, key)
        model = random_model(config, device, torch.bfloat16 if cuda else torch.float32).eval()
        batches = {b: random_prompts(config, b, args.prompt_tokens, seed=b) for b in args.batches}
        if args.profile:
            profile(key, model, batches[args.batches[0]], lora=False)
        for prompts in batches.values():
            plain = record(key, "generate", model, config, prompts, static=False)
            fast = record(key, "static", model, config, prompts, static=True)
            fast["pays_after_new_tokens"] = pays_after(fast["compile_and_warmup_s"],
                                                       plain["new_tokens_per_s"],
                                                       fast["new_tokens_per_s"])
        if args.lora:
            lora_model = with_lora(model)
            if args.profile:
                profile(key, lora_model, batches[args.batches[0]], lora=True)
            record(key, "generate+lora", lora_model, config, batches[args.batches[0]],
                   static=False)
        del model
        if cuda:
            torch.cuda.empty_cache()
    print_table(results, name)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


def print_table(results: list[dict], device: str) -> None:
    print(f"\n{'model':<12} {'path':<14} {'batch':>5} {'new tok/s':>10} {'step ms':>8} "
          f"{'floor ms':>9} {'prefill s':>9} {'compile s':>9} {'pays after':>11} "
          f"{'x baseline':>10}   ({device})")
    timed = [r for r in results if "path" in r]
    for r in timed:
        base = next(b for b in timed if b["model"] == r["model"] and b["path"] == "generate")
        pays = "-"
        if "pays_after_new_tokens" in r:
            tokens = r["pays_after_new_tokens"]
            pays = "never" if tokens is None else f"{tokens:,.0f} tok"
        print(f"{r['model']:<12} {r['path']:<14} {r['batch']:>5} {r['new_tokens_per_s']:>10,.0f} "
              f"{r['decode_step_ms']:>8.1f} {r['decode_floor_ms']:>9.1f} {r['prefill_s']:>9.2f} "
              f"{r['compile_and_warmup_s']:>9.1f} "
              f"{pays:>11} "
              f"{r['new_tokens_per_s'] / base['new_tokens_per_s']:>10.2f}")


if __name__ == "__main__":
    main()
