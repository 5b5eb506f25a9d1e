"""What folding LoRA into bf16 weights costs: the adapter's change that rounding removes, and
the greedy tokens it changes, against the unmerged adapter and a float32 reference.

    python -m benchmarks.merge_precision                 # the pipeline's tuned models (after dvc repro)
    python -m benchmarks.merge_precision --shape real    # GPU: real shapes, random weights and LoRA

For each adapted linear layer it reports the share of the update that bf16 rounding of the
merged weights removes (toolcall/merging.py: 0 exact, 1 lost, above 1 worse than leaving the
update out); unmerged, PEFT adds the update to the layer's output, where no such rounding of
the weights happens.

With the pipeline's models it also generates every test turn greedily four ways (float32
unmerged: the reference; bf16 unmerged; bf16 merged; float32 merged) through the generate
stage's own code, and counts the turns whose tokens equal the reference. evaluate.merge_adapter
and export.merge were chosen from these numbers (README, "Merged or not").
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch

from toolcall.evaluation import generate_token_batches, load_tokenizer
from toolcall.families import get_family
from toolcall.io import read_jsonl
from toolcall.layout import TEST_SPLIT, adapter_dir, weights_dir
from toolcall.merging import lora_deltas, update_error
from toolcall.params import load_params
from toolcall.turns import build_samples


def load(base: Path, adapter: Path, dtype: torch.dtype, merge: bool, device: str):
    from peft import PeftModel  # noqa: PLC0415
    from transformers import AutoModelForCausalLM  # noqa: PLC0415

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base, dtype=dtype), adapter)
    return (model.merge_and_unload() if merge else model).to(device).eval()


def pipeline_model(key: str, device: str) -> dict:
    params = load_params()
    family = get_family(params.model(key).family)
    base, adapter = weights_dir(key), adapter_dir(key)
    tokenizer = load_tokenizer(base, adapter)
    stop_ids = tokenizer.convert_tokens_to_ids(family.stop_tokens)
    prompts = [tokenizer(s["prompt"], add_special_tokens=False)["input_ids"]
               for s in build_samples(read_jsonl(TEST_SPLIT), family)]
    prompts = [p for p in prompts if len(p) <= params.evaluate.max_prompt_tokens]

    def tokens(dtype: torch.dtype, merge: bool) -> list[list[int]]:
        model = load(base, adapter, dtype, merge, device)
        done = dict((i, t) for i, t, _ in generate_token_batches(
            model, prompts, tokenizer.pad_token_id, stop_ids, params.evaluate.max_new_tokens,
            params.evaluate.batch_size))
        return [done[i] for i in range(len(prompts))]

    unmerged = load(base, adapter, torch.float32, False, device)
    shares = [update_error(w, d, torch.bfloat16) for w, d in lora_deltas(unmerged).values()]
    reference = tokens(torch.float32, merge=False)
    same = {}
    for name, dtype, merge in (("bf16 unmerged", torch.bfloat16, False),
                               ("bf16 merged", torch.bfloat16, True),
                               ("fp32 merged", torch.float32, True)):
        got = tokens(dtype, merge)
        same[name] = sum(a == b for a, b in zip(got, reference, strict=True)) / len(reference)
    return {"model": key, "turns": len(reference), "lora_layers": len(shares),
            "update_error_median": statistics.median(shares), "update_error_max": max(shares),
            "turns_equal_to_fp32_unmerged": same}


def output_error(weight: torch.Tensor, delta: torch.Tensor, inputs: torch.Tensor) -> float:
    """Relative error of the update's effect on the outputs `inputs @ W.T` once merged in bf16."""
    kept = (weight.float() + delta).to(torch.bfloat16).float() - weight.to(torch.bfloat16).float()
    return ((inputs @ (kept - delta).T).norm() / (inputs @ delta.T).norm()).item()


def real_shapes(device: str, scale: float) -> dict:
    """Random weights of the real shapes and a random rank-16 update of `scale` times the
    weights' typical size: the share of the update that bf16 rounding destroys per weight, and
    of its effect on outputs, for random inputs and for inputs along the directions the
    update reads (the row space of LoRA's A), where it adds up coherently (no generation)."""
    from benchmarks.shapes import real_config  # noqa: PLC0415

    out = {}
    for key in load_params().models:
        config = real_config(key)
        hidden, inner = config.hidden_size, config.intermediate_size
        errors = {}
        for name, (rows, cols) in {"q_proj": (hidden, hidden), "down_proj": (hidden, inner)}.items():
            weight = torch.randn(rows, cols, device=device) * 0.02
            b = torch.randn(rows, 16, device=device)
            a = torch.randn(16, cols, device=device)
            delta = b @ a
            delta *= scale * weight.abs().mean() / delta.abs().mean()
            random_inputs = torch.randn(64, cols, device=device)
            read_inputs = torch.randn(64, 16, device=device) @ a
            errors[name] = {"weights": update_error(weight, delta, torch.bfloat16),
                            "outputs_random_inputs": output_error(weight, delta, random_inputs),
                            "outputs_inputs_the_update_reads": output_error(weight, delta, read_inputs)}
        out[key] = errors
    return {"update_to_weight_ratio": scale, "update_error": out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", choices=["pipeline", "real"], default="pipeline")
    parser.add_argument("--models", nargs="*", help="model keys (default: every model in params.yaml)")
    parser.add_argument("--out", type=Path, help="also write the results here as JSON")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.shape == "real":
        results = [real_shapes(device, scale) for scale in (0.001, 0.01, 0.1)]
    else:
        results = [pipeline_model(key, device) for key in args.models or load_params().models]
    for result in results:
        print(json.dumps(result, ensure_ascii=False))
    if args.out:
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
