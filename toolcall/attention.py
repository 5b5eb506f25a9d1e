"""`torch_varlen`: attention over packed rows through the flash-attention varlen kernel that
ships inside PyTorch, for `train.attn_implementation`.

transformers' SDPA path keeps packed documents apart by building a block-diagonal mask
from the position ids, and a mask rules out SDPA's flash kernel. flash_attention_2 needs
the flash-attn package, built from source. This calls PyTorch's own kernel
(`aten._flash_attention_forward`, CUDA, bf16/fp16, with its backward) with the documents'
boundaries instead: no mask is built and no token attends across documents. On a CPU each
document goes through SDPA on its own: the same result, slowly (what the tests run).
"""

from __future__ import annotations

import importlib.util

import torch
from transformers import AttentionInterface
from transformers.masking_utils import AttentionMaskInterface, flash_attention_mask
from transformers.modeling_flash_attention_utils import prepare_fa_kwargs_from_position_ids

TORCH_VARLEN = "torch_varlen"


def require_attention(name: str) -> None:
    """Fail with what to do, before loading a model, when `name` cannot run here."""
    from toolcall.io import PipelineError  # noqa: PLC0415

    if name == "flash_attention_2" and importlib.util.find_spec("flash_attn") is None:
        raise PipelineError("train.attn_implementation = flash_attention_2 needs the flash-attn "
                            "package: `pip install flash-attn --no-build-isolation`, or use "
                            f"{TORCH_VARLEN} (the same kernel inside PyTorch) or sdpa")
    if name == TORCH_VARLEN and torch.cuda.is_available() and torch.cuda.get_device_capability() < (8, 0):
        raise PipelineError(f"train.attn_implementation = {TORCH_VARLEN} needs a GPU of compute "
                            "capability 8.0 or newer (flash attention); use sdpa on this one")


def flash_varlen(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                 cu_seq_lens: torch.Tensor, max_length: int, scale: float | None) -> torch.Tensor:
    """(tokens, heads, head_dim) causal attention within each document, on a GPU; key and
    value may have fewer heads (grouped-query attention)."""
    return torch.ops.aten._flash_attention_forward(
        query, key, value, cu_seq_lens, cu_seq_lens, max_length, max_length, 0.0, True, False,
        scale=scale)[0]


def sdpa_per_document(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                      cu_seq_lens: torch.Tensor, max_length: int, scale: float | None) -> torch.Tensor:
    """The same as flash_varlen, one document at a time through SDPA (any device).

    Each document goes in as a batch of one, (1, heads, length, head_dim): on a CPU, SDPA
    runs its flash kernel only on 4-D inputs and falls back to the math path on 3-D ones,
    forward and backward 1.6x slower at 500 tokens, 2.7x at 900 (benchmarks/attention_speed.py)."""
    bounds = cu_seq_lens.tolist()
    pieces = [
        torch.nn.functional.scaled_dot_product_attention(
            *(t[start:end].transpose(0, 1).unsqueeze(0) for t in (query, key, value)),
            is_causal=True, scale=scale, enable_gqa=True)[0].transpose(0, 1)
        for start, end in zip(bounds[:-1], bounds[1:], strict=True)]
    return torch.cat(pieces)


def varlen_attention_forward(module, query, key, value, attention_mask, scaling=None, dropout=0.0,
                             position_ids=None, cu_seq_lens_q=None, max_length_q=None, **kwargs):
    """transformers' attention-function interface: (batch, heads, length, head_dim) in,
    (batch, length, heads, head_dim) out. Document boundaries come from TRL's padding-free
    collator (cu_seq_lens_q), else from where the position ids restart, else each row is
    one document."""
    if attention_mask is not None:
        raise ValueError(f"attn_implementation {TORCH_VARLEN!r} takes packed rows without padding "
                         "(train.packing: true); this batch has a padding mask: use sdpa")
    if dropout:
        raise ValueError(f"attn_implementation {TORCH_VARLEN!r} has no attention dropout")
    batch, heads, length, head_dim = query.shape
    if cu_seq_lens_q is None:
        if position_ids is None:
            position_ids = torch.arange(length, device=query.device).expand(batch, length)
        (cu_seq_lens_q, _), (max_length_q, _) = prepare_fa_kwargs_from_position_ids(position_ids)
    attend = flash_varlen if query.is_cuda else sdpa_per_document
    output = attend(*(t.transpose(1, 2).reshape(batch * length, t.shape[1], head_dim)
                      for t in (query, key, value)),
                    cu_seq_lens_q.to(query.device, torch.int32), int(max_length_q), scaling)
    return output.view(batch, length, heads, head_dim), None


# Registered on import: `attn_implementation="torch_varlen"` then works in from_pretrained.
# Its mask function builds no mask for unpadded rows (the flash-attention one).
AttentionInterface.register(TORCH_VARLEN, varlen_attention_forward)
AttentionMaskInterface.register(TORCH_VARLEN, flash_attention_mask)
