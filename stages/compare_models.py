"""compare-models: which model calls tools better after fine-tuning, by how much, and
where each one fails.

Reads the model list from params (not from whatever files lie around) and, for every
model and variant (base, tuned, and the chat reference where params list one), its
metrics, training curves and per-turn results. Writes:
- metrics/compare.json (numbers for `dvc metrics show`), metrics/compare.csv,
  metrics/compare.md: first the verdict (which model calls tools better, and each tuned model
  against its base and chat reference: the difference on each headline metric with its 95%
  interval from a paired bootstrap over the same test conversations, and the words "better",
  "worse" or "no detectable difference"), then headline metrics with 95% intervals and the
  tuned-minus-base gain,
  the settings that differ between models (bold), the error types;
- metrics/plots/{headline,errors,loss}.csv, drawn by the plots in dvc.yaml;
- metrics/compare.html: the same tables and charts in one self-contained page.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import json
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from toolcall.bfcl import CATEGORIES
from toolcall.bfcl_scoring import LEADERBOARD, SUMMARY
from toolcall.checkpoints import describe_weights, is_standin
from toolcall.io import PipelineError, log, read_json, read_jsonl, run_stage, write_json, write_text
from toolcall.layout import PLOTS, compare_file, result_file, results_dir
from toolcall.metrics import (
    DEFINITIONS,
    ERROR_TYPES,
    HEADLINE,
    LOWER_IS_BETTER,
    NO_DIFFERENCE,
    WORSE,
    paired_differences,
)
from toolcall.params import Params, load_params
from toolcall.report import Table, html_page, svg_grouped_bars, svg_lines, to_html_table, to_markdown

DIAGNOSTICS = ["fabricated_observation_rate", "hit_token_limit_rate", "format_valid_rate",
               "call_name_accuracy", "call_lenient_match", "arg_value_f1", "hallucinated_function_rate",
               "conversation_success_rate"]
FAILED_TURNS_SHOWN = 5  # per tuned model in the HTML report


class Tables(NamedTuple):
    """Every table of the comparison, by what it shows (compare.md and the HTML page order
    them each their own way)."""

    verdict: Table
    headline: Table
    settings: Table
    errors: Table
    provenance: Table
    bfcl: Table
    published: Table


def flatten(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def variants_of(params: Params, key: str) -> list[str]:
    return ["base", "tuned"] + (["chat"] if key in params.chat_references else [])


def model_settings(params: Params, key: str) -> dict:
    """The settings in effect for one model, flat, as the table shows them."""
    model = params.model(key)
    settings = {"family": model.family, "hub_id": model.hub_id, "revision": model.revision}
    if key in params.chat_references:
        settings["chat_reference"] = params.chat_references[key].hub_id
    settings.update(flatten(dataclasses.asdict(params.train_for(key)), "train."))
    settings.update(flatten(dataclasses.asdict(params.lora_for(key)), "lora."))
    return settings


def _read_curve(path: Path) -> list[tuple[float, float]]:
    with path.open(newline="") as f:
        return [(float(r["step"]), float(r["loss"])) for r in csv.DictReader(f)]


def load_results(params: Params) -> dict[str, dict]:
    """{model: {variant: metrics, ..., "train": train.json, "curves": {...}, "failed": [...]}}"""
    results = {}
    for key in params.models:
        folder = results_dir(key)
        results[key] = {}
        for variant in variants_of(params, key):
            path = result_file(key, variant, kind="details")
            if not path.exists():
                stage = "evaluate-toolcall-chat-reference" if variant == "chat" else "evaluate-toolcall"
                raise PipelineError(f"{path} is missing: run `dvc repro {stage}@{key}`")
            results[key][variant] = read_json(path)
            results[key][f"{variant}.meta"] = read_json(folder / f"{variant}.meta.json")
            bfcl = result_file(key, variant, "bfcl")
            if not bfcl.exists():
                stage = "evaluate-bfcl-chat-reference" if variant == "chat" else "evaluate-bfcl"
                raise PipelineError(f"{bfcl} is missing: run `dvc repro {stage}@{key}`")
            results[key][f"{variant}.bfcl"] = read_json(bfcl)
        results[key]["train"] = read_json(folder / "train.json")
        results[key]["curves"] = {f"{key} {split}": _read_curve(folder / f"{split}_loss.csv")
                                  for split in ("train", "eval")}
        for variant in variants_of(params, key):
            results[key][f"{variant}.turns"] = read_jsonl(result_file(key, variant, kind="turns"))
        results[key]["failed"] = [t for t in results[key]["tuned.turns"]
                                  if t["error_type"] != "correct"][:FAILED_TURNS_SHOWN]
    return results


class Comparison(NamedTuple):
    """Run `a` against run `b` (model key, variant), metric by metric
    (toolcall.metrics.paired_differences)."""

    a: tuple[str, str]
    b: tuple[str, str]
    metrics: dict[str, dict]


def pairs_compared(params: Params) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """What a user asks: tuned against tuned (every pair of models), then each tuned model
    against its base and its chat reference."""
    keys = list(params.models)
    pairs = [((a, "tuned"), (b, "tuned")) for i, a in enumerate(keys) for b in keys[i + 1:]]
    pairs += [((k, "tuned"), (k, "base")) for k in keys]
    pairs += [((k, "tuned"), (k, "chat")) for k in keys if k in params.chat_references]
    return pairs


def compare_runs(results: dict, params: Params) -> list[Comparison]:
    comparisons = []
    for a, b in pairs_compared(params):
        metrics = paired_differences(results[a[0]][f"{a[1]}.turns"], results[b[0]][f"{b[1]}.turns"],
                                     params.evaluate.bootstrap_samples, params.seed)
        comparisons.append(Comparison(a, b, metrics))
    return comparisons


def _signed(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value + 0.0:+.{digits}f}"  # + 0.0: never "-0.000"


def _difference(found: dict) -> str:
    if found["low"] is None:
        return _signed(found["difference"])
    return f"{_signed(found['difference'])} [{_signed(found['low'], 2)}, {_signed(found['high'], 2)}]"


def verdict_table(comparisons: list[Comparison]) -> Table:
    """One line per comparison and headline metric; worse is marked as every regression is."""
    table = Table("Verdict (difference with its 95% interval, paired bootstrap over the same test "
                  "conversations)", ["comparison", "metric", "difference", "verdict", "conversations"], [])
    red = set()
    for comparison in comparisons:
        label = f"{' '.join(comparison.a)} vs {' '.join(comparison.b)}"
        for name, found in comparison.metrics.items():
            if found["verdict"] == WORSE:
                red.add((len(table.rows), 3))
            table.rows.append([label, name, _difference(found), found["verdict"],
                               str(found["conversations"])])
    table.red_cells = frozenset(red)
    return table


def verdict_sentence(results: dict, comparisons: list[Comparison]) -> str:
    """The answer in one sentence: the best tuned model by tool_score (which a model that never
    calls cannot win: docs/evaluation.md), and whether the runner-up is detectably behind."""
    keys = list(results)
    best = max(keys, key=lambda k: results[k]["tuned"].get("tool_score") or 0.0)
    score = _cell(results[best]["tuned"].get("tool_score"))
    if len(keys) == 1:
        found = next(c for c in comparisons if c.b == (best, "base")).metrics["tool_score"]
        return (f"Tuned {best} against its base on tool_score: {_difference(found)}, "
                f"{found['verdict']} ({found['conversations']} test conversations).")
    runner_up = max((k for k in keys if k != best),
                    key=lambda k: results[k]["tuned"].get("tool_score") or 0.0)
    comparison = next(c for c in comparisons if {c.a[0], c.b[0]} == {best, runner_up}
                      and c.a[1] == c.b[1] == "tuned")
    found = comparison.metrics["tool_score"]
    sign = 1 if comparison.a[0] == best else -1
    low, high = (None, None) if found["low"] is None else sorted((sign * found["low"], sign * found["high"]))
    interval = "" if low is None else f" [{_signed(low, 2)}, {_signed(high, 2)}]"
    difference = _signed(None if found["difference"] is None else sign * found["difference"])
    evidence = (f"tool_score {score} vs {_cell(results[runner_up]['tuned'].get('tool_score'))}, "
                f"difference {difference}{interval} over {found['conversations']} paired test "
                "conversations")
    if found["verdict"] == NO_DIFFERENCE:
        if found["difference"] == 0:  # no leader to name: max() picked the first of equals
            return f"No detectable difference between the tuned models: they tie ({evidence})."
        return (f"No detectable difference between the tuned models: {best} leads ({evidence}), "
                "but the interval includes 0.")
    return f"{best} calls tools better than {runner_up} after fine-tuning ({evidence})."



def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _counted(metrics: dict, name: str) -> str:
    """A rate with its evidence where it is a share of counted things: 0.400 (6/15)."""
    numerator, denominator = metrics.get(f"{name}_numerator"), metrics.get(f"{name}_denominator")
    text = _cell(metrics.get(name))
    return text if numerator is None or not denominator else f"{text} ({numerator}/{denominator})"


def _interval(metrics: dict, name: str) -> str:
    low, high = metrics.get(f"{name}_ci_low"), metrics.get(f"{name}_ci_high")
    text = _counted(metrics, name)
    return text if low is None else f"{text} [{low:.2f}, {high:.2f}]"


def _gain(results: dict, name: str) -> float | None:
    tuned, base = results["tuned"].get(name), results["base"].get(name)
    return None if tuned is None or base is None else tuned - base


def runs_of(params: Params) -> list[tuple[str, str]]:
    return [(k, v) for k in params.models for v in variants_of(params, k)]


def build_numbers(results: dict, runs: list[tuple[str, str]]) -> dict:
    """Flat numbers for compare.json: <model>.<variant>.<metric> and <model>.gain.<metric>."""
    numbers = {}
    for key, variant in runs:
        for name in HEADLINE + DIAGNOSTICS + [f"errors_{e}" for e in ERROR_TYPES]:
            numbers[f"{key}.{variant}.{name}"] = results[key][variant].get(name)
    for key in results:
        for name in HEADLINE + DIAGNOSTICS:
            numbers[f"{key}.gain.{name}"] = _gain(results[key], name)
        numbers[f"{key}.train.eval_loss"] = results[key]["train"]["eval_loss"]
    for key, variant in runs:
        for name in BFCL_ROWS:
            numbers[f"{key}.{variant}.{name}"] = results[key][f"{variant}.bfcl"].get(name)
    for key in results:
        for name in BFCL_ROWS:
            numbers[f"{key}.gain.{name}"] = _bfcl_gain(results[key], name)
    return numbers


BFCL_ROWS = [f"bfcl_{c}" for c in CATEGORIES] + SUMMARY


def is_regression(name: str, change: float | None) -> bool:
    """Whether tuning made `name` worse (marked ▼ and red in every table)."""
    return change is not None and (change > 0 if name in LOWER_IS_BETTER else change < 0)


def definitions_table() -> Table:
    return Table("What each figure means (rules: docs/evaluation.md)", ["figure", "meaning"],
                 [[name, meaning + (" (lower is better)" if name in LOWER_IS_BETTER else "")]
                  for name, meaning in DEFINITIONS.items()])


def _bfcl_gain(results: dict, name: str) -> float | None:
    tuned, base = results["tuned.bfcl"].get(name), results["base.bfcl"].get(name)
    return None if tuned is None or base is None else tuned - base


def bfcl_tables(results: dict, runs: list[tuple[str, str]]) -> tuple[Table, Table]:
    """BFCL per category and BFCL's summary figures per run, the tuned-minus-base change
    (regressions marked), and the leaderboard's published figures for the chat models."""
    keys = list(results)
    first = results[keys[0]]["base.bfcl"]
    table = Table("BFCL v4 single-turn (accuracy by BFCL's AST rules)",
                  ["metric", "questions"] + [f"{k} {v}" for k, v in runs] + [f"{k} gain" for k in keys],
                  [], red_cells=frozenset())
    red = set()
    for i, name in enumerate(BFCL_ROWS):
        gains = [_bfcl_gain(results[k], name) for k in keys]
        red |= {(i, 2 + len(runs) + j) for j, g in enumerate(gains) if is_regression(name, g)}
        table.rows.append([name, str(first.get(f"{name}_questions", "–"))]
                          + [_cell(results[k][f"{v}.bfcl"].get(name)) for k, v in runs]
                          + [_cell(g) for g in gains])
    table.red_cells = frozenset(red)
    columns = list(next(v for k, v in LEADERBOARD.items() if k != "source"))
    published = Table(f"Published BFCL figures of the chat models, percent ({LEADERBOARD['source']})",
                      ["model"] + columns,
                      [[k] + [f"{v[c]:.2f}" for c in columns] for k, v in LEADERBOARD.items()
                       if k != "source"])
    return table, published


def build_tables(results: dict, runs: list[tuple[str, str]], settings: dict[str, dict],
                 comparisons: list[Comparison]) -> Tables:
    keys = list(results)
    run_names = [f"{k} {v}" for k, v in runs]
    headline = Table("Headline (95% interval by conversation bootstrap)",
                     ["metric"] + run_names + [f"{k} gain" for k in keys], [])
    red = set()
    for i, name in enumerate(HEADLINE + DIAGNOSTICS):
        cells = [_interval(results[k][v], name) if name in HEADLINE else _counted(results[k][v], name)
                 for k, v in runs]
        gains = [_gain(results[k], name) for k in keys]
        red |= {(i, 1 + len(runs) + j) for j, g in enumerate(gains) if is_regression(name, g)}
        headline.rows.append([name] + cells + [_cell(g) for g in gains])
    headline.red_cells = frozenset(red)

    names = sorted({n for s in settings.values() for n in s})
    values = [[str(settings[k].get(n, "–")) for k in keys] for n in names]
    differing = frozenset(i for i, v in enumerate(values) if len(set(v)) > 1)
    settings_table = Table("Settings in effect (differences in bold)", ["param"] + keys,
                           [[n] + v for n, v in zip(names, values, strict=True)], differing)

    errors = Table("Error types (turns)", ["error"] + run_names,
                   [[e] + [str(results[k][v].get(f"errors_{e}", 0)) for k, v in runs]
                    for e in ERROR_TYPES])
    provenance = Table("What was evaluated", ["run", "weights", "adapter", "test split sha256",
                                              "turns", "max_new_tokens"], [])
    for key, variant in runs:
        meta = results[key][f"{variant}.meta"]
        provenance.rows.append([f"{key} {variant}", meta["base"], meta["adapter"] or "–",
                                meta["inputs_sha256"], str(results[key][variant]["turns"]),
                                str(meta["decoding"]["max_new_tokens"])])
    return Tables(verdict_table(comparisons), headline, settings_table, errors, provenance,
                  *bfcl_tables(results, runs))


def plot_rows(results: dict, runs: list[tuple[str, str]]) -> dict[str, list[dict]]:
    """Long-format rows for the DVC plots (one file per chart)."""
    return {
        "headline": [{"run": f"{k} {v}", "metric": m, "value": results[k][v].get(m)}
                     for m in HEADLINE for k, v in runs if results[k][v].get(m) is not None],
        "errors": [{"run": f"{k} {v}", "error": e, "turns": results[k][v].get(f"errors_{e}", 0)}
                   for e in ERROR_TYPES for k, v in runs],
        "loss": [{"curve": name, "step": step, "loss": loss} for k in results
                 for name, curve in results[k]["curves"].items() for step, loss in curve],
    }


def _as_written(message: dict) -> str:
    """A parsed or gold turn as its calls (name and arguments) or its text."""
    calls = message.get("calls") or message.get("tool_calls")
    if calls:
        return "\n".join(f"{c['name']}({json.dumps(c.get('arguments'), ensure_ascii=False)})" for c in calls)
    return f"text: {message.get('content') or ''}"


def failed_turn_html(key: str, turn: dict) -> str:
    """One failed turn as a reader judges it: the request, the tools offered (with their
    required arguments), what the model wrote, and the parsed prediction beside the gold."""
    offered = "; ".join(f"{t['name']}({', '.join(t['required'])})" for t in turn["offered"]) or "none"
    rows = [("user asked", turn["last_user"]), ("tools offered", offered),
            ("model wrote", turn["output"]), ("parsed", _as_written(turn["parsed"])),
            ("gold", _as_written(turn["gold"]))]
    cells = "".join(f"<tr><th>{name}</th><td><pre>{html.escape(value)}</pre></td></tr>"
                    for name, value in rows)
    return (f"<h3>{html.escape(key)} · {html.escape(turn['conversation_id'])} turn "
            f"{turn['turn_index']} · {turn['error_type']}</h3><table>{cells}</table>")


def report_title(results: dict) -> str:
    """The page's title, saying "stand-ins" whenever any run is one."""
    title = f"Tool calling: {' vs '.join(results)}, base vs tuned"
    if any(is_standin(results[k][f"{v}.meta"]["weights_source"]) for k in results
           for v in ("base", "tuned")):
        title += " (STAND-INS: tiny random models, not the real checkpoints)"
    return title


def build_html(results: dict, runs: list[tuple[str, str]], tables: Tables, verdict: str) -> str:
    run_names = [f"{k} {v}" for k, v in runs]
    headline_chart = svg_grouped_bars(
        "Headline metrics (higher is better)", HEADLINE,
        {name: [results[k][v].get(m) for m in HEADLINE] for name, (k, v) in zip(run_names, runs,
                                                                                strict=True)},
        x_max=1.0)
    error_chart = svg_grouped_bars(
        "Error types (turns)", ERROR_TYPES,
        {name: [results[k][v].get(f"errors_{e}", 0) for e in ERROR_TYPES]
         for name, (k, v) in zip(run_names, runs, strict=True)})
    curves = {name: c for k in results for name, c in results[k]["curves"].items()}
    loss_chart = svg_lines("Loss (solid: train, dashed: eval)", curves, "step", "loss")
    failed = ["<h2>Failed turns of each tuned model (first few)</h2>"]
    for key in results:
        failed += [failed_turn_html(key, turn) for turn in results[key]["failed"]]
    bfcl_chart = svg_grouped_bars(
        "BFCL summary (higher is better)", SUMMARY,
        {name: [results[k][f"{v}.bfcl"].get(m) for m in SUMMARY]
         for name, (k, v) in zip(run_names, runs, strict=True)}, x_max=1.0)
    sections = [f'<p class="verdict">{html.escape(verdict)}</p>', to_html_table(tables.verdict),
                headline_chart, to_html_table(tables.headline), error_chart,
                to_html_table(tables.errors), bfcl_chart, to_html_table(tables.bfcl),
                to_html_table(tables.published), to_html_table(definitions_table()), loss_chart,
                to_html_table(tables.settings),
                to_html_table(tables.provenance), *failed]
    return html_page(report_title(results), sections)


def main() -> None:
    params = load_params()
    results = load_results(params)
    runs = runs_of(params)
    settings = {k: {"weights": describe_weights(results[k]["tuned.meta"]["weights_source"]),
                    **model_settings(params, k)} for k in params.models}
    comparisons = compare_runs(results, params)
    verdict = verdict_sentence(results, comparisons)
    tables = build_tables(results, runs, settings, comparisons)
    write_json(compare_file("json"), build_numbers(results, runs))
    write_text(compare_file("csv"), pd.DataFrame(tables.headline.rows,
                                                 columns=tables.headline.columns).to_csv(index=False))
    shown = (tables.verdict, tables.headline, tables.bfcl, tables.published, tables.errors,
             definitions_table(), tables.settings, tables.provenance)
    write_text(compare_file("md"), f"# {report_title(results)}\n\n**Verdict.** {verdict}\n\n"
               + "\n".join(to_markdown(t) for t in shown))
    for name, rows in plot_rows(results, runs).items():
        write_text(PLOTS / f"{name}.csv", pd.DataFrame(rows).to_csv(index=False))
    write_text(compare_file("html"), build_html(results, runs, tables, verdict))
    log.info("compare-models: %d runs. %s Report: %s", len(runs), verdict, compare_file("html"))


if __name__ == "__main__":
    run_stage(main)
