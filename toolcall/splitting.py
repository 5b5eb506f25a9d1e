"""The train/test split, with near-copies of a conversation kept on the same side.

Public tool-calling data is full of conversations that are one conversation written twice:
the same request in other words, with a re-sampled tool result or answer. Split at random, such
a pair puts the gold answer of a test conversation into training, and test scores read higher
than they are. So conversations are first grouped, and whole groups are assigned to one split.
Two conversations are near-copies when

- they make the same call: a gold call of one has exactly the argument values of a gold call of
  the other (strings normalized as the metrics compare them, numbers as numbers; tool and
  argument names ignored, since glaive renames them between copies; a call without arguments
  counts as its tool name), or
- neither makes a call, and the openings of their user turns (the first OPENING_CHARS characters
  of the normalized text) are at least `threshold` similar (`1 - Levenshtein distance / length
  of the longer text`).

A group is every conversation reachable through such links. Why call values rather than text
similarity: on 200 pairs of the real 1k sample judged by hand (docs/evaluation.md, "Near-copies"),
no text-similarity threshold, by edit distance or by character n-gram Jaccard (MinHash's
measure), groups the same request in other words ("你可以/您能帮我订一个/份披萨吗") while keeping
apart the same sentence with other values (a loan of 200,000 and one of 300,000 are 0.93
similar); the call's values separate them exactly. Requests that get no call have no values,
so their text decides.

Cost: call values are grouped by a dictionary (linear); the no-call openings are compared all
against all (rapidfuzz, C++; an opening fits one 64-bit word of its bit-parallel algorithm),
which grows with the square of their number: about a second for the 1k sample, minutes for a
set of glaive-function-calling-v2's size (benchmarks/near_duplicates.py).
"""

from __future__ import annotations

import json
import random

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from toolcall.text import normalize_text

CHUNK = 512  # rows of the similarity matrix computed at once (memory: CHUNK x n floats)
# A conversation without a call is compared on how its user opens it, the request (on the 1k
# sample the first user turn of one is 64 characters median, a refusal's 10 to 20), not on a
# whole long chat, whose cost grows with its length.
OPENING_CHARS = 64


def _value_key(value: object) -> object:
    """An argument value as near-copies share it: strings normalized, 100 == 100.0."""
    if isinstance(value, str):
        return normalize_text(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_value_key(v) for v in value]
    if isinstance(value, dict):
        return {k: _value_key(v) for k, v in value.items()}
    return value


def call_signatures(conversation: dict) -> set[str]:
    """One key per gold call of a stored conversation: its argument values, names left out."""
    keys = set()
    for message in conversation["messages"]:
        for call in message.get("tool_calls") or []:
            arguments = call["arguments"]
            arguments = json.loads(arguments) if isinstance(arguments, str) else arguments
            values = sorted(json.dumps(_value_key(v), ensure_ascii=False, sort_keys=True)
                            for v in arguments.values())
            keys.add(json.dumps(values, ensure_ascii=False) if values else f"name:{call['name']}")
    return keys


def opening(conversation: dict) -> str:
    """The first OPENING_CHARS characters of a stored conversation's user turns, normalized."""
    return normalize_text("".join(m["content"] for m in conversation["messages"]
                                  if m["role"] == "user"))[:OPENING_CHARS]


def similar_pairs(queries: list[str], choices: list[str], threshold: float) -> list[tuple[int, int]]:
    """Every (query index, choice index) whose similarity is at least `threshold`."""
    pairs = []
    for start in range(0, len(queries), CHUNK):
        scores = process.cdist(queries[start:start + CHUNK], choices, workers=-1,
                               scorer=Levenshtein.normalized_similarity, score_cutoff=threshold)
        for i, j in zip(*(scores >= threshold).nonzero(), strict=True):
            pairs.append((start + int(i), int(j)))
    return pairs


def near_copy_links(conversations: list[dict], threshold: float) -> list[tuple[int, int]]:
    """Pairs of indices that are near-copies: enough links for the groups to come out right
    (each conversation is linked to the first one that makes a call of the same values)."""
    signatures = [call_signatures(c) for c in conversations]
    links, first_with = [], {}
    for index, keys in enumerate(signatures):
        links += [(first_with.setdefault(key, index), index) for key in keys]
    silent = [i for i, keys in enumerate(signatures) if not keys]
    texts = [opening(conversations[i]) for i in silent]
    links += [(silent[i], silent[j]) for i, j in similar_pairs(texts, texts, threshold) if i < j]
    return links


def near_duplicate_groups(conversations: list[dict], threshold: float) -> list[int]:
    """A group number per conversation: conversations linked by a chain of near-copies share one."""
    parent = list(range(len(conversations)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in near_copy_links(conversations, threshold):
        parent[root(i)] = root(j)
    return [root(i) for i in range(len(conversations))]


def train_neighbours(test: list[dict], train: list[dict], threshold: float) -> dict:
    """How close the test split comes to training, by the grouping's own rules: the test
    conversations that still have a near-copy in training (0 after a grouped split), and the
    highest similarity of a no-call test conversation's opening to a no-call train one."""
    train_calls = set().union(*(call_signatures(c) for c in train))
    sharing = sum(bool(call_signatures(c) & train_calls) for c in test)
    silent_test = [opening(c) for c in test if not call_signatures(c)]
    silent_train = [opening(c) for c in train if not call_signatures(c)]
    nearest = [0.0] * len(silent_test)
    if silent_test and silent_train:
        nearest = process.cdist(silent_test, silent_train, workers=-1,
                                scorer=Levenshtein.normalized_similarity).max(axis=1).tolist()
    return {"test_with_train_near_copy": sharing + sum(s >= threshold for s in nearest),
            "closest_test_train_similarity": round(max(nearest, default=0.0), 4)}


def split_by_group(groups: list[int], test_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(train indices, test indices): whole groups, in a seeded random order, go to the
    test split while they fit into its share of the conversations."""
    members: dict[int, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    order = sorted(members)
    random.Random(seed).shuffle(order)
    n_test = max(1, round(len(groups) * test_fraction))
    test: list[int] = []
    for group in order:
        if len(test) + len(members[group]) <= n_test:
            test += members[group]
    test_set = set(test)
    return [i for i in range(len(groups)) if i not in test_set], sorted(test)


def once_per_group(indices: list[int], groups: list[int]) -> list[int]:
    """The first of `indices` from each group: what the test split evaluates, so a near-copy
    group weighs once in the point estimates and in the bootstrap."""
    seen: set[int] = set()
    first = []
    for index in indices:
        if groups[index] not in seen:
            seen.add(groups[index])
            first.append(index)
    return first


def group_summary(groups: list[int]) -> dict:
    """How many near-duplicate groups (of two or more) there are, and how big."""
    sizes: dict[int, int] = {}
    for group in groups:
        sizes[group] = sizes.get(group, 0) + 1
    multi = [size for size in sizes.values() if size > 1]
    return {"near_duplicate_groups": len(multi),
            "near_duplicate_conversations": sum(multi),
            "near_duplicate_largest_group": max(multi, default=1)}
