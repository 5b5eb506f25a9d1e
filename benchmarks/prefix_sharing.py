"""How much prefill prefix reuse could save in the generate stage: the share of prompt tokens
that an earlier prompt already holds.

    python -m benchmarks.prefix_sharing --model glm4-9b
    python -m benchmarks.prefix_sharing --model qwen2_5-7b --split other/test.jsonl

Every assistant turn of the test split is one prompt: the tools and the gold history
before it. Two kinds of reuse, counted in tokens of the model's tokenizer:
  conversation  the KV cache of a conversation's previous turn is reused (its prompt is
                a token prefix of this one)
  radix tree    any earlier prompt's cache is reused (vLLM's prefix caching, SGLang's
                radix attention): tokens computed = sum of lengths - the common prefixes of
                neighbours in sorted order
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from toolcall.families import get_family
from toolcall.io import read_jsonl
from toolcall.layout import TEST_SPLIT, weights_dir
from toolcall.params import load_params
from toolcall.turns import build_samples


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def reusable_tokens(prompts: list[list[int]], conversation_ids: list[str]) -> dict:
    """Prompt tokens in all, and how many each kind of reuse need not compute."""
    previous: dict[str, list[int]] = {}
    conversation = 0
    for ids, conversation_id in zip(prompts, conversation_ids, strict=True):
        before = previous.get(conversation_id)
        if before is not None and ids[:len(before)] == before:
            conversation += len(before)
        previous[conversation_id] = ids
    ordered = sorted(prompts)
    radix = sum(common_prefix(a, b) for a, b in zip(ordered, ordered[1:], strict=False))
    total = sum(map(len, prompts))
    return {"prompts": len(prompts), "prompt_tokens": total,
            "conversation_reuse_tokens": conversation, "conversation_reuse_share": conversation / total,
            "radix_reuse_tokens": radix, "radix_reuse_share": radix / total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a models key of params.yaml")
    parser.add_argument("--split", type=Path, default=TEST_SPLIT)
    args = parser.parse_args()
    from transformers import AutoTokenizer  # noqa: PLC0415

    family = get_family(load_params().model(args.model).family)
    tokenizer = AutoTokenizer.from_pretrained(weights_dir(args.model, "base"))
    samples = build_samples(read_jsonl(args.split), family)  # in turn order per conversation
    prompts = [tokenizer(s["prompt"], add_special_tokens=False)["input_ids"] for s in samples]
    result = {"model": args.model, "split": str(args.split),
              **reusable_tokens(prompts, [s["conversation_id"] for s in samples])}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
