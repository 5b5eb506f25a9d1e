"""The train/test split, with near-duplicate conversations kept on the same side.

Public tool-calling data holds many conversations that differ by a few characters (the same
request about another city, a re-sampled answer). Split at random, such a pair puts a copy of
a test conversation into training, and test scores read higher than they are. So
conversations are first grouped: two conversations whose texts are at least `threshold`
similar are linked, and a group is every conversation reachable through links; whole groups
are then assigned to one split.

Similarity is `1 - Levenshtein distance / length of the longer text`, on the dialogue only
(every message's text, and each call's name and arguments), normalized like the metrics'
string equality (NFKC, case folded, whitespace and punctuation removed). Tool schemas are
left out: many unrelated conversations share a tool, which would make them look alike.
All pairs are compared (rapidfuzz, C++): 0.1 s for 1,000 conversations, growing with the
square of the count.
"""

from __future__ import annotations

import json
import random

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from toolcall.text import normalize_text

CHUNK = 512  # rows of the similarity matrix computed at once (memory: CHUNK x n floats)


def similarity_text(conversation: dict) -> str:
    """The normalized dialogue of a stored conversation (tools left out)."""
    parts = []
    for message in conversation["messages"]:
        parts.append(message.get("content") or "")
        for call in message.get("tool_calls") or []:
            arguments = call["arguments"]
            parts += [call["name"], arguments if isinstance(arguments, str)
                      else json.dumps(arguments, ensure_ascii=False)]
    return normalize_text("".join(parts))


def similar_pairs(queries: list[str], choices: list[str], threshold: float) -> list[tuple[int, int]]:
    """Every (query index, choice index) whose similarity is at least `threshold`."""
    pairs = []
    for start in range(0, len(queries), CHUNK):
        scores = process.cdist(queries[start:start + CHUNK], choices,
                               scorer=Levenshtein.normalized_similarity, score_cutoff=threshold)
        for i, j in zip(*(scores >= threshold).nonzero(), strict=True):
            pairs.append((start + int(i), int(j)))
    return pairs


def near_duplicate_groups(texts: list[str], threshold: float) -> list[int]:
    """A group number per text: texts linked by a chain of similar pairs share one."""
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in similar_pairs(texts, texts, threshold):
        parent[root(i)] = root(j)
    return [root(i) for i in range(len(texts))]


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


def group_summary(groups: list[int]) -> dict:
    """How many near-duplicate groups (of two or more) there are, and how big."""
    sizes: dict[int, int] = {}
    for group in groups:
        sizes[group] = sizes.get(group, 0) + 1
    multi = [size for size in sizes.values() if size > 1]
    return {"near_duplicate_groups": len(multi),
            "near_duplicate_conversations": sum(multi),
            "near_duplicate_largest_group": max(multi, default=1)}
