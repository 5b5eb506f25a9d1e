"""evaluate-toolcall: generate every assistant turn of the test split and score it.

Evaluates the untrained base and the fine-tuned adapter with the same code. For each
variant writes metrics/<model>/<variant>.json (flat numbers), <variant>.meta.json
(model, adapter, template, data hash, decoding settings) and <variant>.turns.jsonl
(prompt size, raw output, parse, gold, verdict, error type per turn).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
from pathlib import Path

from toolcall.evaluation import build_samples, generate_greedy
from toolcall.io import log, read_jsonl, run_stage, write_json, write_jsonl
from toolcall.metrics import HEADLINE, aggregate, bootstrap_intervals, score_turn
from toolcall.params import EvaluateParams, load_params
from toolcall.parsing import PARSERS
from toolcall.templates import Family, get_family

TEST_SPLIT = Path("data/prepared/test.jsonl")


def load_model(base_dir: Path, adapter_dir: Path | None):
    import torch  # noqa: PLC0415
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: PLC0415

    cuda = torch.cuda.is_available()
    model = AutoModelForCausalLM.from_pretrained(
        base_dir, dtype=torch.bfloat16 if cuda else torch.float32,
        device_map="cuda" if cuda else None)
    # The tokenizer (with the chat template) saved next to the adapter is the training one.
    tokenizer = AutoTokenizer.from_pretrained(adapter_dir or base_dir)
    if adapter_dir is not None:
        from peft import PeftModel  # noqa: PLC0415

        model = PeftModel.from_pretrained(model, adapter_dir)
    tokenizer.padding_side = "left"
    return model.eval(), tokenizer


def evaluate_variant(model, tokenizer, family: Family, samples: list[dict],
                     settings: EvaluateParams, seed: int, desc: str) -> tuple[dict, list[dict]]:
    """Generate, parse and score; returns (metrics, per-turn records)."""
    prompt_tokens = [len(tokenizer(s["prompt"], add_special_tokens=False)["input_ids"])
                     for s in samples]
    kept = [i for i, n in enumerate(prompt_tokens) if n <= settings.max_prompt_tokens]
    stop_ids = tokenizer.convert_tokens_to_ids(family.stop_tokens)
    outputs = generate_greedy(model, tokenizer, [samples[i]["prompt"] for i in kept], stop_ids,
                              settings.max_new_tokens, settings.batch_size, desc)
    parse = PARSERS[family.name]
    records = []
    for i, output in zip(kept, outputs, strict=True):
        sample = samples[i]
        parsed = parse(output["text"])
        verdict = score_turn(sample, parsed)
        records.append({
            "conversation_id": sample["conversation_id"], "turn_index": sample["turn_index"],
            "prompt_tokens": prompt_tokens[i], "new_tokens": output["new_tokens"],
            "hit_token_limit": not output["stopped"], "output": output["text"],
            "parsed": parsed.as_dict(), "gold": sample["gold"], **verdict,
        })
    metrics = aggregate(records)
    metrics.update(bootstrap_intervals(records, settings.bootstrap_samples, seed, HEADLINE))
    metrics["excluded_long_prompts"] = len(samples) - len(kept)
    metrics["hit_token_limit"] = sum(r["hit_token_limit"] for r in records)
    return metrics, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    key = parser.parse_args().model
    params = load_params()
    model_params = params.model(key)
    family = get_family(model_params.family)
    conversations = read_jsonl(TEST_SPLIT)
    samples = build_samples(conversations, family)
    data_hash = hashlib.sha256(TEST_SPLIT.read_bytes()).hexdigest()[:16]
    base_dir, adapter_dir = Path("models") / key / "base", Path("models") / key / "adapter"
    out_dir = Path("metrics") / key
    for variant, adapter in (("base", None), ("tuned", adapter_dir)):
        model, tokenizer = load_model(base_dir, adapter)
        metrics, records = evaluate_variant(model, tokenizer, family, samples, params.evaluate,
                                            params.seed, f"{key} {variant}")
        write_json(out_dir / f"{variant}.json", metrics)
        write_jsonl(out_dir / f"{variant}.turns.jsonl", records)
        write_json(out_dir / f"{variant}.meta.json", {
            "model": key, "variant": variant, "weights": params.weights,
            "base": str(base_dir), "adapter": str(adapter) if adapter else None,
            "family": family.name, "chat_template_sha256": hashlib.sha256(
                family.chat_template.encode()).hexdigest()[:16],
            "test_split": str(TEST_SPLIT), "test_split_sha256": data_hash,
            "decoding": {"strategy": "greedy", "stop_tokens": family.stop_tokens,
                         **dataclasses.asdict(params.evaluate)},
        })
        log.info("evaluate %s %s: %d turns, call_exact_match %s, no_call_accuracy_with_tools "
                 "%s, tool_score %s, decision_f1 %s, format_valid %s", key, variant,
                 metrics["turns"], *(_fmt(metrics[k]) for k in HEADLINE),
                 _fmt(metrics["format_valid_rate"]))


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    run_stage(main)
