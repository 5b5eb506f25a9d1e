"""evaluate-toolcall: parse and score what the generate stage wrote, per variant of one model
(evaluate-bfcl, with --suite bfcl: judge BFCL's questions by BFCL's rules into
metrics/models/<model>/bfcl.<variant>.json).

Seconds of CPU, so a change to the parser, a metric or the bootstrap reruns only this and
compare-models, never the generation. For each variant reads generations/<model>/<variant>.*
and the test split, and writes metrics/models/<model>/<variant>.json (the headline figures,
what `dvc metrics` shows), <variant>.details.json (every figure, with the intervals),
<variant>.meta.json (the generation's metadata plus how it was scored) and
<variant>.turns.jsonl (per turn: prompt size, raw output, parse, gold, verdict, error type).
Rules: docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from toolcall.bfcl_scoring import SUMMARY, judge, summarize
from toolcall.families import Family, get_family
from toolcall.io import (
    PipelineError,
    file_sha256,
    log,
    read_json,
    read_jsonl,
    run_stage,
    write_json,
    write_jsonl,
)
from toolcall.layout import (
    BFCL_ANSWERS,
    BFCL_QUESTIONS,
    TEST_SPLIT,
    generation_file,
    generation_meta,
    result_file,
)
from toolcall.metrics import HEADLINE, aggregate, bootstrap_intervals, score_turn
from toolcall.params import Params, load_params
from toolcall.parsers import get_parser
from toolcall.schema import function_of
from toolcall.tracking import log_evaluation
from toolcall.turns import build_samples, turn_key


def offered_tools(tools: list[dict]) -> list[dict]:
    """Each offered tool's name and required arguments: enough to judge a call by eye."""
    return [{"name": function_of(t)["name"],
             "required": (function_of(t).get("parameters") or {}).get("required", [])} for t in tools]


def score_generations(samples: list[dict], generations: list[dict], family: Family) -> list[dict]:
    """Each generated turn parsed by the family's parser and judged against its gold turn."""
    by_key = {turn_key(s): s for s in samples}
    records = []
    for generated in generations:
        sample = by_key[turn_key(generated)]
        parsed = get_parser(family.name)(generated["output"], sample["tools"],
                                         generated["stop_token"])
        records.append({**generated, "parsed": parsed.as_dict(), "gold": sample["gold"],
                        "last_user": sample["last_user"], "offered": offered_tools(sample["tools"]),
                        **score_turn(sample, parsed)})
    return records


def generation_of(key: str, variant: str, suite: str, inputs: Path) -> dict:
    """The generation's metadata, after checking it was generated from `inputs` as they are."""
    meta = read_json(generation_meta(key, variant, suite))
    if meta["inputs_sha256"] != file_sha256(inputs)[:16]:
        raise PipelineError(f"{generation_file(key, variant, suite)} was generated from another "
                            f"{inputs}: run `dvc repro` (or the generate stage) again")
    return meta


def score_bfcl(key: str, variant: str, params: Params) -> dict:
    """Judge one variant's BFCL answers by BFCL's rules; questions whose prompt was too long for
    the model count as wrong."""
    family = get_family(params.model(key).family)
    generation_of(key, variant, "bfcl", BFCL_QUESTIONS)
    questions = {q["id"]: q for q in read_jsonl(BFCL_QUESTIONS)}
    answers = {a["id"]: a for a in read_jsonl(BFCL_ANSWERS)}
    generated = {g["conversation_id"]: g for g in read_jsonl(generation_file(key, variant, "bfcl"))}
    records = []
    for question_id, question in questions.items():
        output = generated.get(question_id)
        parsed = (get_parser(family.name)(output["output"], json.loads(question["tools"]),
                                          output["stop_token"]) if output else None)
        verdict = judge(question["category"], parsed, answers[question_id]) if parsed else "prompt_too_long"
        records.append({"id": question_id, "category": question["category"],
                        "output": output["output"] if output else None,
                        "parsed": parsed.as_dict() if parsed else None,
                        "verdict": verdict or "correct", "correct": verdict is None})
    metrics = summarize(records)
    write_json(result_file(key, variant, "bfcl"), metrics)
    write_jsonl(result_file(key, variant, "bfcl", kind="turns"), records)
    log.info("evaluate %s %s BFCL: %d questions, %s", key, variant, len(records),
             ", ".join(f"{k} {_fmt(metrics[k])}" for k in SUMMARY))
    return metrics


def score_variant(key: str, variant: str, params: Params) -> dict:
    """Score one variant's generations and write its metrics, metadata and turns."""
    family = get_family(params.model(key).family)
    meta = generation_of(key, variant, "toolcall", TEST_SPLIT)
    samples = build_samples(read_jsonl(TEST_SPLIT), family)
    records = score_generations(samples, read_jsonl(generation_file(key, variant)), family)
    metrics = aggregate(records)
    metrics.update(bootstrap_intervals(records, params.evaluate.bootstrap_samples, params.seed,
                                       HEADLINE))
    metrics["excluded_long_prompts"] = len(meta["excluded_long_prompts"])
    metrics["hit_token_limit"] = sum(r["hit_token_limit"] for r in records)
    # A tuned model that never learned its turn-ending token shows here first.
    metrics["hit_token_limit_rate"] = metrics["hit_token_limit"] / len(records) if records else None
    metrics["hit_token_limit_rate_numerator"] = metrics["hit_token_limit"]
    metrics["hit_token_limit_rate_denominator"] = len(records)
    scored_meta = {**meta, "scoring": {"parser": family.name, "rules": "docs/evaluation.md",
                                       "bootstrap_samples": params.evaluate.bootstrap_samples,
                                       "seed": params.seed}}
    write_json(result_file(key, variant), {name: metrics[name] for name in HEADLINE})
    write_json(result_file(key, variant, kind="details"), metrics)
    write_jsonl(result_file(key, variant, kind="turns"), records)
    write_json(result_file(key, variant, kind="meta"), scored_meta)
    log.info("evaluate %s %s: %d turns, call_exact_match %s, no_call_accuracy_with_tools %s, "
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
    parser.add_argument("--suite", choices=["toolcall", "bfcl"], default="toolcall")
    args = parser.parse_args()
    params = load_params()
    for variant in args.variants:
        (score_bfcl if args.suite == "bfcl" else score_variant)(args.model, variant, params)


if __name__ == "__main__":
    run_stage(main)
