"""CPU attention per document, as toolcall.attention.sdpa_per_document runs it for the
stand-ins' packed rows (each document a batch of one, 4-D, which takes SDPA's flash kernel),
against the same SDPA call on 3-D inputs (heads, length, head_dim), which falls back to the
math path. Forward and backward, side by side, at the stand-ins' head shape.

    python -m benchmarks.attention_speed            # on the CPU that runs the stand-ins
"""

from __future__ import annotations

import argparse
import time

import torch

from toolcall.attention import sdpa_per_document


def attend(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, four_d: bool) -> torch.Tensor:
    """Causal attention of one (length, heads, head_dim) document: the stage's own path
    (4-D), or the same SDPA call on 3-D inputs."""
    if four_d:
        bounds = torch.tensor([0, len(query)], dtype=torch.int32)
        return sdpa_per_document(query, key, value, bounds, len(query), None)
    return torch.nn.functional.scaled_dot_product_attention(
        *(t.transpose(0, 1) for t in (query, key, value)), is_causal=True,
        enable_gqa=True).transpose(0, 1)


def seconds_per_call(length: int, heads: int, head_dim: int, four_d: bool, repeats: int) -> float:
    torch.manual_seed(0)
    tensors = [torch.randn(length, heads, head_dim, requires_grad=True) for _ in range(3)]
    attend(*tensors, four_d).sum().backward()  # warm-up
    started = time.perf_counter()
    for _ in range(repeats):
        attend(*tensors, four_d).sum().backward()
    return (time.perf_counter() - started) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[200, 500, 900])
    parser.add_argument("--heads", type=int, default=8)       # params.yaml standin
    parser.add_argument("--head-dim", type=int, default=24)   # hidden_size 192 / 8 heads
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    print(f"| document tokens | 3-D ms | 4-D ms | speed-up |  ({torch.get_num_threads()} threads)")
    print("|---|---|---|---|")
    for length in args.lengths:
        three, four = (seconds_per_call(length, args.heads, args.head_dim, four_d, args.repeats)
                       for four_d in (False, True))
        print(f"| {length} | {three * 1e3:.1f} | {four * 1e3:.1f} | {three / four:.1f}x |")


if __name__ == "__main__":
    main()
