"""Training speed: the tutorial's setting against finetune's default and the levers tried,
side by side in one run.

    python -m benchmarks.train_speed                              # GPU: real shapes
    python -m benchmarks.train_speed --variants tutorial default  # a subset
    python -m benchmarks.train_speed --shape standin              # CPU: shows it runs

Every setting goes through finetune's own code path (toolcall.training: TRL SFTTrainer,
its collator and packing, PEFT LoRA, train.attn_implementation), on random weights of the
real shapes and synthetic conversations with glaive-like lengths; nothing is downloaded.
Each runs --warmup steps, then --steps timed steps. The settings (see `variants`):

  tutorial        batch 1, rows truncated at 512 tokens, LoRA r8 on q/k/v, no packing
  default         params.yaml's train/lora blocks as a real (hub) run uses them
  r8-qkv          default rows, the tutorial's adapter (the speed side of LoRA targets/rank)
  varlen          default with attn_implementation torch_varlen (flash varlen, no mask)
  varlen-r8-qkv   both
  checkpointing   default with gradient checkpointing (memory against speed)
  length-8192     default with 8192-token packed rows
  liger           default with Liger's kernels (`pip install liger-kernel`; Qwen2 only:
                  liger-kernel 0.8.5 has no patch for GLM-4-9B's model type "glm")

MFU = tokens/s x FLOPs per token / peak, with FLOPs per token = 4 x N + 12 x W x c:
N = parameters in matrix multiplies (linear layers and LM head), counted twice forward
and twice backward (activation gradients; LoRA's frozen weights get no weight gradients);
W = layers x heads x head_dim, c = mean keys attended per query ((len+1)/2 per document),
4 x W x c forward for QK^T and PV, twice that backward. Gradient checkpointing's
recomputation is not counted (model FLOPs, not hardware FLOPs).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import tempfile
import time
from pathlib import Path

import torch
from datasets import Dataset
from transformers import TrainerCallback
from trl import SFTTrainer

from benchmarks.shapes import (
    attention_width,
    benchmark_parser,
    config_for,
    head_dim,
    matmul_params,
    placeholder_tokenizer,
    random_model,
)
from toolcall.params import LoraParams, TrainParams, load_params
from toolcall.training import lora_config, sft_config

NEVER = 10**9  # no evaluation or checkpoint inside a benchmark


def synthetic_rows(n: int, vocab_size: int, max_length: int, seed: int) -> list[dict]:
    """Token rows with glaive-like lengths (median ~550, long tail), about 40% trained."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        length = min(max_length, max(120, int(rng.lognormvariate(6.3, 0.5))))
        ids = [rng.randrange(100, vocab_size) for _ in range(length)]
        trained = int(length * 0.6)
        rows.append({"input_ids": ids, "assistant_masks": [0] * trained + [1] * (length - trained)})
    return rows


def mean_context(lengths: list[int]) -> float:
    return sum(n * (n + 1) / 2 for n in lengths) / sum(lengths)


class StepTimer(TrainerCallback):
    """Wall time and tokens of the steps after the warm-up."""

    def __init__(self, warmup: int):
        self.warmup, self.start, self.end = warmup, None, None

    def on_step_end(self, args, state, control, **kwargs):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        mark = (time.perf_counter(), state.num_input_tokens_seen)
        if state.global_step == self.warmup:
            self.start = mark
        self.end = mark


def run_setting(name: str, config, train: TrainParams, lora: LoraParams, trainer_extra: dict,
                rows: list[dict], steps: int, warmup: int, peak_tflops: float | None) -> dict:
    cuda = torch.cuda.is_available()
    model = random_model(config, "cuda" if cuda else "cpu", torch.bfloat16 if cuda else torch.float32,
                         attn_implementation=train.attn_implementation)
    train = dataclasses.replace(train, max_steps=warmup + steps, eval_steps=NEVER,
                                save_steps=NEVER, logging_steps=NEVER)
    with tempfile.TemporaryDirectory() as folder:
        args = sft_config(train, folder, seed=0, bf16=cuda)
        args.include_num_input_tokens_seen = "non_padding"
        args.disable_tqdm = True
        for option, value in trainer_extra.items():
            setattr(args, option, value)
        timer = StepTimer(warmup)
        trainer = SFTTrainer(model=model, args=args, peft_config=lora_config(lora, []),
                             processing_class=placeholder_tokenizer(config),
                             train_dataset=Dataset.from_list(rows),
                             eval_dataset=Dataset.from_list(rows[:1]), callbacks=[timer])
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        trainer.train()
    seconds = timer.end[0] - timer.start[0]
    tokens = timer.end[1] - timer.start[1]
    lengths = [min(len(r["input_ids"]), train.max_length) for r in rows]
    flops_per_token = 4 * matmul_params(config) + 12 * attention_width(config) * mean_context(lengths)
    result = {
        "setting": name, "tokens_per_s": tokens / seconds, "timed_steps": steps,
        "tokens_per_step": tokens / steps, "flops_per_token": flops_per_token,
        "mfu": tokens / seconds * flops_per_token / (peak_tflops * 1e12) if peak_tflops else None,
        "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None,
        "packing": train.packing, "max_length": train.max_length,
        "batch": train.per_device_train_batch_size, "lora_r": lora.r,
        "lora_targets": lora.target_modules, "attn_implementation": train.attn_implementation,
        "gradient_checkpointing": train.gradient_checkpointing, **trainer_extra,
    }
    del trainer, model
    if cuda:
        torch.cuda.empty_cache()
    return result


QKV = ["q_proj", "k_proj", "v_proj"]


def varlen_kernel_error(config) -> dict:
    """GPU only: torch_varlen's kernel (bf16) against per-document SDPA in float32 on the same
    random packed row (4 documents, 4,096 tokens, this model's heads), output and query
    gradient: the check the `varlen` rows' speed rests on. bf16 noise is ~1e-2."""
    from toolcall.attention import flash_varlen, sdpa_per_document  # noqa: PLC0415

    torch.manual_seed(0)
    lengths = [700, 1500, 300, 1596]
    cu = torch.tensor([0, *itertools.accumulate(lengths)], dtype=torch.int32, device="cuda")
    heads = [config.num_attention_heads, config.num_key_value_heads, config.num_key_value_heads]
    q, k, v = (torch.randn(sum(lengths), h, head_dim(config), device="cuda", dtype=torch.bfloat16,
                           requires_grad=True) for h in heads)
    scale = head_dim(config) ** -0.5
    out = flash_varlen(q, k, v, cu, max(lengths), scale)
    q32, k32, v32 = (t.detach().float().requires_grad_() for t in (q, k, v))
    ref = sdpa_per_document(q32, k32, v32, cu, max(lengths), scale)
    upstream = torch.randn_like(ref)
    (grad_q,) = torch.autograd.grad(out.float(), q, upstream)
    (ref_grad_q,) = torch.autograd.grad(ref, q32, upstream)
    return {"check": "torch_varlen kernel vs per-document SDPA (fp32)",
            "output_max_abs_error": (out.float() - ref).abs().max().item(),
            "grad_q_max_abs_error": (grad_q.float() - ref_grad_q).abs().max().item()}


def liger_supports(model_type: str) -> bool:
    """Whether liger-kernel is installed and patches this model type (0.8.5: qwen2 yes,
    GLM-4-9B's "glm" no); TRL would otherwise train without it and say nothing."""
    try:
        from liger_kernel.transformers.monkey_patch import MODEL_TYPE_TO_APPLY_LIGER_FN  # noqa: PLC0415
    except ImportError:
        return False
    return model_type in MODEL_TYPE_TO_APPLY_LIGER_FN


def variants(train: TrainParams, lora: LoraParams) -> dict[str, tuple[TrainParams, LoraParams, dict]]:
    """Every setting the benchmark knows, built from the default's: (train, lora, extra
    SFTConfig fields). Learning rate and schedule do not change speed and are left alone."""
    tutorial_lora = dataclasses.replace(lora, r=8, alpha=16, target_modules=QKV)
    varlen = dataclasses.replace(train, attn_implementation="torch_varlen")
    return {
        "tutorial": (dataclasses.replace(train, max_length=512, packing=False,
                                         per_device_train_batch_size=1,
                                         gradient_accumulation_steps=1), tutorial_lora, {}),
        "default": (train, lora, {}),
        "r8-qkv": (train, tutorial_lora, {}),
        "varlen": (varlen, lora, {}),
        "varlen-r8-qkv": (varlen, tutorial_lora, {}),
        "checkpointing": (dataclasses.replace(train, gradient_checkpointing=True), lora, {}),
        "length-8192": (dataclasses.replace(train, max_length=8192), lora, {}),
        "liger": (train, lora, {"use_liger_kernel": True}),
    }


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--variants", nargs="+",
                        default=["tutorial", "default", "r8-qkv", "varlen", "varlen-r8-qkv"],
                        help="settings to run, in order; the first one is the baseline")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--peak-tflops", type=float, default=None,
                        help="dense bf16 peak of the card (default: 790 on a GPU, as the "
                             "field-notes baseline; none on a CPU)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/train_speed.json"))
    args = parser.parse_args()
    peak = args.peak_tflops or (790.0 if torch.cuda.is_available() else None)
    params = load_params()
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    results = []
    for key in args.models:
        config = config_for(args.shape, key)
        settings = variants(params.train_for(key, "hub"), params.lora_for(key, "hub"))
        unknown = sorted(set(args.variants) - set(settings))
        if unknown:
            parser.error(f"unknown variant {unknown[0]}: choose from {sorted(settings)}")
        # ~350k tokens: more than 13 steps of two 8192-token rows take (the Trainer loops
        # over them if not); more rows only slow each setting's data preparation
        longest = max(t.max_length for t, _, _ in settings.values())
        rows = synthetic_rows(600, config.vocab_size, longest, seed=0)
        if torch.cuda.is_available() and any(
                settings[name][0].attn_implementation == "torch_varlen" for name in args.variants):
            check = {"model": key, "device": device, **varlen_kernel_error(config)}
            results.append(check)
            print(json.dumps(check), flush=True)
        for name in args.variants:
            if settings[name][2].get("use_liger_kernel") and not liger_supports(config.model_type):
                print(f"{key}: {name} skipped: liger-kernel is not installed or has no kernels "
                      f"for model type {config.model_type!r}", flush=True)
                continue
            result = {"model": key, "shape": args.shape, "device": device,
                      **run_setting(name, config, *settings[name], rows, args.steps, args.warmup, peak)}
            results.append(result)
            print(json.dumps(result), flush=True)
    print(f"\n{'model':<12} {'setting':<14} {'tokens/s':>10} {'MFU':>6} {'peak GiB':>9} "
          f"{'x ' + args.variants[0]:>12}   ({device}, peak {peak} TFLOP/s)")
    timed = [r for r in results if "setting" in r]
    for r in timed:
        base = next(b for b in timed if b["model"] == r["model"] and b["setting"] == args.variants[0])
        mfu = f"{r['mfu']:.1%}" if r["mfu"] is not None else "n/a"
        memory = f"{r['peak_memory_gib']:.1f}" if r["peak_memory_gib"] is not None else "n/a"
        print(f"{r['model']:<12} {r['setting']:<14} {r['tokens_per_s']:>10,.0f} {mfu:>6} "
              f"{memory:>9} {r['tokens_per_s'] / base['tokens_per_s']:>12.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
