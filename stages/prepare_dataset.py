"""prepare-dataset: glaive rows -> cleaned neutral conversations, split train/test.

Writes data/prepared/{train,test}.jsonl, data/prepared/rejects.jsonl (every dropped row
with its reason) and metrics/dataset.json (rows in, kept, dropped, repaired and kept
despite a relaxed rule, by reason; near-duplicate groups and test conversations that
still have a train neighbour, which must be 0).
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

from toolcall.glaive import CleaningRules, RowRejected, clean_row, conversation_key
from toolcall.io import PipelineError, log, run_stage, write_json, write_jsonl
from toolcall.layout import DATASET_METRICS, REJECTS, TEST_SPLIT, TRAIN_SPLIT
from toolcall.params import DatasetParams, load_params
from toolcall.splitting import (
    group_summary,
    near_duplicate_groups,
    similar_pairs,
    similarity_text,
    split_by_group,
)

LOCAL_SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz")


def is_local(source: str) -> bool:
    """A file path (existing or not, by its name) rather than a hub data set id."""
    return Path(source).exists() or source.endswith(LOCAL_SUFFIXES) or source.startswith(("/", ".", "~"))


def read_local_rows(path: Path) -> list[dict]:
    """glaive rows from a .json (one list) or .jsonl (one row a line) file, either gzipped."""
    if not path.is_file():
        raise PipelineError(f"dataset.source {path} does not exist: point it at a glaive-format "
                            f"file ({', '.join(LOCAL_SUFFIXES)}) or a hub data set id")
    if not path.name.endswith(LOCAL_SUFFIXES):
        raise PipelineError(f"dataset.source {path}: name it by its format, one of {LOCAL_SUFFIXES}")
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        text = f.read()
    lines = path.name.removesuffix(".gz").endswith(".jsonl")
    # Parse JSONL line by line so an error names the file's own line number.
    documents = enumerate(text.splitlines(), 1) if lines else [(0, text)]
    rows = []
    for number, document in documents:
        if not document.strip():
            continue
        try:
            parsed = json.loads(document)
        except json.JSONDecodeError as e:
            if not lines and e.msg == "Extra data" and text.lstrip().startswith("{"):
                raise PipelineError(f"{path} holds one JSON object per line (JSON Lines): rename "
                                    "it to .jsonl") from None
            raise PipelineError(f"{path} is not valid JSON (line {number or e.lineno}): {e.msg}; "
                                "fix or remove that line") from None
        if lines:
            rows.append(parsed)
        elif isinstance(parsed, list):
            rows = parsed
        else:
            raise PipelineError(f"{path} must hold a JSON list of glaive rows")
    return rows


def load_source_rows(dataset: DatasetParams) -> list[dict]:
    """glaive rows from a local file or a Hugging Face Hub data set."""
    if is_local(dataset.source):
        return read_local_rows(Path(dataset.source).expanduser())
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
    """Clean and drop exact duplicates: (kept conversations with ids, rejects, stats)."""
    kept, rejects, seen = [], [], set()
    dropped, noted = Counter(), Counter()
    for index, row in enumerate(rows):
        try:
            conversation, notes = clean_row(row, rules)
        except RowRejected as e:
            dropped[e.reason] += 1
            rejects.append({"row": index, "reason": e.reason, "detail": e.detail, "source": row})
            continue
        key = conversation_key(conversation)
        if key in seen:  # an exact duplicate: keep the first
            dropped["duplicate"] += 1
            rejects.append({"row": index, "reason": "duplicate", "detail": key, "source": row})
            continue
        seen.add(key)
        noted.update(notes)
        kept.append({"id": f"row{index:06d}-{key[:8]}", **conversation})
    stats = {"rows_in": len(rows), "rows_kept": len(kept), "rows_dropped": len(rejects),
             **{f"dropped_{k}": v for k, v in sorted(dropped.items())}, **dict(sorted(noted.items()))}
    return kept, rejects, stats


def split_conversations(kept: list[dict], test_fraction: float, seed: int,
                        threshold: float) -> tuple[list[dict], list[dict], dict]:
    """(train, test, stats): near-duplicates grouped, whole groups split at random."""
    texts = [similarity_text(c) for c in kept]
    groups = near_duplicate_groups(texts, threshold)
    train_ids, test_ids = split_by_group(groups, test_fraction, seed)
    leaked = {i for i, _ in similar_pairs([texts[i] for i in test_ids],
                                          [texts[i] for i in train_ids], threshold)}
    stats = {"near_duplicate_similarity": threshold, **group_summary(groups),
             "test_with_train_neighbour": len(leaked)}
    return [kept[i] for i in train_ids], [kept[i] for i in test_ids], stats


def main() -> None:
    params = load_params()
    dataset = params.dataset
    rows = load_source_rows(dataset)
    if dataset.max_rows is not None:
        rows = rows[: dataset.max_rows]
    kept, rejects, stats = clean_rows(rows, dataset.cleaning)
    write_jsonl(REJECTS, rejects)  # before any check, so the reasons are this run's
    if len(kept) < 2:
        raise PipelineError(f"only {len(kept)} usable rows in {dataset.source}: see {REJECTS} "
                            "for why rows were dropped")
    train, test, split_stats = split_conversations(kept, dataset.test_fraction, params.seed,
                                                   dataset.near_duplicate_similarity)
    write_jsonl(TRAIN_SPLIT, train)
    write_jsonl(TEST_SPLIT, test)
    stats.update(split_stats, train_conversations=len(train), test_conversations=len(test))
    write_json(DATASET_METRICS, stats)
    log.info("prepare-dataset: %d rows in, %d kept (%d train / %d test), %d dropped: %s; "
             "%d near-duplicate groups kept on one side", stats["rows_in"], len(kept), len(train),
             len(test), len(rejects), {k: v for k, v in stats.items() if k.startswith("dropped_")},
             stats["near_duplicate_groups"])


if __name__ == "__main__":
    run_stage(main)
