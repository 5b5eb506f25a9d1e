"""prepare-dataset: glaive rows -> cleaned neutral conversations, split train/test.

Writes data/prepared/{train,test}.jsonl, data/prepared/rejects.jsonl (every dropped row
with its reason) and metrics/dataset.json (rows in, kept, dropped and repaired by reason).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

from toolcall.glaive import CleaningRules, RowRejected, clean_row, conversation_key
from toolcall.io import PipelineError, log, run_stage, write_json, write_jsonl
from toolcall.params import DatasetParams, load_params

OUT_DIR = Path("data/prepared")


def load_source_rows(dataset: DatasetParams) -> list[dict]:
    """glaive rows from a local .json/.jsonl file or a Hugging Face Hub data set."""
    path = Path(dataset.source)
    if path.suffix in (".json", ".jsonl"):
        if not path.exists():
            raise PipelineError(f"dataset.source {dataset.source} does not exist: point it at a "
                                "glaive-format .json/.jsonl file or a hub id")
        text = path.read_text(encoding="utf-8")
        # Parse JSONL line by line so an error names the file's own line number.
        documents = enumerate(text.splitlines(), 1) if path.suffix == ".jsonl" else [(0, text)]
        rows = []
        for offset, document in documents:
            if not document.strip():
                continue
            try:
                parsed = json.loads(document)
            except json.JSONDecodeError as e:
                line = offset or e.lineno
                raise PipelineError(f"{path} is not valid JSON (line {line}): {e.msg}; fix or "
                                    "remove that line") from None
            if offset:
                rows.append(parsed)
            elif isinstance(parsed, list):
                rows = parsed
            else:
                raise PipelineError(f"{path} must hold a JSON list of glaive rows")
        return rows
    from datasets import load_dataset  # noqa: PLC0415 (only the hub path needs it)

    try:
        rows = load_dataset(dataset.source, revision=dataset.hub_revision, split=dataset.hub_split)
    except Exception as e:  # offline, unknown id, gated: say what was tried
        raise PipelineError(
            f"could not load hub data set {dataset.source}@{dataset.hub_revision} "
            f"({type(e).__name__}: {e}); check the network and HF_TOKEN, or set dataset.source "
            "to a local file") from None
    return list(rows)


def clean_rows(rows: list[dict], rules: CleaningRules) -> tuple[list[dict], list[dict], dict]:
    """Clean and deduplicate: (kept conversations with ids, rejects, stats)."""
    kept, rejects, seen = [], [], set()
    dropped, repaired = Counter(), Counter()
    for index, row in enumerate(rows):
        try:
            conversation, repairs = clean_row(row, rules)
        except RowRejected as e:
            dropped[e.reason] += 1
            rejects.append({"row": index, "reason": e.reason, "detail": e.detail, "source": row})
            continue
        key = conversation_key(conversation)
        if key in seen:  # exact duplicates never sit in both splits: keep the first
            dropped["duplicate"] += 1
            rejects.append({"row": index, "reason": "duplicate", "detail": key, "source": row})
            continue
        seen.add(key)
        repaired.update(repairs)
        kept.append({"id": f"row{index:06d}-{key[:8]}", **conversation})
    stats = {"rows_in": len(rows), "rows_kept": len(kept), "rows_dropped": len(rejects),
             **{f"dropped_{k}": v for k, v in sorted(dropped.items())},
             **{f"repaired_{k}": v for k, v in sorted(repaired.items())}}
    return kept, rejects, stats


def split_conversations(kept: list[dict], test_fraction: float, seed: int):
    order = list(range(len(kept)))
    random.Random(seed).shuffle(order)
    n_test = max(1, round(len(kept) * test_fraction))
    test_ids = set(order[:n_test])
    train = [c for i, c in enumerate(kept) if i not in test_ids]
    test = [c for i, c in enumerate(kept) if i in test_ids]
    return train, test


def main() -> None:
    params = load_params()
    rows = load_source_rows(params.dataset)
    if params.dataset.max_rows is not None:
        rows = rows[: params.dataset.max_rows]
    kept, rejects, stats = clean_rows(rows, params.dataset.cleaning)
    if len(kept) < 2:
        raise PipelineError(f"only {len(kept)} usable rows in {params.dataset.source}: see "
                            f"{OUT_DIR / 'rejects.jsonl'} for why rows were dropped")
    train, test = split_conversations(kept, params.dataset.test_fraction, params.seed)
    write_jsonl(OUT_DIR / "train.jsonl", train)
    write_jsonl(OUT_DIR / "test.jsonl", test)
    write_jsonl(OUT_DIR / "rejects.jsonl", rejects)
    stats.update(train_conversations=len(train), test_conversations=len(test))
    write_json("metrics/dataset.json", stats)
    log.info("prepare-dataset: %d rows in, %d kept (%d train / %d test), %d dropped: %s",
             stats["rows_in"], len(kept), len(train), len(test), len(rejects),
             {k: v for k, v in stats.items() if k.startswith("dropped_")})


if __name__ == "__main__":
    run_stage(main)
