"""The evaluator's ceiling on a data set: every gold assistant turn, written exactly as the
model should write it, parsed by each family's parser and scored. Every match and decision
metric must be 1.0 (docs/evaluation.md); anything less is a bug of the parser, the renderer
or the cleaning, not of a model.

    python -m benchmarks.gold_replay data/sample/glaive_toolcall_zh_sample.json
    python -m benchmarks.gold_replay path/to/glaive_toolcall_zh_1k.json --json out.json

Cleans and splits the file with params.yaml's dataset settings (as prepare-dataset does)
and reports the test split and all kept conversations.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stages.prepare_dataset import clean_rows, split_conversations
from toolcall.families import all_families
from toolcall.metrics import aggregate, replay_gold
from toolcall.params import load_params
from toolcall.sources import read_local_rows
from toolcall.turns import build_samples

FAMILIES = all_families()

SHOWN = ["call_exact_match", "no_call_accuracy_with_tools", "tool_score", "decision_f1",
         "decision_accuracy", "format_valid_rate", "call_name_accuracy", "arg_value_f1",
         "hallucinated_function_rate", "schema_valid_rate", "gold_schema_valid_rate",
         "text_rouge_l", "conversation_success_rate", "errors_spurious_call", "errors_malformed"]


def replay(conversations: list[dict]) -> dict:
    """{family: metrics} of gold replayed through each family's renderer and parser."""
    return {name: aggregate(replay_gold(build_samples(conversations, family), family))
            for name, family in FAMILIES.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="a glaive-format .json/.jsonl file")
    parser.add_argument("--json", type=Path, help="also write every metric here")
    args = parser.parse_args()
    params = load_params()
    kept, _, stats = clean_rows(read_local_rows(args.source), params.dataset.cleaning)
    _, test, split_stats = split_conversations(kept, params.dataset.test_fraction, params.seed,
                                               params.dataset.near_duplicate_similarity)
    results = {"cleaning": {**stats, **split_stats},
               "test_split": replay(test), "all_kept": replay(kept)}
    for part in ("test_split", "all_kept"):
        for family, metrics in results[part].items():
            print(f"{part} {family}: {metrics['turns']} turns")
            print("  " + ", ".join(f"{k} {metrics[k]}" for k in SHOWN))
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
