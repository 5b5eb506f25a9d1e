"""evaluate-toolcall: generate every assistant turn of the test split and score it.

Evaluates the untrained base and the fine-tuned adapter (and, with --variants chat, the
model's untrained chat reference) with the same code. For each variant writes
metrics/models/<model>/<variant>.json (flat numbers), <variant>.meta.json (model, adapter,
template, data hash, decoding settings) and <variant>.turns.jsonl (prompt size, raw output,
parse, gold, verdict, error type per turn).

Finished turns are also appended to models/<model>/progress/<variant>.rank<r>.jsonl as
they come: a rerun after an interruption generates only the turns that are missing. With
distributed.num_processes > 1 each process generates its share of the turns and the
main process merges them into the same files a single process writes.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import torch

from toolcall.distributed import local_device_map, relaunch_if_needed, shard, world
from toolcall.evaluation import (
    build_samples,
    decoding_record,
    generate_greedy,
    greedy_config,
    load_causal_lm,
    load_progress,
    load_tokenizer,
    open_progress,
    turn_key,
)
from toolcall.io import PipelineError, fingerprint, log, read_jsonl, run_stage, write_json, write_jsonl
from toolcall.layout import TEST_SPLIT, adapter_dir, progress_file, progress_files, results_dir, weights_dir
from toolcall.metrics import HEADLINE, aggregate, bootstrap_intervals, score_turn
from toolcall.params import EvaluateParams, Params, load_params
from toolcall.templates import Family, get_family
from toolcall.tracking import log_evaluation
from toolcall.vllm_backend import generate_vllm

Generate = Callable[[list[str]], Iterator[tuple[int, dict]]]


def generator(settings: EvaluateParams, base_dir: Path, adapter: Path | None, tokenizer,
              stop_ids: list[int], seed: int, desc: str) -> Generate:
    """prompts -> (index, output) pairs through the configured backend."""
    if settings.backend == "vllm":
        return partial(generate_vllm, base_dir, adapter, tokenizer, stop_ids=stop_ids,
                       max_new_tokens=settings.max_new_tokens,
                       max_model_len=settings.max_prompt_tokens + settings.max_new_tokens, seed=seed)
    model = load_causal_lm(base_dir, adapter, local_device_map(), merge=settings.merge_adapter)
    return partial(generate_greedy, model, tokenizer, stop_ids=stop_ids,
                   max_new_tokens=settings.max_new_tokens, batch_size=settings.batch_size,
                   desc=desc, static_cache=settings.static_cache)


def generate_share(generate: Generate, family: Family, samples: list[dict],
                   prompt_tokens: list[int], kept: list[int], desc: str, progress: list[Path],
                   own: Path, run_fingerprint: str, rank: int = 0, world_size: int = 1,
                   barrier: Callable[[], None] = lambda: None) -> None:
    """Generate, parse and score this process's share of the kept turns that no progress
    file holds yet, appending each to `own`."""
    done = finished_turns(progress, run_fingerprint)
    barrier()  # every process has read the same finished turns before any writes more
    todo = [i for i in kept if turn_key(samples[i]) not in done]
    todo = shard(sorted(todo, key=lambda i: prompt_tokens[i]), rank, world_size)
    if done:
        log.info("%s: %d turns already done by an interrupted run, %d to go here", desc,
                 len(done), len(todo))
    with open_progress(own, run_fingerprint) as saved:
        for j, output in generate([samples[i]["prompt"] for i in todo]):
            sample = samples[todo[j]]
            parsed = family.parse(output["text"], sample["tools"])
            record = {
                "conversation_id": sample["conversation_id"], "turn_index": sample["turn_index"],
                "prompt_tokens": prompt_tokens[todo[j]], "new_tokens": output["new_tokens"],
                "hit_token_limit": not output["stopped"], "output": output["text"],
                "parsed": parsed.as_dict(), "gold": sample["gold"], **score_turn(sample, parsed),
            }
            saved.write(json.dumps(record, ensure_ascii=False) + "\n")
            saved.flush()


def prompts_within_limit(tokenizer, samples: list[dict],
                         settings: EvaluateParams) -> tuple[list[int], list[int]]:
    """(prompt length of every sample, indices of those within max_prompt_tokens): longer
    prompts are excluded and counted, never truncated."""
    lengths = [len(tokenizer(s["prompt"], add_special_tokens=False)["input_ids"]) for s in samples]
    return lengths, [i for i, n in enumerate(lengths) if n <= settings.max_prompt_tokens]


def finished_turns(progress: list[Path], run_fingerprint: str) -> dict[tuple[str, int], dict]:
    done = {}
    for path in progress:
        done.update(load_progress(path, run_fingerprint))
    return done


def merge_and_score(samples: list[dict], kept: list[int], settings: EvaluateParams, seed: int,
                    progress: list[Path], run_fingerprint: str) -> tuple[dict, list[dict]]:
    """Every process's finished turns, in sample order, scored: (metrics, records)."""
    done = finished_turns(progress, run_fingerprint)
    missing = [turn_key(samples[i]) for i in kept if turn_key(samples[i]) not in done]
    if missing:
        raise PipelineError(f"{len(missing)} turns have no result (first: {missing[0]}); rerun")
    records = [done[turn_key(samples[i])] for i in kept]
    metrics = aggregate(records)
    metrics.update(bootstrap_intervals(records, settings.bootstrap_samples, seed, HEADLINE))
    metrics["excluded_long_prompts"] = len(samples) - len(kept)
    metrics["hit_token_limit"] = sum(r["hit_token_limit"] for r in records)
    return metrics, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--variants", nargs="+", choices=["base", "tuned", "chat"],
                        default=["base", "tuned"])
    args = parser.parse_args()
    key = args.model
    params = load_params()
    model_params = params.model(key)
    if relaunch_if_needed("stages.evaluate_toolcall", sys.argv[1:],
                          params.distributed.num_processes, params.distributed.accelerate_config):
        return
    rank, world_size = world()
    barrier = lambda: None  # noqa: E731
    if world_size > 1:
        from accelerate import PartialState  # noqa: PLC0415

        barrier = PartialState(cpu=not torch.cuda.is_available()).wait_for_everyone
    family = get_family(model_params.family)
    conversations = read_jsonl(TEST_SPLIT)
    samples = build_samples(conversations, family)
    data_hash = hashlib.sha256(TEST_SPLIT.read_bytes()).hexdigest()[:16]
    for variant in args.variants:
        base_dir = weights_dir(key, variant)
        adapter = adapter_dir(key) if variant == "tuned" else None
        weight_files = sorted(base_dir.glob("*.safetensors")) + sorted(
            adapter.glob("*.safetensors") if adapter else [])
        run_fingerprint = fingerprint(dataclasses.asdict(params.evaluate), [TEST_SPLIT, *weight_files])
        tokenizer = load_tokenizer(base_dir, adapter)
        stop_ids = tokenizer.convert_tokens_to_ids(family.stop_tokens)
        generate = generator(params.evaluate, base_dir, adapter, tokenizer, stop_ids, params.seed,
                             f"{key} {variant}")
        prompt_tokens, kept = prompts_within_limit(tokenizer, samples, params.evaluate)
        generate_share(generate, family, samples, prompt_tokens, kept, f"{key} {variant}",
                       progress_files(key, variant), progress_file(key, variant, rank),
                       run_fingerprint, rank, world_size, barrier)
        barrier()
        if rank == 0:
            decoding = decoding_record(greedy_config(params.evaluate.max_new_tokens, stop_ids,
                                                     tokenizer.pad_token_id))
            write_results(key, variant, params, samples, kept, run_fingerprint,
                          {"base": str(base_dir), "adapter": str(adapter) if adapter else None,
                           "test_split_sha256": data_hash},
                          {**decoding, "stop_tokens": family.stop_tokens,
                           "checkpoint_generation_config_ignored": shipped_generation_config(base_dir),
                           **dataclasses.asdict(params.evaluate)})
        barrier()


def shipped_generation_config(base_dir: Path) -> dict:
    """The checkpoint's generation_config.json, which evaluation deliberately does not apply."""
    path = base_dir / "generation_config.json"
    shipped = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return {k: v for k, v in shipped.items() if k not in ("transformers_version", "_from_model_config")}


def write_results(key: str, variant: str, params: Params, samples: list[dict], kept: list[int],
                  run_fingerprint: str, sources: dict, decoding: dict) -> None:
    """The main process: merge every process's turns, score, write, log."""
    family = get_family(params.model(key).family)
    progress = progress_files(key, variant)
    metrics, records = merge_and_score(samples, kept, params.evaluate, params.seed, progress,
                                       run_fingerprint)
    meta = {
        "model": key, "variant": variant, "weights": params.weights, **sources,
        "family": family.name, "chat_template_sha256": hashlib.sha256(
            family.chat_template.encode()).hexdigest()[:16],
        "test_split": str(TEST_SPLIT),
        "decoding": decoding,
    }
    out_dir = results_dir(key)
    write_json(out_dir / f"{variant}.json", metrics)
    write_jsonl(out_dir / f"{variant}.turns.jsonl", records)
    write_json(out_dir / f"{variant}.meta.json", meta)
    for path in progress:
        path.unlink()
    log.info("evaluate %s %s: %d turns, call_exact_match %s, no_call_accuracy_with_tools "
             "%s, tool_score %s, decision_f1 %s, format_valid %s", key, variant,
             metrics["turns"], *(_fmt(metrics[k]) for k in HEADLINE),
             _fmt(metrics["format_valid_rate"]))
    log_evaluation(key, variant, {**meta, "model_params": dataclasses.asdict(params.model(key))},
                   metrics, [r for r in records if r["error_type"] != "correct"])


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    run_stage(main)
