"""What folding a LoRA update into the weights rounds away.

A LoRA update is small next to the weight it adds to. In bf16 (8 bits of significand) an
addition below half a unit in the last place of the weight vanishes and a larger one is
rounded to whole units; unmerged, PEFT adds the update to the layer's output instead, where
no such rounding of the weights happens. The export records these figures for the merge it
does (export_check.json); benchmarks/merge_precision.py measures them for any dtype.
"""

from __future__ import annotations

import statistics

import torch


def update_error(weight: torch.Tensor, delta: torch.Tensor, dtype: torch.dtype) -> float:
    """||dtype(W + dW) - dtype(W) - dW|| / ||dW||: 0 when the merged weights carry the update
    exactly, 1 when it is lost, above 1 when rounding moves the weights more than it did."""
    merged = (weight.float() + delta.float()).to(dtype).float()
    kept = merged - weight.to(dtype).float()
    return ((kept - delta.float()).norm() / delta.float().norm()).item()


def lora_deltas(model) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """(base weight, float32 update scale * B @ A) of every LoRA layer of a PEFT model."""
    deltas = {}
    for name, module in model.named_modules():
        if hasattr(module, "lora_A") and "default" in module.lora_A:
            a, b = module.lora_A["default"].weight.float(), module.lora_B["default"].weight.float()
            deltas[name] = (module.base_layer.weight.detach(), module.scaling["default"] * (b @ a))
    return deltas


def merge_rounding(model) -> dict:
    """The share of each layer's update that merging in the weights' own dtype rounds away
    (layers whose update is still zero, as before any training, are left out)."""
    layers = [(weight, delta) for weight, delta in lora_deltas(model).values() if delta.norm() > 0]
    if not layers:
        return {"lora_layers": 0}
    errors = [update_error(weight, delta, weight.dtype) for weight, delta in layers]
    return {"dtype": str(layers[0][0].dtype).removeprefix("torch."), "lora_layers": len(errors),
            "update_lost_median": statistics.median(errors), "update_lost_max": max(errors)}
