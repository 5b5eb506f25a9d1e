"""prepare-dataset: glaive rows -> cleaned neutral conversations, split train/test.

Reads the source that resolve-dataset pinned in data/prepared/source.json (that local
file's bytes, or that hub commit).

Writes data/prepared/{train,test}.jsonl, data/prepared/rejects.jsonl (every dropped row
with its reason) and metrics/dataset.json (rows in, kept, dropped, repaired and kept
despite a relaxed rule, by reason; near-copy groups, the test conversations that
still have a near-copy in training, which must be 0, and how close the closest one comes).
"""

from __future__ import annotations

from collections import Counter

from toolcall.glaive import CleaningRules, RowRejected, clean_row, conversation_key
from toolcall.io import PipelineError, log, read_json, run_stage, write_json, write_jsonl
from toolcall.layout import DATASET_METRICS, REJECTS, SOURCE_MANIFEST, TEST_SPLIT, TRAIN_SPLIT
from toolcall.params import load_params
from toolcall.sources import load_rows, source_name
from toolcall.splitting import (
    group_summary,
    near_duplicate_groups,
    once_per_group,
    split_by_group,
    train_neighbours,
)


def clean_rows(rows: list[dict], rules: CleaningRules, seen: set[str] | None = None,
               source: int = 0) -> tuple[list[dict], list[dict], dict]:
    """Clean one source's rows and drop exact duplicates (of each other and of the conversations
    in `seen`, which grows): (kept conversations with ids, rejects, stats)."""
    seen = set() if seen is None else seen
    kept, rejects = [], []
    dropped, noted = Counter(), Counter()
    for index, row in enumerate(rows):
        try:
            conversation, notes = clean_row(row, rules)
        except RowRejected as e:
            dropped[e.reason] += 1
            rejects.append({"source": source, "row": index, "reason": e.reason, "detail": e.detail,
                            "data": row})
            continue
        key = conversation_key(conversation)
        if key in seen:  # an exact duplicate: keep the first
            dropped["duplicate"] += 1
            rejects.append({"source": source, "row": index, "reason": "duplicate", "detail": key,
                            "data": row})
            continue
        seen.add(key)
        noted.update(notes)
        kept.append({"id": f"s{source}r{index:06d}-{key[:8]}", **conversation})
    stats = {"rows_in": len(rows), "rows_kept": len(kept), "rows_dropped": len(rejects),
             **{f"dropped_{k}": v for k, v in sorted(dropped.items())}, **dict(sorted(noted.items()))}
    return kept, rejects, stats


def clean_sources(sources: list[tuple[str, list[dict]]],
                  rules: CleaningRules) -> tuple[list[dict], list[dict], dict]:
    """Every source cleaned and counted on its own, exact duplicates dropped across them:
    (kept, rejects, stats with the totals and a `sources` section per source)."""
    kept, rejects, seen, totals, per_source = [], [], set(), Counter(), {}
    for index, (name, rows) in enumerate(sources):
        source_kept, source_rejects, stats = clean_rows(rows, rules, seen, index)
        kept += source_kept
        rejects += source_rejects
        totals.update(stats)
        per_source[name] = stats
    stats = dict(sorted(totals.items()))
    if len(sources) > 1:
        stats["sources"] = per_source
    return kept, rejects, stats


def split_conversations(kept: list[dict], test_fraction: float, seed: int,
                        threshold: float) -> tuple[list[dict], list[dict], dict]:
    """(train, test, stats): near-copies grouped, whole groups split at random; a group in
    test is evaluated once (its first conversation), so one piece of evidence is never counted
    twice: the others are dropped, neither tested nor trained on, and counted."""
    groups = near_duplicate_groups(kept, threshold)
    train_ids, test_ids = split_by_group(groups, test_fraction, seed)
    once = once_per_group(test_ids, groups)
    train, test = [kept[i] for i in train_ids], [kept[i] for i in once]
    stats = {"near_duplicate_similarity": threshold, **group_summary(groups),
             **train_neighbours(test, train, threshold),
             "test_near_copies_dropped": len(test_ids) - len(once)}
    return train, test, stats


def check_rejected_share(rows_in: int, rejected: int, limit: float) -> None:
    """Fail when more of the source was rejected than `limit` allows: a mostly broken file
    must not train quietly on what is left."""
    if rows_in and rejected / rows_in > limit:
        raise PipelineError(
            f"{rejected} of {rows_in} source rows ({rejected / rows_in:.0%}) were rejected, more "
            f"than dataset.max_rejected_share ({limit:.0%}): see {REJECTS} for each row's reason; "
            "fix the source or raise the limit")


def main() -> None:
    params = load_params()
    dataset = params.dataset
    sources = [(source_name(resolved), load_rows(resolved, dataset.hub_split)[: dataset.max_rows])
               for resolved in read_json(SOURCE_MANIFEST)["sources"]]
    kept, rejects, stats = clean_sources(sources, dataset.cleaning)
    write_jsonl(REJECTS, rejects)  # before any check, so the reasons are this run's
    check_rejected_share(stats["rows_in"], len(rejects), dataset.max_rejected_share)
    if len(kept) < 2:
        raise PipelineError(f"only {len(kept)} usable rows in {dataset.source}: see {REJECTS} "
                            "for why rows were dropped")
    train, test, split_stats = split_conversations(kept, dataset.test_fraction, params.seed,
                                                   dataset.near_duplicate_similarity)
    if len(test) < dataset.min_test_conversations:
        raise PipelineError(
            f"the test split holds {len(test)} conversations, fewer than "
            f"dataset.min_test_conversations ({dataset.min_test_conversations}): too few for its "
            "95% intervals; use more rows (dataset.source, dataset.max_rows) or a larger "
            "dataset.test_fraction")
    write_jsonl(TRAIN_SPLIT, train)
    write_jsonl(TEST_SPLIT, test)
    stats.update(split_stats, train_conversations=len(train), test_conversations=len(test))
    write_json(DATASET_METRICS, stats)
    log.info("prepare-dataset: %d rows in, %d kept (%d train / %d test), %d dropped: %s; "
             "%d near-copy groups kept on one side", stats["rows_in"], len(kept), len(train),
             len(test), len(rejects), {k: v for k, v in stats.items() if k.startswith("dropped_")},
             stats["near_duplicate_groups"])


if __name__ == "__main__":
    run_stage(main)
