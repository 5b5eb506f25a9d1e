"""Merging rounds the LoRA update to the weights' dtype; the figures must match bf16's own
arithmetic (8 bits of significand: steps of 2**-7 between 1 and 2)."""

import pytest
import torch
from peft import LoraConfig, get_peft_model

from toolcall.merging import merge_rounding, update_error

ONES = torch.ones(4, 4)


@pytest.mark.parametrize(("step", "lost"), [
    (2**-6, 0.0),    # two bf16 steps above 1: carried exactly
    (2**-9, 1.0),    # a quarter step: below half a step, gone
    (3 * 2**-9, 1 / 3),  # three quarters of a step: rounded up to one whole step
])
def test_update_error_is_bf16_arithmetic(step, lost):
    assert update_error(ONES, torch.full((4, 4), step), torch.bfloat16) == pytest.approx(lost)


def test_float32_carries_what_bf16_loses():
    assert update_error(ONES, torch.full((4, 4), 2**-9), torch.float32) == 0.0


def _lora_model(dtype: torch.dtype, update: float) -> torch.nn.Module:
    """One linear layer of ones with a rank-1 LoRA whose update is `update` everywhere."""
    base = torch.nn.Sequential(torch.nn.Linear(8, 8, bias=False))
    torch.nn.init.ones_(base[0].weight)
    model = get_peft_model(base, LoraConfig(r=1, lora_alpha=1, target_modules=["0"]))
    layer = model.base_model.model[0]
    torch.nn.init.ones_(layer.lora_A["default"].weight)
    torch.nn.init.constant_(layer.lora_B["default"].weight, update)
    return model.to(dtype)


def test_merge_rounding_measures_the_merge_in_the_weights_dtype():
    assert merge_rounding(_lora_model(torch.bfloat16, 2**-9)) == {
        "dtype": "bfloat16", "lora_layers": 1, "update_lost_median": 1.0, "update_lost_max": 1.0}
    exact = merge_rounding(_lora_model(torch.float32, 2**-9))
    assert exact["dtype"] == "float32" and exact["update_lost_max"] == 0.0
    # what merge_and_unload really does agrees: the bf16 merge leaves the weights at 1
    merged = _lora_model(torch.bfloat16, 2**-9).merge_and_unload()
    assert torch.equal(merged[0].weight, torch.ones(8, 8, dtype=torch.bfloat16))


def test_an_untrained_adapter_has_nothing_to_round():
    assert merge_rounding(_lora_model(torch.bfloat16, 0.0)) == {"lora_layers": 0}
