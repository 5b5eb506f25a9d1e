"""Generation for evaluation: a model loaded for inference, exactly greedy batched
generation cut at the family's stop tokens, and the resume state of an interrupted run.
(The samples come from toolcall.turns; scoring is toolcall.metrics.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import torch
from tqdm import tqdm
from transformers import DynamicCache, GenerationConfig

from toolcall.turns import turn_key


def cut_at_stop(token_ids: list[int], stop_ids: set[int]) -> tuple[list[int], int | None]:
    """Tokens before the first stop token, and that stop token (None: none was produced)."""
    for i, token_id in enumerate(token_ids):
        if token_id in stop_ids:
            return token_ids[:i], token_id
    return token_ids, None


STATIC_WIDTH_STEP = 128  # static-cache prompts are padded to a multiple: fewer shapes to compile


def static_width(width: int) -> int:
    """A batch's padded width on the static-cache path: the next multiple of STATIC_WIDTH_STEP."""
    return -(-width // STATIC_WIDTH_STEP) * STATIC_WIDTH_STEP


def load_causal_lm(base: str | Path, adapter: str | Path | None, device_map: str | None,
                   merge: bool = False):
    """Base weights (bf16 on a GPU, float32 on a CPU) with the LoRA adapter applied, for
    inference: the one loader of the generate stage, chat and export.

    merge: fold the adapter into the base weights (what export and LLaMA-Factory's
    inference do). An unmerged LoRA adds two small matmuls to every adapted linear layer,
    kernels that dominate a decode step, which is launch-bound, not compute-bound."""
    from transformers import AutoModelForCausalLM  # noqa: PLC0415

    dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype, device_map=device_map)
    if adapter is not None:
        from peft import PeftModel  # noqa: PLC0415

        model = PeftModel.from_pretrained(model, adapter)
        if merge:
            model = model.merge_and_unload()
    return model.eval()


def load_tokenizer(base: str | Path, adapter: str | Path | None):
    """The training tokenizer (with the project's chat template): the one saved next to the
    adapter, else the base's. Left padding, as batched generation needs."""
    from transformers import AutoTokenizer  # noqa: PLC0415

    tokenizer = AutoTokenizer.from_pretrained(adapter or base)
    tokenizer.padding_side = "left"
    return tokenizer


def greedy_config(max_new_tokens: int, stop_ids: list[int], pad_id: int,
                  **cache: object) -> GenerationConfig:
    """Exactly greedy decoding that stops at the family's turn-ending tokens, with every
    setting that could change greedy tokens stated. `use_greedy` makes it the model's own
    generation config too: transformers fills each setting left unset from the checkpoint's
    generation_config.json (Qwen2.5-7B-Instruct ships repetition_penalty 1.05 and sampling
    settings), so nothing of that file may remain."""
    return GenerationConfig(do_sample=False, num_beams=1, repetition_penalty=1.0,
                            no_repeat_ngram_size=0, max_new_tokens=max_new_tokens,
                            eos_token_id=list(stop_ids), pad_token_id=pad_id, **cache)


def use_greedy(model, config: GenerationConfig) -> GenerationConfig:
    """Make `config` the (in-memory) model's generation config; returns it for `generate`.
    The model's compile settings are kept: they change how fast, not which tokens."""
    config.compile_config = model.generation_config.compile_config
    model.generation_config = config
    return config


def decoding_record(config: GenerationConfig) -> dict:
    """The decoding settings in effect, as evaluation's metadata states them."""
    keys = ["do_sample", "num_beams", "repetition_penalty", "no_repeat_ngram_size",
            "max_new_tokens", "eos_token_id", "pad_token_id"]
    return {"strategy": "greedy", **{k: getattr(config, k) for k in keys}}


def generate_greedy(
    model, tokenizer, prompts: list[str], stop_ids: list[int], max_new_tokens: int,
    batch_size: int, desc: str = "generate", static_cache: bool = False,
) -> Iterator[tuple[int, dict]]:
    """Greedy continuations of `prompts`, yielded batch by batch as (prompt index, result)
    with result = output_record's; so a caller can save each batch at once."""
    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    with tqdm(total=len(prompts), desc=desc, unit="turn") as progress:
        for i, new_tokens, stop_id in generate_token_batches(
                model, encoded, tokenizer.pad_token_id, stop_ids, max_new_tokens, batch_size,
                static_cache):
            yield i, output_record(tokenizer, new_tokens, stop_id)
            progress.update(1)


def output_record(tokenizer, new_tokens: list[int], stop_id: int | None) -> dict:
    """One generation as every backend reports it: text (special tokens kept, the parsers
    need them), token count, whether a stop token ended it and which (GLM-4 ends a call with
    <|observation|> and an answer with <|user|>: the parser needs to know which it was)."""
    return {"text": tokenizer.decode(new_tokens, skip_special_tokens=False),
            "new_tokens": len(new_tokens), "stopped": stop_id is not None,
            "stop_token": None if stop_id is None else tokenizer.convert_ids_to_tokens(stop_id)}


def generate_token_batches(
    model, encoded: list[list[int]], pad: int, stop_ids: list[int], max_new_tokens: int,
    batch_size: int, static_cache: bool = False,
) -> Iterator[tuple[int, list[int], int | None]]:
    """(prompt index, new tokens before the first stop, the stop token's id or None) for
    token-id prompts, one `generate` call per batch: the generate stage's path, also what the
    speed benchmark times. Batches are left-padded, with an attention mask (without one,
    `generate` treats pad ids in the input as real tokens and is far slower).

    A conversation's turns share their prefill: each turn's prompt is the previous turn's
    prompt plus its gold answer, so the KV cache of a shorter prompt is the first rows of
    the longest one's (causal attention: a token's keys and values depend only on the tokens
    before it). The longest prompt of each group is prefilled once and every prompt of the
    group decodes from a cut of its cache; batches hold whole groups, shortest first, so only
    the caches of the groups in flight are kept. On the SmolLM2 experiment's test split
    this skips 63% of the prompt tokens (benchmarks/prefix_sharing.py).

    static_cache: a preallocated KV cache, which transformers compiles the decode step for
    on a GPU (CUDA graphs), without prefix sharing; see whole_prefill_batches.
    """
    if static_cache:
        yield from whole_prefill_batches(model, encoded, pad, stop_ids, max_new_tokens,
                                         batch_size, static_cache=True)
        return
    config = use_greedy(model, greedy_config(max_new_tokens, stop_ids, pad))
    stop_set = set(stop_ids)
    roots = prefix_roots(encoded)
    groups: dict[int, list[int]] = {}
    for i in sorted(range(len(encoded)), key=lambda i: len(encoded[i])):
        groups.setdefault(roots[i], []).append(i)
    order = [i for root in sorted(groups, key=lambda r: len(encoded[r])) for i in groups[root]]
    left = {root: len(rows) for root, rows in groups.items()}
    prefilled: dict[int, list[tuple[torch.Tensor, torch.Tensor]]] = {}
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        width = max(len(encoded[i]) for i in batch)
        with torch.inference_mode():
            for root in dict.fromkeys(roots[i] for i in batch):
                if root not in prefilled:
                    prefilled[root] = prefill(model, encoded[root])
            cache = batch_cache(model, [prefilled[roots[i]] for i in batch],
                                [len(encoded[i]) - 1 for i in batch], width - 1)
            input_ids, attention_mask = left_pad([encoded[i] for i in batch], width, pad, model.device)
            # generate runs only the tokens the cache lacks: each row's last prompt token
            output = model.generate(input_ids=input_ids, attention_mask=attention_mask,
                                    cache=cache, generation_config=config)
        for i in batch:
            left[roots[i]] -= 1
            if not left[roots[i]]:
                del prefilled[roots[i]]
        for row, i in enumerate(batch):
            yield i, *cut_at_stop(output[row, width:].tolist(), stop_set)


def prefix_roots(encoded: list[list[int]]) -> list[int]:
    """For each prompt, the index of the longest prompt it is a prefix of (its own index when
    none is). In sorted order a prompt's extensions follow it directly, so one pass from
    the end finds them."""
    order = sorted(range(len(encoded)), key=lambda i: encoded[i])
    roots = list(range(len(encoded)))
    for shorter, longer in zip(reversed(order[:-1]), reversed(order[1:]), strict=True):
        prompt = encoded[shorter]
        if encoded[longer][:len(prompt)] == prompt:
            roots[shorter] = roots[longer]
    return roots


def prefill(model, prompt: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """One prompt's KV cache, (keys, values) per layer, each (1, kv heads, tokens, head dim)."""
    output = model(input_ids=torch.tensor([prompt], device=model.device), use_cache=True,
                   logits_to_keep=1)  # the logits are not needed: only the cache
    if any(getattr(layer, "is_sliding", False) for layer in output.cache.layers):
        raise ValueError("sliding-window attention keeps only the last tokens' cache, which "
                         "prefix sharing cannot cut; set evaluate.static_cache: true")
    return [(layer.keys, layer.values) for layer in output.cache.layers]


def batch_cache(model, caches: list[list[tuple[torch.Tensor, torch.Tensor]]], lengths: list[int],
                width: int) -> DynamicCache:
    """A batch's KV cache: row r is the first lengths[r] positions of caches[r], left-padded
    with zeros (masked out by the attention mask) to `width`."""
    def rows(tensors: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat([torch.nn.functional.pad(t[:, :, :n], (0, 0, width - n, 0))
                          for t, n in zip(tensors, lengths, strict=True)])

    layers = [(rows([c[layer][0] for c in caches]), rows([c[layer][1] for c in caches]))
              for layer in range(len(caches[0]))]
    return DynamicCache(ddp_cache_data=layers, config=model.config)


def whole_prefill_batches(
    model, encoded: list[list[int]], pad: int, stop_ids: list[int], max_new_tokens: int,
    batch_size: int, static_cache: bool,
) -> Iterator[tuple[int, list[int], int | None]]:
    """generate_token_batches without prefix sharing: batches sorted by prompt length, each
    prefilled whole by `generate` (the path before prefix sharing, which
    benchmarks/prefix_sharing.py times against it).

    static_cache: the compiled step is specialised to the cache's shape, so every batch of the
    call gets the same one: rows = batch_size (a short last batch is filled with copies of its
    last prompt, whose outputs are dropped) and max_cache_len = the longest prompt, padded to
    a multiple of STATIC_WIDTH_STEP, + max_new_tokens. Otherwise each longer batch would grow
    the cache and compile again."""
    if not encoded:
        return
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    stop_set = set(stop_ids)
    static = {}
    if static_cache:
        static = {"cache_implementation": "static",
                  "max_cache_len": static_width(max(map(len, encoded))) + max_new_tokens}
    config = use_greedy(model, greedy_config(max_new_tokens, stop_ids, pad, **static))
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        width, rows = max(len(encoded[i]) for i in batch), batch
        if static_cache:
            width = static_width(width)
            rows = batch + [batch[-1]] * (min(batch_size, len(encoded)) - len(batch))
        input_ids, attention_mask = left_pad([encoded[i] for i in rows], width, pad, model.device)
        with torch.inference_mode():
            output = model.generate(input_ids=input_ids, attention_mask=attention_mask,
                                    generation_config=config)
        for row, i in enumerate(batch):
            yield i, *cut_at_stop(output[row, width:].tolist(), stop_set)


def left_pad(prompts: list[list[int]], width: int, pad: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Token-id prompts right-aligned in `width` columns: (input_ids, attention_mask)."""
    input_ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=device)
    attention_mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts],
                                  device=device)
    return input_ids, attention_mask


# ----------------------------------------------------------------------------- resume
# Finished turns are appended to a progress file as they come, after a first line that
# fingerprints what produced them (weights, data, decoding). A rerun with the same
# fingerprint skips those turns; a different fingerprint starts over.


def _written_by(lines: list[str], fingerprint: str) -> bool:
    return bool(lines) and json.loads(lines[0]).get("fingerprint") == fingerprint


def load_progress(path: Path, fingerprint: str) -> dict[tuple[str, int], dict]:
    """Finished turns from an interrupted run with the same fingerprint ({} otherwise)."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    if not _written_by(lines, fingerprint):
        return {}
    done = {}
    for line in lines[1:]:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:  # the line being written when the run was killed
            continue
        done[turn_key(record)] = record
    return done


def open_progress(path: Path, fingerprint: str) -> TextIO:
    """The progress file open for appending; started afresh (fingerprint line first) when
    missing or written by another run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = path.read_text(encoding="utf-8").splitlines()[:1] if path.exists() else []
    if _written_by(lines, fingerprint):
        return path.open("a", encoding="utf-8")
    f = path.open("w", encoding="utf-8")
    f.write(json.dumps({"fingerprint": fingerprint}) + "\n")
    f.flush()
    return f
