"""Generation speed of evaluate-toolcall: plain batched `generate` against the static-cache
path (toolcall.evaluation.generate_greedy(static_cache=True): preallocated KV cache, decode
step compiled by transformers with CUDA graphs on a GPU), side by side.

    python -m benchmarks.generate_speed                    # GPU: real shapes, random weights
    python -m benchmarks.generate_speed --shape standin    # CPU: stand-in shapes, shows it runs

Prompts are random tokens of eval-like lengths (--prompt-tokens, +-20%), a fixed number of
new tokens per row (no early stop), batch --batch. For each path: prefill time, mean
decode step, new tokens/s, and the first call's extra time (compilation) separately.
The decode floor is the time to read the weights and the KV cache once per step at
--bandwidth-tbs (H200: 4.8 TB/s peak, ~4.3 measured). --profile also profiles one plain
decode step (operators, GPU kernels, time in kernels, share of the step the GPU idles).
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import torch

from benchmarks.shapes import REAL, benchmark_parser, random_model, standin_config
from toolcall.evaluation import static_width


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def make_batch(config, batch: int, prompt_tokens: int, seed: int, device) -> tuple:
    """Left-padded random prompts (never the pad id) and their attention mask."""
    rng = random.Random(seed)
    lengths = [int(prompt_tokens * rng.uniform(0.8, 1.2)) for _ in range(batch)]
    width = max(lengths)
    pad = config.pad_token_id
    ids = [[pad] * (width - n) + [rng.randrange(1000, config.vocab_size - 1) for _ in range(n)]
           for n in lengths]
    mask = [[0] * (width - n) + [1] * n for n in lengths]
    return torch.tensor(ids, device=device), torch.tensor(mask, device=device)


def pad_left(ids: torch.Tensor, mask: torch.Tensor, pad: int) -> tuple:
    extra = static_width(ids.shape[1]) - ids.shape[1]
    return (torch.nn.functional.pad(ids, (extra, 0), value=pad),
            torch.nn.functional.pad(mask, (extra, 0), value=0))


@torch.inference_mode()
def timed_generate(model, ids, mask, new_tokens: int, static: bool) -> float:
    _sync()
    start = time.perf_counter()
    model.generate(input_ids=ids, attention_mask=mask, do_sample=False, max_new_tokens=new_tokens,
                   min_new_tokens=new_tokens, pad_token_id=model.config.pad_token_id,
                   cache_implementation="static" if static else None)
    _sync()
    return time.perf_counter() - start


def measure(model, ids, mask, new_tokens: int, static: bool, repeats: int) -> dict:
    """First call (includes any compilation), then prefill-only and full calls; the decode
    step is (full - prefill) / (new_tokens - 1)."""
    first = timed_generate(model, ids, mask, new_tokens, static)
    prefill = min(timed_generate(model, ids, mask, 1, static) for _ in range(repeats))
    full = min(timed_generate(model, ids, mask, new_tokens, static) for _ in range(repeats))
    step = (full - prefill) / (new_tokens - 1)
    return {"first_call_s": first, "compile_and_warmup_s": max(0.0, first - full),
            "prefill_s": prefill, "decode_step_ms": step * 1e3,
            "new_tokens_per_s": ids.shape[0] * new_tokens / full, "wall_s": full}


@torch.inference_mode()
def profile_decode_step(model, ids, mask) -> dict:
    """Where one plain decode step's time goes: operators and GPU kernels launched, time the
    GPU spent in kernels, and the share of the step's wall time it spent idle (launch and
    Python overhead, which CUDA graphs remove)."""
    from torch.profiler import ProfilerActivity, profile  # noqa: PLC0415

    prefill = model(input_ids=ids, attention_mask=mask, use_cache=True)
    next_ids = prefill.logits[:, -1:].argmax(-1)
    mask = torch.cat([mask, torch.ones_like(next_ids)], dim=1)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
    with profile(activities=activities) as prof:
        _sync()
        start = time.perf_counter()
        model(input_ids=next_ids, attention_mask=mask, past_key_values=prefill.past_key_values,
              use_cache=True)
        _sync()
        wall_ms = (time.perf_counter() - start) * 1e3
    events = prof.events()
    kernels = [e for e in events if e.device_type.name == "CUDA"]
    kernel_ms = sum(e.device_time_total for e in kernels) / 1e3
    return {"profiled_step_ms": wall_ms, "cpu_ops": sum(e.device_type.name == "CPU" for e in events),
            "cuda_kernels": len(kernels), "kernel_ms": kernel_ms,
            "gpu_idle_share": 1 - kernel_ms / wall_ms if kernels else None}


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--prompt-tokens", type=int, default=700)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--bandwidth-tbs", type=float, default=4.3)
    parser.add_argument("--profile", action="store_true", help="profile one plain decode step")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/generate_speed.json"))
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    dtype = torch.bfloat16 if cuda else torch.float32
    name = torch.cuda.get_device_name() if cuda else "cpu"
    results = []
    for key in args.models:
        config = REAL[key] if args.shape == "real" else standin_config(key)
        model = random_model(config, device, dtype).eval()
        ids, mask = make_batch(config, args.batch, args.prompt_tokens, seed=0, device=device)
        weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        kv_bytes = (2 * config.num_hidden_layers * config.num_key_value_heads * head_dim
                    * args.batch * (ids.shape[1] + args.new_tokens) * torch.finfo(dtype).bits // 8)
        floor_ms = (weight_bytes + kv_bytes) / (args.bandwidth_tbs * 1e12) * 1e3
        if args.profile:
            profiled = {"model": key, "device": name, **profile_decode_step(model, ids, mask)}
            results.append(profiled)
            print(json.dumps(profiled), flush=True)
        static_ids, static_mask = pad_left(ids, mask, config.pad_token_id)
        for path, (i, m, static) in {"generate": (ids, mask, False),
                                     "static_cache": (static_ids, static_mask, True)}.items():
            result = {"model": key, "shape": args.shape, "device": name, "path": path,
                      "batch": args.batch, "prompt_tokens": int(m.sum(1).float().mean()),
                      "new_tokens": args.new_tokens, "decode_floor_ms": floor_ms,
                      **measure(model, i, m, args.new_tokens, static, args.repeats)}
            results.append(result)
            print(json.dumps(result), flush=True)
        del model
        if cuda:
            torch.cuda.empty_cache()
    print(f"\n{'model':<12} {'path':<13} {'new tok/s':>10} {'step ms':>8} {'floor ms':>9} "
          f"{'prefill s':>9} {'compile s':>9} {'x generate':>10}   ({name}, batch {args.batch})")
    for r in (r for r in results if "path" in r):
        base = next(b for b in results if b["model"] == r["model"] and b.get("path") == "generate")
        print(f"{r['model']:<12} {r['path']:<13} {r['new_tokens_per_s']:>10,.0f} "
              f"{r['decode_step_ms']:>8.1f} {r['decode_floor_ms']:>9.1f} {r['prefill_s']:>9.2f} "
              f"{r['compile_and_warmup_s']:>9.1f} "
              f"{r['new_tokens_per_s'] / base['new_tokens_per_s']:>10.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
