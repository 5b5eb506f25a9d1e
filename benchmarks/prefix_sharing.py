"""How much prefill prefix reuse saves in the generate stage: the share of prompt tokens
that an earlier prompt already holds, and (--time) the stage's path, which shares a
conversation's prefill across its turns, against plain batched generation, side by side.

    python -m benchmarks.prefix_sharing --model glm4-9b
    python -m benchmarks.prefix_sharing --model qwen2_5-7b --split other/test.jsonl
    python -m benchmarks.prefix_sharing --model smollm2-135m --time 32   # first 32 turns

Every assistant turn of the test split is one prompt: the tools and the gold history
before it. Two kinds of reuse, counted in tokens of the model's tokenizer:
  conversation  the KV cache of a conversation's previous turn is reused (its prompt is
                a token prefix of this one)
  radix tree    any earlier prompt's cache is reused (vLLM's prefix caching, SGLang's
                radix attention): tokens computed = sum of lengths - the common prefixes of
                neighbours in sorted order
The generate stage reuses the first kind (toolcall.evaluation.generate_token_batches).
--time N generates the first N turns both ways at evaluate.batch_size and
evaluate.max_new_tokens with the model's base weights (params.yaml), checks the tokens are
the same, and prints both times and their ratio. The plain way is what the stage did before:
batches of prompts sorted by length, each prefilled whole by `generate`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from toolcall.evaluation import (
    generate_token_batches,
    load_causal_lm,
    load_tokenizer,
    whole_prefill_batches,
)
from toolcall.families import get_family
from toolcall.io import read_jsonl
from toolcall.layout import TEST_SPLIT, weights_dir
from toolcall.params import EvaluateParams, load_params
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


def time_both(base: Path, encoded: list[list[int]], stop_ids: list[int], pad: int,
              settings: EvaluateParams) -> dict:
    """Seconds of the plain way and the stage's way on the same prompts, same model."""
    model = load_causal_lm(base, None, None)
    started = time.perf_counter()
    plain = {i: new for i, new, _ in whole_prefill_batches(
        model, encoded, pad, stop_ids, settings.max_new_tokens, settings.batch_size,
        static_cache=False)}
    plain_s = time.perf_counter() - started
    started = time.perf_counter()
    shared = {i: new for i, new, _ in generate_token_batches(
        model, encoded, pad, stop_ids, settings.max_new_tokens, settings.batch_size)}
    shared_s = time.perf_counter() - started
    return {"turns": len(encoded), "plain_s": round(plain_s, 1), "shared_s": round(shared_s, 1),
            "speedup": round(plain_s / shared_s, 2),
            "different_outputs": sum(plain[i] != shared[i] for i in plain)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a models key of params.yaml")
    parser.add_argument("--split", type=Path, default=TEST_SPLIT)
    parser.add_argument("--time", type=int, metavar="N",
                        help="also time the first N turns both ways (see above)")
    args = parser.parse_args()
    params = load_params()
    family = get_family(params.model(args.model).family)
    base = weights_dir(args.model, "base")
    tokenizer = load_tokenizer(base, None)
    samples = build_samples(read_jsonl(args.split), family)  # in turn order per conversation
    prompts = [tokenizer(s["prompt"], add_special_tokens=False)["input_ids"] for s in samples]
    result = {"model": args.model, "split": str(args.split),
              **reusable_tokens(prompts, [s["conversation_id"] for s in samples])}
    if args.time:
        stop_ids = tokenizer.convert_tokens_to_ids(family.stop_tokens)
        result.update(time_both(base, prompts[:args.time], stop_ids, tokenizer.pad_token_id,
                                params.evaluate))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
