"""Scoring generated assistant turns against gold (rules: docs/evaluation.md).

Pure functions: `score_turn` judges one turn, `aggregate` turns the judged turns into
one flat dict of numbers (counts always present, None for an empty denominator),
`bootstrap_intervals` resamples conversations for the headline 95% intervals, and
`paired_differences` compares two runs on the same conversations (compare-models' verdict).
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections import Counter, defaultdict

from toolcall.families import Family
from toolcall.parsers import get_parser
from toolcall.parsing import CALLS, FABRICATED, MALFORMED, ParsedTurn
from toolcall.schema import call_violations, drop_nulls, function_of
from toolcall.text import normalize_text
from toolcall.turns import STRATA, turn_key

STRICT, LENIENT, SOFT = "strict", "lenient", "soft"
HEADLINE = ["call_exact_match", "no_call_accuracy_with_tools", "tool_score", "decision_f1"]


# ----------------------------------------------------------------------------- equality


TOKEN = re.compile(r"[a-z0-9_]+|\S")


def text_tokens(text: str) -> list[str]:
    """Each CJK character (and other symbol) one token, each ASCII word one token."""
    return TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())


def _lcs(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence, bit-parallel (Allison and Dix 1986, in Hyyrö's
    form): b's positions of each token are the bits of one integer, and each token of `a`
    updates them all at once, so a long answer costs len(a) big-integer steps, not
    len(a) x len(b) Python steps (gold replay of LLaMA-Factory's 300-row zh demo: 33 s -> 2 s)."""
    where: dict[str, int] = {}
    for j, token in enumerate(b):
        where[token] = where.get(token, 0) | 1 << j
    mask = (1 << len(b)) - 1
    v = mask  # a 0 bit at j: b[j] ends a common subsequence one longer
    for token in a:
        u = v & where.get(token, 0)
        v = ((v + u) | (v - u)) & mask
    return len(b) - v.bit_count()


def rouge_l_f1(prediction: str, reference: str) -> float:
    pred, ref = text_tokens(prediction), text_tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    common = _lcs(pred, ref)
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def bleu4(prediction: str, reference: str) -> float:
    """Sentence BLEU-4 on character-level tokens, add-one smoothed for n > 1."""
    pred, ref = text_tokens(prediction), text_tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    log_precision = 0.0
    for n in range(1, 5):
        pred_ngrams = Counter(tuple(pred[i:i + n]) for i in range(len(pred) - n + 1))
        ref_ngrams = Counter(tuple(ref[i:i + n]) for i in range(len(ref) - n + 1))
        overlap = sum((pred_ngrams & ref_ngrams).values())
        total = sum(pred_ngrams.values())
        if n == 1 and overlap == 0:
            return 0.0
        smooth = 0 if n == 1 else 1
        log_precision += math.log((overlap + smooth) / (total + smooth)) / 4
    brevity = min(0.0, 1 - len(ref) / len(pred))
    return math.exp(brevity + log_precision)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_number(value: object) -> float | None:
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _as_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def values_equal(pred: object, gold: object, level: str = STRICT) -> bool:
    """Value equality at one of three levels (strict, lenient, soft): docs/evaluation.md."""
    if isinstance(gold, dict) or isinstance(pred, dict):
        if not (isinstance(gold, dict) and isinstance(pred, dict)):
            return False
        pred, gold = drop_nulls(pred), drop_nulls(gold)
        return pred.keys() == gold.keys() and all(
            values_equal(pred[k], gold[k], level) for k in gold
        )
    if isinstance(gold, list) or isinstance(pred, list):
        return (
            isinstance(gold, list) and isinstance(pred, list) and len(gold) == len(pred)
            and all(values_equal(p, g, level) for p, g in zip(pred, gold, strict=True))
        )
    if isinstance(gold, bool) or isinstance(pred, bool):
        if isinstance(gold, bool) and isinstance(pred, bool):
            return gold is pred
        return level != STRICT and _as_bool(pred) is not None and _as_bool(pred) == _as_bool(gold)
    if _is_number(gold) and _is_number(pred):
        return float(gold) == float(pred)
    if _is_number(gold) or _is_number(pred):
        if level == STRICT:
            return False
        a, b = _as_number(pred), _as_number(gold)
        return a is not None and b is not None and a == b
    if isinstance(gold, str) and isinstance(pred, str):
        if normalize_text(pred) == normalize_text(gold):
            return True
        return level == SOFT and rouge_l_f1(pred, gold) >= 0.7
    return pred is None and gold is None


def calls_equal(pred: list[dict], gold: list[dict], level: str = STRICT) -> bool:
    """Calls of one turn match in any order: names exactly, arguments at `level`."""
    remaining = list(pred)
    for g in gold:
        match = next(
            (p for p in remaining
             if p["name"] == g["name"] and values_equal(p["arguments"], g["arguments"], level)),
            None,
        )
        if match is None:
            return False
        remaining.remove(match)
    return not remaining


# ----------------------------------------------------------------------------- one turn


def _pair_calls(pred: list[dict], gold: list[dict]) -> list[tuple[dict | None, dict | None]]:
    """Pair each gold call with a predicted call of the same name (greedy, in order)."""
    remaining, pairs = list(pred), []
    for g in gold:
        p = next((p for p in remaining if p["name"] == g["name"]), None)
        if p is not None:
            remaining.remove(p)
        pairs.append((p, g))
    return pairs + [(p, None) for p in remaining]


def schema_valid(call: dict, tools: list[dict]) -> bool:
    """The call passes the validator cleaning applied to the gold calls (toolcall.schema)."""
    return not call_violations(call, tools)


def error_type(stratum: str, parsed: ParsedTurn, gold_calls: list[dict]) -> str:
    """The first thing wrong with a turn, or `correct`."""
    if parsed.kind == FABRICATED:  # wrong in every stratum: no tool ran
        return FABRICATED
    predicted_call = parsed.kind in (CALLS, MALFORMED)
    if stratum != "call":
        return "spurious_call" if predicted_call else "correct"
    if not predicted_call:
        return "missed_call"
    if parsed.kind == MALFORMED:
        return "malformed"
    if Counter(c["name"] for c in parsed.calls) != Counter(c["name"] for c in gold_calls):
        return "wrong_name"
    if calls_equal(parsed.calls, gold_calls, STRICT):
        return "correct"
    for p, g in _pair_calls(parsed.calls, gold_calls):
        p_args, g_args = drop_nulls(p["arguments"]), drop_nulls(g["arguments"])
        if set(g_args) - set(p_args):
            return "missing_arg"
        if set(p_args) - set(g_args):
            return "extra_arg"
    if calls_equal(parsed.calls, gold_calls, LENIENT):
        return "type_mismatch"
    return "value_mismatch"


def score_turn(sample: dict, parsed: ParsedTurn) -> dict:
    """Everything `aggregate` needs about one turn, as plain JSON-able values."""
    tools, gold = sample["tools"], sample["gold"]
    gold_calls = gold.get("tool_calls") or []
    calls = parsed.calls if parsed.kind == CALLS else []  # a malformed turn's are never judged
    offered = {function_of(t)["name"] for t in tools}
    pairs = _pair_calls(calls, gold_calls) if gold_calls else []
    key_tp = key_fp = key_fn = value_tp = 0
    for p, g in pairs:
        p_args = drop_nulls(p["arguments"]) if p else {}
        g_args = drop_nulls(g["arguments"]) if g else {}
        key_tp += len(p_args.keys() & g_args.keys())
        key_fp += len(p_args.keys() - g_args.keys())
        key_fn += len(g_args.keys() - p_args.keys())
        value_tp += sum(values_equal(p_args[k], g_args[k]) for k in p_args.keys() & g_args.keys())
    names_right = bool(gold_calls) and Counter(c["name"] for c in calls) == Counter(
        c["name"] for c in gold_calls)
    text_out = parsed.kind not in (CALLS, MALFORMED)
    return {
        "stratum": sample["stratum"],
        "predicted_call": parsed.kind in (CALLS, MALFORMED),
        "fabricated": parsed.kind == FABRICATED,
        "format_valid": parsed.format_valid,
        "n_pred_calls": len(calls),
        "hallucinated": any(c["name"] not in offered for c in calls),
        "pred_schema_valid": sum(schema_valid(c, tools) for c in calls),
        "gold_schema_valid": sum(schema_valid(c, tools) for c in gold_calls),
        "n_gold_calls": len(gold_calls),
        "name_match": names_right,
        "exact_strict": bool(gold_calls) and calls_equal(calls, gold_calls, STRICT),
        "exact_lenient": bool(gold_calls) and calls_equal(calls, gold_calls, LENIENT),
        "exact_soft": bool(gold_calls) and calls_equal(calls, gold_calls, SOFT),
        "key_tp": key_tp, "key_fp": key_fp, "key_fn": key_fn, "value_tp": value_tp,
        "missing_arg": names_right and any(
            set(drop_nulls(g["arguments"])) - set(drop_nulls(p["arguments"])) for p, g in pairs
            if p and g),
        "extra_arg": names_right and any(
            set(drop_nulls(p["arguments"])) - set(drop_nulls(g["arguments"])) for p, g in pairs
            if p and g),
        "rouge_l": rouge_l_f1(parsed.content, gold["content"]) if not gold_calls and text_out
        else None,
        "bleu4": bleu4(parsed.content, gold["content"]) if not gold_calls and text_out else None,
        "error_type": error_type(sample["stratum"], parsed, gold_calls),
    }


# ----------------------------------------------------------------------------- aggregate


def _share(m: dict, name: str, numerator: int, denominator: int) -> None:
    """A rate with its evidence: m[name], and m[name_numerator] / m[name_denominator], so a
    report can show 0.400 (6/15) rather than a bare 0.400."""
    m[name] = _rate(numerator, denominator)
    m[f"{name}_numerator"], m[f"{name}_denominator"] = numerator, denominator


def _rate(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _right_without_call(turn: dict) -> bool:
    """A turn that needed no call made none, and did not invent a tool's output instead."""
    return not turn["predicted_call"] and not turn["fabricated"]


def aggregate(turns: list[dict]) -> dict:
    """Flat metrics over judged turns (each from `score_turn`, plus `conversation_id`)."""
    by_stratum = defaultdict(list)
    for t in turns:
        by_stratum[t["stratum"]].append(t)
    calls = by_stratum["call"]
    m: dict[str, float | int | None] = {"turns": len(turns)}
    for s in STRATA:
        m[f"turns_{s}"] = len(by_stratum[s])
    m["conversations"] = len({t["conversation_id"] for t in turns})

    _share(m, "call_exact_match", sum(t["exact_strict"] for t in calls), len(calls))
    nct = by_stratum["nocall_with_tools"]
    _share(m, "no_call_accuracy_with_tools", sum(_right_without_call(t) for t in nct), len(nct))
    # The harmonic mean: a model that never calls (or always calls) scores 0, not 0.5.
    exact, abstain = m["call_exact_match"], m["no_call_accuracy_with_tools"]
    m["tool_score"] = (None if exact is None or abstain is None
                       else _rate(2 * exact * abstain, exact + abstain) or 0.0)

    # An invented tool result is a wrong decision either way: a false positive where no call
    # was needed (it acts as if a tool ran), a false negative where one was (none was made).
    tp = sum(t["predicted_call"] and t["stratum"] == "call" for t in turns)
    fp = sum((t["predicted_call"] or t["fabricated"]) and t["stratum"] != "call" for t in turns)
    fn = sum(not t["predicted_call"] and t["stratum"] == "call" for t in turns)
    m["decision_precision"] = _rate(tp, tp + fp)
    m["decision_recall"] = _rate(tp, tp + fn)
    m["decision_f1"] = _rate(2 * tp, 2 * tp + fp + fn)
    m["decision_accuracy"] = _rate(
        sum(t["predicted_call"] == (t["stratum"] == "call") and not t["fabricated"] for t in turns),
        len(turns))
    for s in STRATA[1:]:
        group = by_stratum[s]
        m[f"no_call_accuracy_{s}"] = _rate(sum(_right_without_call(t) for t in group), len(group))
    _share(m, "fabricated_observation_rate", sum(t["fabricated"] for t in turns), len(turns))

    attempted = [t for t in turns if t["predicted_call"]]
    m["predicted_call_turns"] = len(attempted)
    _share(m, "format_valid_rate", sum(t["format_valid"] for t in attempted), len(attempted))
    with_calls = [t for t in attempted if t["n_pred_calls"]]
    _share(m, "hallucinated_function_rate", sum(t["hallucinated"] for t in with_calls), len(with_calls))
    n_pred = sum(t["n_pred_calls"] for t in turns)
    n_gold = sum(t["n_gold_calls"] for t in turns)
    m["schema_valid_rate"] = _rate(sum(t["pred_schema_valid"] for t in turns), n_pred)
    m["gold_schema_valid_rate"] = _rate(sum(t["gold_schema_valid"] for t in turns), n_gold)
    _share(m, "call_name_accuracy", sum(t["name_match"] for t in calls), len(calls))
    _share(m, "call_lenient_match", sum(t["exact_lenient"] for t in calls), len(calls))
    m["call_soft_match"] = _rate(sum(t["exact_soft"] for t in calls), len(calls))

    key_tp, key_fp, key_fn, value_tp = (sum(t[k] for t in calls)
                                        for k in ("key_tp", "key_fp", "key_fn", "value_tp"))
    m["arg_key_precision"] = _rate(key_tp, key_tp + key_fp)
    m["arg_key_recall"] = _rate(key_tp, key_tp + key_fn)
    m["arg_key_f1"] = _f1(m["arg_key_precision"], m["arg_key_recall"])
    m["arg_value_precision"] = _rate(value_tp, key_tp + key_fp)
    m["arg_value_recall"] = _rate(value_tp, key_tp + key_fn)
    m["arg_value_f1"] = _f1(m["arg_value_precision"], m["arg_value_recall"])
    named = [t for t in calls if t["name_match"]]
    m["missing_arg_rate"] = _rate(sum(t["missing_arg"] for t in named), len(named))
    m["extra_arg_rate"] = _rate(sum(t["extra_arg"] for t in named), len(named))

    m["text_rouge_l"] = _mean([t["rouge_l"] for t in turns if t["rouge_l"] is not None])
    m["text_bleu4"] = _mean([t["bleu4"] for t in turns if t["bleu4"] is not None])

    per_conversation = defaultdict(list)
    for t in turns:
        per_conversation[t["conversation_id"]].append(t["error_type"] == "correct")
    _share(m, "conversation_success_rate", sum(all(v) for v in per_conversation.values()),
           len(per_conversation))
    for error in ERROR_TYPES:
        m[f"errors_{error}"] = sum(t["error_type"] == error for t in turns)
    return m


ERROR_TYPES = ["missed_call", "spurious_call", "wrong_name", "missing_arg", "extra_arg",
               "value_mismatch", "type_mismatch", "malformed", FABRICATED]

LOWER_IS_BETTER = {"hit_token_limit_rate", "hallucinated_function_rate", "fabricated_observation_rate"}

# One line per metric and error type the reports show (docs/evaluation.md has the rules).
DEFINITIONS = {
    "call_exact_match": "turns that need a call: every call's name and arguments strictly right",
    "no_call_accuracy_with_tools": "turns with tools that need no call: the model made none",
    "tool_score": "harmonic mean of the two above: 0 for a model that never (or always) calls",
    "decision_f1": "call or no call, over every turn: F1 with 'a call is needed' as positive",
    "hit_token_limit_rate": "turns cut at max_new_tokens (never ended)",
    "format_valid_rate": "call attempts written exactly in the family's format (the rest are malformed)",
    "call_name_accuracy": "turns that need a call: the right function names",
    "call_lenient_match": "as call_exact_match, with '1' = 1 and 'true' = true",
    "arg_value_f1": "argument values right, F1 over the gold and predicted arguments",
    "hallucinated_function_rate": "turns with calls that name a tool not offered",
    "conversation_success_rate": "conversations with every assistant turn right",
    "fabricated_observation_rate": "turns where the model wrote a tool's result itself (never right)",
    "missed_call": "a call was needed, the model wrote text",
    "spurious_call": "no call was needed, the model called",
    "wrong_name": "the call names another function",
    "missing_arg": "a gold argument is missing",
    "extra_arg": "an argument the gold call does not have",
    "value_mismatch": "an argument's value differs",
    "type_mismatch": "an argument's value has another JSON type",
    "malformed": "a call attempt that does not parse",
    FABRICATED: "the model wrote the tool-result marker: it invented a tool's output",
}


def bootstrap_intervals(
    turns: list[dict], samples: int, seed: int, metric_names: list[str] = HEADLINE
) -> dict:
    """95% intervals of `metric_names`, resampling whole conversations with replacement."""
    by_conversation = defaultdict(list)
    for t in turns:
        by_conversation[t["conversation_id"]].append(t)
    groups = list(by_conversation.values())
    rng = random.Random(seed)
    values = defaultdict(list)
    for _ in range(samples if groups else 0):
        resample = [t for _ in groups for t in rng.choice(groups)]
        result = aggregate(resample)
        for name in metric_names:
            if result[name] is not None:
                values[name].append(result[name])
    out = {}
    for name in metric_names:
        out[f"{name}_ci_low"], out[f"{name}_ci_high"] = _percentiles(values[name])
    return out


def _percentiles(values: list[float]) -> tuple[float | None, float | None]:
    """The 2.5th and 97.5th percentiles (nearest rank, as the headline intervals)."""
    v = sorted(values)
    if not v:
        return None, None
    return v[int(0.025 * (len(v) - 1))], v[int(math.ceil(0.975 * (len(v) - 1)))]


BETTER, WORSE, NO_DIFFERENCE = "better", "worse", "no detectable difference"


def paired_differences(a: list[dict], b: list[dict], samples: int, seed: int,
                       metric_names: list[str] = HEADLINE) -> dict[str, dict]:
    """Run `a` minus run `b` on each metric, over the turns both judged, with a 95% interval
    from a paired bootstrap: each resample draws the same conversations for both runs, so the
    interval is of the difference on the same questions (narrower than two separate
    intervals, which ignore that both runs faced the same hard and easy conversations).
    {metric: {"difference", "low", "high", "verdict", "conversations"}}; the verdict is
    "better" when the whole interval is above 0, "worse" below, else no detectable difference."""
    common = {turn_key(t) for t in a} & {turn_key(t) for t in b}
    by_conversation: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    for side, turns in enumerate((a, b)):
        for t in turns:
            if turn_key(t) in common:
                by_conversation[t["conversation_id"]][side].append(t)
    groups = list(by_conversation.values())

    def difference(chosen: list[tuple[list, list]]) -> dict[str, float | None]:
        left = aggregate([t for g in chosen for t in g[0]])
        right = aggregate([t for g in chosen for t in g[1]])
        return {n: None if left[n] is None or right[n] is None else left[n] - right[n]
                for n in metric_names}

    point = difference(groups)
    rng = random.Random(seed)
    resampled = defaultdict(list)
    for _ in range(samples if groups else 0):
        for name, value in difference([rng.choice(groups) for _ in groups]).items():
            if value is not None:
                resampled[name].append(value)
    out = {}
    for name in metric_names:
        low, high = _percentiles(resampled[name])
        verdict = (BETTER if low is not None and low > 0 else
                   WORSE if high is not None and high < 0 else NO_DIFFERENCE)
        out[name] = {"difference": point[name], "low": low, "high": high, "verdict": verdict,
                     "conversations": len(groups)}
    return out


def replay_gold(samples: list[dict], family: Family) -> list[dict]:
    """Each sample's gold turn written exactly as the model should write it, parsed by the
    family's parser and scored: the evaluator's own ceiling, 1.0 on every match and decision
    metric (docs/evaluation.md)."""
    return [{"conversation_id": s["conversation_id"],
             **score_turn(s, get_parser(family.name)(family.assistant_text(s["gold"]), s["tools"]))}
            for s in samples]
