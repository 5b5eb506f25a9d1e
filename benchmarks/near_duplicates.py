"""How well, and how fast, prepare-dataset finds near-copies (toolcall/splitting.py).

    python -m benchmarks.near_duplicates calibrate path/to/glaive_toolcall_zh_1k.json
    python -m benchmarks.near_duplicates scale path/to/glaive.json --conversations 113000

calibrate: the 200 pairs of the public 1k sample in benchmarks/near_copy_judgements.json, judged
by reading them (S: the same conversation with small changes, C: the same first request, then
another, D: a different request), against the grouping rule at several thresholds and against
text similarities that ignore the calls' values: edit similarity of the whole dialogue (this
project's earlier rule), of the user turns and calls, and character 5-gram Jaccard of those
(what MinHash estimates). For each: the judged pairs it links and the split it gives.

scale: the file's conversations copied to --conversations (every copy's user text and call
values changed, so copies are not near-copies of each other except for a planted share) and
grouped, timed.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from stages.prepare_dataset import clean_rows, split_conversations
from toolcall.io import PipelineError, file_sha256
from toolcall.params import load_params
from toolcall.sources import read_local_rows
from toolcall.splitting import call_signatures, near_duplicate_groups, opening
from toolcall.text import normalize_text

JUDGEMENTS = Path(__file__).with_name("near_copy_judgements.json")
THRESHOLDS = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


def dialogue_text(conversation: dict) -> str:
    """Every message's text and every call: the earlier rule's text."""
    return normalize_text("".join((m.get("content") or "") + "".join(
        c["name"] + c["arguments"] for c in m.get("tool_calls") or []) for m in conversation["messages"]))


def requests_and_calls(conversation: dict) -> str:
    return normalize_text("".join(m["content"] if m["role"] == "user" else "".join(
        c["name"] + c["arguments"] for c in m.get("tool_calls") or []) for m in conversation["messages"]))


def jaccard_5grams(a: str, b: str) -> float:
    x, y = ({t[i:i + 5] for i in range(max(1, len(t) - 4))} for t in (a, b))
    return len(x & y) / len(x | y)


def linked(a: dict, b: dict, threshold: float) -> bool:
    """The grouping rule on one pair (toolcall/splitting.py, without the chains)."""
    if call_signatures(a) or call_signatures(b):
        return bool(call_signatures(a) & call_signatures(b))
    return Levenshtein.normalized_similarity(opening(a), opening(b)) >= threshold


def kept_by_row(path: Path) -> list[dict | None]:
    """Cleaned conversations by source row (None where cleaning drops the row)."""
    rows = read_local_rows(path)
    kept, _, _ = clean_rows(rows, load_params().dataset.cleaning)
    by_row: list[dict | None] = [None] * len(rows)
    for conversation in kept:  # ids are s<source>r<row>-<hash>
        by_row[int(conversation["id"].split("r", 1)[1].split("-")[0])] = conversation
    return by_row


def calibrate(path: Path) -> None:
    judged = json.loads(JUDGEMENTS.read_text(encoding="utf-8"))
    if file_sha256(path) != judged["file_sha256"]:
        raise PipelineError(f"{path} is not the file the pairs were judged on (sha256 "
                            f"{judged['file_sha256']})")
    by_row = kept_by_row(path)
    kept = [c for c in by_row if c is not None]
    pairs = [(by_row[p["rows"][0]], by_row[p["rows"][1]], p["label"]) for p in judged["pairs"]]
    same = [p for p in pairs if p[2] != "D"]
    counts = {label: sum(p[2] == label for p in pairs) for label in "SCD"}
    print(f"{len(pairs)} judged pairs: {counts['S']} S, {counts['C']} C, {counts['D']} D; "
          f"{sum(not call_signatures(a) and not call_signatures(b) for a, b, _ in pairs)} without calls")
    print("\nThe grouping rule (same call values; no calls: user turns at least t similar)")
    print("| t | S or C linked | D linked | S or C in one group | D in one group | largest group "
          "| test conversations with a near-copy in train |")
    print("|---|---|---|---|---|---|---|")
    for t in THRESHOLDS:
        groups = dict(zip((c["id"] for c in kept), near_duplicate_groups(kept, t), strict=True))
        together = [groups[a["id"]] == groups[b["id"]] for a, b, _ in pairs]
        links = [linked(a, b, t) for a, b, _ in pairs]
        _, _, stats = split_conversations(kept, 0.1, 42, t)
        sizes = [list(groups.values()).count(g) for g in set(groups.values())]
        same_linked = sum(x for x, p in zip(links, pairs, strict=True) if p[2] != "D")
        other_linked = sum(x for x, p in zip(links, pairs, strict=True) if p[2] == "D")
        same_grouped = sum(x for x, p in zip(together, pairs, strict=True) if p[2] != "D")
        other_grouped = sum(x for x, p in zip(together, pairs, strict=True) if p[2] == "D")
        print(f"| {t} | {same_linked}/{len(same)} | {other_linked}/{counts['D']} "
              f"| {same_grouped}/{len(same)} | {other_grouped}/{counts['D']} "
              f"| {max(sizes)} | {stats['test_with_train_near_copy']} |")
    print("\nText similarity alone: the threshold that links every S and C pair, and the best one")
    print("| measure | lowest S or C | highest D | D linked at the lowest S or C | best threshold "
          "| S or C missed there | D linked there |")
    print("|---|---|---|---|---|---|---|")
    measures = {
        "edit similarity, whole dialogue": lambda a, b: Levenshtein.normalized_similarity(
            dialogue_text(a), dialogue_text(b)),
        "edit similarity, user turns and calls": lambda a, b: Levenshtein.normalized_similarity(
            requests_and_calls(a), requests_and_calls(b)),
        "5-gram Jaccard, user turns and calls": lambda a, b: jaccard_5grams(
            requests_and_calls(a), requests_and_calls(b)),
    }
    for name, measure in measures.items():
        scored = [(measure(a, b), label != "D") for a, b, label in pairs]
        low = min(s for s, positive in scored if positive)
        high = max(s for s, positive in scored if not positive)
        errors = {t: (sum(s < t for s, p in scored if p), sum(s >= t for s, p in scored if not p))
                  for t in sorted({s for s, _ in scored})}
        best = min(errors, key=lambda t: sum(errors[t]))
        print(f"| {name} | {low:.2f} | {high:.2f} | {errors[low][1]}/{counts['D']} | {best:.2f} "
              f"| {errors[best][0]} | {errors[best][1]} |")


def synthetic(conversations: list[dict], n: int, seed: int, planted: float) -> list[dict]:
    """n conversations copied from `conversations`: each copy's user text has about half its
    characters replaced and its call values suffixed with the copy's number, except a
    `planted` share, which are near-copies of an earlier copy (one character of its user text
    changed), named `<that copy's id>~<number>`."""
    rng = random.Random(seed)
    han = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    out = []
    for number in range(n):
        if out and rng.random() < planted:
            original, rate, suffix = rng.choice(out), 0.0, ""
            name = f"{original['id'].split('~')[0]}~{number}"
        else:
            original, rate, suffix = rng.choice(conversations), 0.5, f"#{number}"
            name = f"x{number}"
        messages = []
        for message in original["messages"]:
            message = dict(message)
            if message["role"] == "user":
                text = [rng.choice(han) if rng.random() < rate else ch for ch in message["content"]]
                if rate == 0.0 and text:
                    text[rng.randrange(len(text))] = rng.choice(han)
                message["content"] = "".join(text)
            if message.get("tool_calls"):
                message["tool_calls"] = [{"name": c["name"], "arguments": json.dumps(
                    {k: f"{v}{suffix}" for k, v in json.loads(c["arguments"]).items()},
                    ensure_ascii=False)} for c in message["tool_calls"]]
            messages.append(message)
        out.append({"id": name, "tools": original["tools"], "messages": messages})
    return out


def scale(path: Path, n: int, seed: int, planted: float) -> None:
    kept = [c for c in kept_by_row(path) if c is not None]
    conversations = synthetic(kept, n, seed, planted)
    silent = sum(not call_signatures(c) for c in conversations)
    threshold = load_params().dataset.near_duplicate_similarity
    start = time.perf_counter()
    groups = near_duplicate_groups(conversations, threshold)
    seconds = time.perf_counter() - start
    print(f"{n} conversations ({silent} without calls) copied from {path.name}, threshold "
          f"{threshold}: grouped in {seconds:.1f} s, {n - len(set(groups))} joined a group")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("calibrate").add_argument("source", type=Path)
    scaling = sub.add_parser("scale")
    scaling.add_argument("source", type=Path)
    scaling.add_argument("--conversations", type=int, default=113_000)
    scaling.add_argument("--planted", type=float, default=0.05, help="share of planted near-copies")
    scaling.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.command == "calibrate":
        calibrate(args.source)
    else:
        scale(args.source, args.conversations, args.seed, args.planted)


if __name__ == "__main__":
    main()
