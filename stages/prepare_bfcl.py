"""prepare-bfcl: the Berkeley Function Calling Leaderboard's single-turn questions (BFCL v4, from
the pinned bfcl-eval wheel: toolcall.registry fetches it from PyPI once, without its
dependencies), as conversations every model is asked next to our own test split.

Writes data/bfcl/questions.jsonl (per question: id, category, tools as JSON Schema, messages)
and data/bfcl/answers.jsonl (BFCL's own function docs and ground truth, what scoring checks).
bfcl.max_per_category keeps a seeded sample of each category (null: every question).
"""

from __future__ import annotations

import random

from toolcall.bfcl import NO_ANSWER, check_categories, data_file, question_conversation, read_lines
from toolcall.io import log, run_stage, write_jsonl
from toolcall.layout import BFCL_ANSWERS, BFCL_QUESTIONS
from toolcall.params import load_params
from toolcall.registry import BFCL_EVAL, fetch


def sample(entries: list[dict], size: int | None, seed: int) -> list[dict]:
    """`size` entries chosen at random with `seed`, in their file order (all when None)."""
    if size is None or size >= len(entries):
        return entries
    chosen = set(random.Random(seed).sample(range(len(entries)), size))
    return [e for i, e in enumerate(entries) if i in chosen]


def main() -> None:
    params = load_params()
    check_categories(params.bfcl.categories)
    root = fetch(BFCL_EVAL)
    questions, answers = [], []
    for category in params.bfcl.categories:
        entries = sample(read_lines(data_file(root, category)), params.bfcl.max_per_category,
                         params.seed)
        truth = ({a["id"]: a["ground_truth"] for a in read_lines(data_file(root, category, answers=True))}
                 if category not in NO_ANSWER else {})
        for entry in entries:
            questions.append(question_conversation(entry, category))
            answers.append({"id": entry["id"], "category": category, "function": entry["function"],
                            "ground_truth": truth.get(entry["id"])})
    write_jsonl(BFCL_QUESTIONS, questions)
    write_jsonl(BFCL_ANSWERS, answers)
    log.info("prepare-bfcl: %d questions of %d categories from bfcl-eval %s", len(questions),
             len(params.bfcl.categories), BFCL_EVAL.version)


if __name__ == "__main__":
    run_stage(main)
