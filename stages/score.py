"""score: parse and score what the generate stage wrote, per variant of one model.

Seconds of CPU, so a change to the parser, a metric or the bootstrap reruns only this and
compare-models, never the generation. For each variant reads generations/<model>/<variant>.*
and the test split, and writes metrics/models/<model>/<variant>.json (flat numbers, for
`dvc metrics`), <variant>.meta.json (the generation's metadata plus how it was scored) and
<variant>.turns.jsonl (per turn: prompt size, raw output, parse, gold, verdict, error type).
Rules: docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import hashlib

from toolcall.io import PipelineError, log, read_json, read_jsonl, run_stage, write_json, write_jsonl
from toolcall.layout import TEST_SPLIT, generation_file, generation_meta, results_dir
from toolcall.metrics import HEADLINE, aggregate, bootstrap_intervals, score_turn
from toolcall.params import Params, load_params
from toolcall.templates import Family, get_family
from toolcall.tracking import log_evaluation
from toolcall.turns import build_samples, turn_key


def score_generations(samples: list[dict], generations: list[dict], family: Family) -> list[dict]:
    """Each generated turn parsed by the family's parser and judged against its gold turn."""
    by_key = {turn_key(s): s for s in samples}
    records = []
    for generated in generations:
        sample = by_key[turn_key(generated)]
        parsed = family.parse(generated["output"], sample["tools"])
        records.append({**generated, "parsed": parsed.as_dict(), "gold": sample["gold"],
                        **score_turn(sample, parsed)})
    return records


def score_variant(key: str, variant: str, params: Params) -> dict:
    """Score one variant's generations and write its metrics, metadata and turns."""
    family = get_family(params.model(key).family)
    meta = read_json(generation_meta(key, variant))
    split_hash = hashlib.sha256(TEST_SPLIT.read_bytes()).hexdigest()[:16]
    if meta["test_split_sha256"] != split_hash:
        raise PipelineError(f"{generation_file(key, variant)} was generated from another test "
                            "split: run `dvc repro` (or the generate stage) again")
    samples = build_samples(read_jsonl(TEST_SPLIT), family)
    records = score_generations(samples, read_jsonl(generation_file(key, variant)), family)
    metrics = aggregate(records)
    metrics.update(bootstrap_intervals(records, params.evaluate.bootstrap_samples, params.seed,
                                       HEADLINE))
    metrics["excluded_long_prompts"] = len(meta["excluded_long_prompts"])
    metrics["hit_token_limit"] = sum(r["hit_token_limit"] for r in records)
    # A tuned model that never learned its turn-ending token shows here first.
    metrics["hit_token_limit_rate"] = metrics["hit_token_limit"] / len(records) if records else None
    scored_meta = {**meta, "scoring": {"parser": family.name, "rules": "docs/evaluation.md",
                                       "bootstrap_samples": params.evaluate.bootstrap_samples,
                                       "seed": params.seed}}
    out_dir = results_dir(key)
    write_json(out_dir / f"{variant}.json", metrics)
    write_jsonl(out_dir / f"{variant}.turns.jsonl", records)
    write_json(out_dir / f"{variant}.meta.json", scored_meta)
    log.info("score %s %s: %d turns, call_exact_match %s, no_call_accuracy_with_tools %s, "
             "tool_score %s, decision_f1 %s, format_valid %s", key, variant, metrics["turns"],
             *(_fmt(metrics[k]) for k in HEADLINE), _fmt(metrics["format_valid_rate"]))
    log_evaluation(key, variant, {**scored_meta, "model_params": vars(params.model(key))},
                   metrics, [r for r in records if r["error_type"] != "correct"])
    return metrics


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--variants", nargs="+", choices=["base", "tuned", "chat"],
                        default=["base", "tuned"])
    args = parser.parse_args()
    params = load_params()
    for variant in args.variants:
        score_variant(args.model, variant, params)


if __name__ == "__main__":
    run_stage(main)
