"""Near-duplicates never cross the split, checked with a similarity computed here from scratch."""

import random
import unicodedata

from stages.prepare_dataset import split_conversations
from toolcall.splitting import near_duplicate_groups

THRESHOLD = 0.95


def _levenshtein(a: str, b: str) -> int:
    """Textbook dynamic programme, independent of the rapidfuzz code under test."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def _plain(conversation: dict) -> str:
    """The dialogue without whitespace and punctuation, case folded (NFKC)."""
    text = "".join(m["content"] + "".join(c["name"] + c["arguments"] for c in m.get("tool_calls", []))
                   for m in conversation["messages"])
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if not ch.isspace() and not unicodedata.category(ch).startswith("P"))


def _similarity(a: dict, b: dict) -> float:
    x, y = _plain(a), _plain(b)
    return 1 - _levenshtein(x, y) / max(len(x), len(y), 1)


def _conversations(n: int, seed: int) -> list[dict]:
    """Distinct conversations, a third of them with a near-copy (one or two characters
    changed) and some with a chain of them."""
    rng = random.Random(seed)
    base = []
    for i in range(n):
        ask = "".join(rng.choice("天地玄黄宇宙洪荒日月盈昃辰宿列张寒来暑往秋收冬藏") for _ in range(40))
        base.append({"id": f"c{i}", "tools": "[]", "messages": [
            {"role": "user", "content": f"第{i}问：{ask}"},
            {"role": "assistant", "content": f"答：{ask[::-1]}，编号{i * 7919}。"}]})
    copies = []
    for i, original in enumerate(base[: n // 3]):
        copy = {**original, "id": f"near{i}", "messages": [dict(m) for m in original["messages"]]}
        text = copy["messages"][1]["content"]
        copy["messages"][1]["content"] = text[:5] + "变" + text[6:] + ("！" if i % 2 else "又")
        copies.append(copy)
    return base + copies


def test_no_test_conversation_has_a_train_neighbour_above_the_threshold():
    conversations = _conversations(45, seed=0)
    train, test, stats = split_conversations(conversations, 0.3, seed=4, threshold=THRESHOLD)
    assert stats["test_with_train_neighbour"] == 0
    assert len(train) + len(test) == len(conversations) and test
    for t in test:
        for r in train:
            assert _similarity(t, r) < THRESHOLD, (t["id"], r["id"])
    # the planted near-copies really are above the threshold by the independent measure
    by_id = {c["id"]: c for c in conversations}
    assert all(_similarity(by_id[f"near{i}"], by_id[f"c{i}"]) >= THRESHOLD for i in range(15))
    assert stats["near_duplicate_groups"] == 15 and stats["near_duplicate_conversations"] == 30


def test_groups_follow_chains_of_similar_pairs():
    a = "北京今天天气晴朗气温二十五度湿度百分之四十风力三级适合出门散步"
    b = "南" + a[1:]             # one change from a
    c = b[:-1] + "游"            # one more from b: two from a, linked to a only through b
    d = "上海明天有雨记得带伞出门注意安全交通可能拥堵请提前出发"
    distance = lambda x, y: 1 - _levenshtein(x, y) / max(len(x), len(y))  # noqa: E731
    assert distance(a, b) >= THRESHOLD and distance(b, c) >= THRESHOLD > distance(a, c)
    groups = near_duplicate_groups([a, b, c, d], THRESHOLD)
    assert groups[0] == groups[1] == groups[2] != groups[3]
    assert len(set(near_duplicate_groups([a, b, c, d], 1.0))) == 4  # 1.0: exact copies only
