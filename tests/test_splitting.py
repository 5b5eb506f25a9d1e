"""Near-copies never cross the split: planted pairs of the kinds found in the real glaive sample,
and a similarity computed here from scratch for the requests without calls."""

import json
import random
import unicodedata

from stages.prepare_dataset import split_conversations
from toolcall.splitting import OPENING_CHARS, near_duplicate_groups

THRESHOLD = 0.5


def _levenshtein(a: str, b: str) -> int:
    """Textbook dynamic programme, independent of the rapidfuzz code under test."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def _opening(conversation: dict) -> str:
    """The user turns without whitespace and punctuation, case folded (NFKC), cut."""
    text = unicodedata.normalize("NFKC", "".join(
        m["content"] for m in conversation["messages"] if m["role"] == "user")).casefold()
    return "".join(ch for ch in text if not ch.isspace()
                   and not unicodedata.category(ch).startswith("P"))[:OPENING_CHARS]


def _similarity(a: dict, b: dict) -> float:
    x, y = _opening(a), _opening(b)
    return 1 - _levenshtein(x, y) / max(len(x), len(y), 1)


def _values(conversation: dict) -> list[list]:
    return [sorted(json.dumps(v, ensure_ascii=False) for v in json.loads(c["arguments"]).values())
            for m in conversation["messages"] for c in m.get("tool_calls", [])]


def _call(name: str, arguments: dict) -> dict:
    return {"role": "assistant", "content": "",
            "tool_calls": [{"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)}]}


def _exchange(request: str, name: str, arguments: dict, result: str, answer: str) -> dict:
    return {"tools": "[]", "messages": [{"role": "user", "content": request}, _call(name, arguments),
                                        {"role": "tool", "content": result},
                                        {"role": "assistant", "content": answer}]}


def _planted() -> dict[str, dict]:
    """The three kinds of near-copy seen in the real 1k sample, and a pair that must stay apart:
    the same tool asked for another amount in other words."""
    currency = _exchange("你好，我需要将1000美元转换成欧元，你能帮我吗？", "convert_currency",
                         {"amount": 1000, "from_currency": "USD", "to_currency": "EUR"},
                         '{"converted_amount": 850}', "当然，1000美元大约等于850欧元。")
    tip = _exchange("你好，我需要帮助计算餐厅账单的小费，总账单金额为100美元，我想留下15%的小费。",
                    "calculate_tip", {"bill_amount": 100, "tip_percentage": 15},
                    '{"tip_amount": 15}', "您应该留下15美元的小费。")
    password = _exchange("我需要一个新的密码，12个字符长。", "generate_password", {"length": 12},
                         '{"password": "aB3fg7KL9xYz"}', "这是您的新密码：aB3fg7KL9xYz。")
    return {
        "currency": currency,
        # a number in the tool result (and the answer) changed
        "currency_twin": {**currency, "messages": currency["messages"][:2] + [
            {"role": "tool", "content": '{"converted_amount": 850.5}'},
            {"role": "assistant", "content": "当然，1000美元大约等于850.5欧元。"}]},
        "tip": tip,
        # a word of the request changed; the tool is named otherwise in this copy
        "tip_twin": _exchange("你好，我需要帮助计算我的账单小费，总账单金额为$100，我想留下15%的小费。",
                              "calculate_tip_amount", {"bill": 100.0, "percent": 15},
                              '{"tip": 15}', "你的小费是15美元。"),
        "password": password,
        # one character of a value changed (the generated password)
        "password_twin": _exchange("我需要一个新的密码，12个字符长。", "generate_password", {"length": 12},
                                   '{"password": "aB3fG7KL9xYz"}', "这是您的新密码：aB3fG7KL9xYz。"),
        # the same tool, another request and other values: a different conversation
        "currency_other": _exchange("请帮我把500欧元换算成日元。", "convert_currency",
                                    {"amount": 500, "from_currency": "EUR", "to_currency": "JPY"},
                                    '{"converted_amount": 81250}', "500欧元约为81250日元。"),
    }


def _refusals(n: int, seed: int) -> list[dict]:
    """Requests that get no call: distinct random ones, and for every third a copy in other
    words (two characters of the request changed)."""
    rng = random.Random(seed)
    chars = "天地玄黄宇宙洪荒日月盈昃辰宿列张寒来暑往秋收冬藏闰余成岁律吕调阳云腾致雨露结为霜"
    out = []
    for i in range(n):
        ask = "".join(rng.choice(chars) for _ in range(24))
        out.append({"id": f"r{i}", "tools": "[]", "messages": [
            {"role": "user", "content": f"你能帮我{ask}吗？"},
            {"role": "assistant", "content": f"很抱歉，我无法{ask[::-1]}。"}]})
    for i in range(0, n, 3):
        original = out[i]["messages"]
        ask = original[0]["content"]
        copy = [{"role": "user", "content": "您" + ask[1:7] + "变" + ask[8:]},
                {"role": "assistant", "content": "抱歉，这超出了我的能力。"}]
        out.append({"id": f"r{i}copy", "tools": "[]", "messages": copy})
    return out


def test_planted_near_copies_are_grouped_and_another_request_is_not():
    planted = _planted()
    names = list(planted)
    groups = dict(zip(names, near_duplicate_groups(list(planted.values()), THRESHOLD), strict=True))
    for name in ("currency", "tip", "password"):
        assert groups[name] == groups[f"{name}_twin"], name
    assert groups["currency_other"] != groups["currency"]
    # the twins do make the same call, and the other request another one (checked here)
    assert _values(planted["tip"]) == [["100", "15"]] and _values(planted["tip_twin"]) == [["100.0", "15"]]
    assert _values(planted["currency_other"]) != _values(planted["currency"])


def test_planted_near_copies_always_land_on_one_side():
    planted = _planted()
    filler = _refusals(60, seed=1)
    conversations = [{"id": name, **c} for name, c in planted.items()] + filler
    counted_once = 0
    for seed in range(20):
        train, test, stats = split_conversations(conversations, 0.3, seed, THRESHOLD)
        side = {c["id"]: "test" for c in test} | {c["id"]: "train" for c in train}
        for name in ("currency", "tip", "password"):
            pair = {side.get(name), side.get(f"{name}_twin")}
            # both in training, or one of them in test and its twin neither tested nor trained on
            assert pair in ({"train"}, {"test", None}), (seed, name, pair)
            counted_once += pair == {"test", None}
        assert stats["test_with_train_near_copy"] == 0
        assert len(train) + len(test) + stats["test_near_copies_dropped"] == len(conversations)
    assert counted_once  # some seeds put a planted pair in test: evaluated once, not twice


def test_requests_without_calls_have_no_similar_request_across_the_split():
    conversations = _refusals(45, seed=0)
    train, test, stats = split_conversations(conversations, 0.3, seed=4, threshold=THRESHOLD)
    assert stats["test_with_train_near_copy"] == 0
    assert len(train) + len(test) + stats["test_near_copies_dropped"] == len(conversations) and test
    closest = max(_similarity(t, r) for t in test for r in train)
    assert closest < THRESHOLD
    assert abs(stats["closest_test_train_similarity"] - closest) < 1e-4
    # the planted copies really are above the threshold by the independent measure, and the
    # distinct requests below it
    by_id = {c["id"]: c for c in conversations}
    assert all(_similarity(by_id[f"r{i}copy"], by_id[f"r{i}"]) >= THRESHOLD for i in range(0, 45, 3))
    assert stats["near_duplicate_groups"] == 15 and stats["near_duplicate_conversations"] == 30


def test_groups_follow_chains_of_similar_requests():
    def ask(text: str) -> dict:
        return {"tools": "[]", "messages": [{"role": "user", "content": text},
                                            {"role": "assistant", "content": "好的。"}]}

    a = "北京今天天气晴朗气温二十五度湿度百分之四十"
    b = "南京今天天气晴朗气温二十五度湿度" + "八九十一"     # 5 changes from a
    c = "南京明日天晴气温二十五度湿" + "八九十一二三四五"  # far from a, linked to it through b
    d = "上海明天有雨记得带伞出门注意安全交通可能拥堵"
    similarity = lambda x, y: 1 - _levenshtein(x, y) / max(len(x), len(y))  # noqa: E731
    assert similarity(a, b) >= THRESHOLD and similarity(b, c) >= THRESHOLD > similarity(a, c)
    groups = near_duplicate_groups([ask(a), ask(b), ask(c), ask(d)], THRESHOLD)
    assert groups[0] == groups[1] == groups[2] != groups[3]
    assert len(set(near_duplicate_groups([ask(a), ask(b), ask(c), ask(d)], 1.0))) == 4
