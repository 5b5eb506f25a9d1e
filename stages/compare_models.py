"""compare-models: one side-by-side table of every model in params.yaml, base vs tuned.

Reads the model list from params (not from whatever files lie around) and writes
metrics/compare.json (numbers for `dvc metrics show`), metrics/compare.csv and
metrics/compare.md: headline metrics with 95% intervals and the tuned-minus-base gain,
then the params that differ between models (bold), then the error types.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from toolcall.io import PipelineError, log, read_json, run_stage, write_json
from toolcall.metrics import ERROR_TYPES, HEADLINE
from toolcall.params import ModelParams, Params, load_params

VARIANTS = ["base", "tuned"]
DIAGNOSTICS = ["format_valid_rate", "call_name_accuracy", "call_lenient_match",
               "arg_value_f1", "hallucinated_function_rate", "conversation_success_rate"]


def flatten(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def model_settings(params: Params, model: ModelParams) -> dict:
    """The settings in effect for one model, flat, as the table shows them."""
    settings = flatten(dataclasses.asdict(model))
    settings = {k: v for k, v in settings.items() if not k.startswith("standin_")}
    settings.update(flatten(dataclasses.asdict(model.train_for(params.weights)), "train."))
    settings.update(flatten(dataclasses.asdict(model.lora_for(params.weights)), "lora."))
    return settings


def load_results(keys: list[str], metrics_dir: Path) -> dict[str, dict[str, dict]]:
    results = {}
    for key in keys:
        results[key] = {}
        for variant in VARIANTS:
            path = metrics_dir / key / f"{variant}.json"
            if not path.exists():
                raise PipelineError(f"{path} is missing: run `dvc repro evaluate-toolcall@{key}`")
            results[key][variant] = read_json(path)
        results[key]["train"] = read_json(metrics_dir / key / "train.json")
    return results


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _interval(metrics: dict, name: str) -> str:
    low, high = metrics.get(f"{name}_ci_low"), metrics.get(f"{name}_ci_high")
    text = _cell(metrics.get(name))
    return text if low is None else f"{text} [{low:.2f}, {high:.2f}]"


def _gain(results: dict, name: str) -> float | None:
    tuned, base = results["tuned"].get(name), results["base"].get(name)
    return None if tuned is None or base is None else tuned - base


def build_tables(results: dict, settings: dict[str, dict]) -> tuple[dict, pd.DataFrame, str]:
    """(metrics JSON, CSV frame, markdown) from per-model results and settings."""
    keys = list(results)
    columns = [f"{k} {v}" for k in keys for v in VARIANTS]
    numbers, rows = {}, []
    for name in HEADLINE + DIAGNOSTICS:
        row = {"metric": name}
        for key in keys:
            for variant in VARIANTS:
                row[f"{key} {variant}"] = results[key][variant].get(name)
                numbers[f"{key}.{variant}.{name}"] = results[key][variant].get(name)
            numbers[f"{key}.gain.{name}"] = _gain(results[key], name)
        rows.append(row)
    frame = pd.DataFrame(rows)

    md = ["## Headline (95% interval by conversation bootstrap)", "",
          "| metric | " + " | ".join(columns) + " | " + " | ".join(f"{k} gain" for k in keys) + " |",
          "|---" * (1 + len(columns) + len(keys)) + "|"]
    for name in HEADLINE + DIAGNOSTICS:
        cells = [_interval(results[k][v], name) if name in HEADLINE else _cell(
            results[k][v].get(name)) for k in keys for v in VARIANTS]
        gains = [_cell(_gain(results[k], name)) for k in keys]
        md.append(f"| {name} | " + " | ".join(cells + gains) + " |")

    md += ["", "## Settings (differences in bold)", "", "| param | " + " | ".join(keys) + " |",
           "|---" * (1 + len(keys)) + "|"]
    names = sorted({n for s in settings.values() for n in s})
    for name in names:
        values = [str(settings[k].get(name, "–")) for k in keys]
        differs = len(set(values)) > 1
        cells = [f"**{v}**" if differs else v for v in values]
        md.append(f"| {'**' + name + '**' if differs else name} | " + " | ".join(cells) + " |")

    md += ["", "## Error types (turns)", "", "| error | " + " | ".join(columns) + " |",
           "|---" * (1 + len(columns)) + "|"]
    for error in ERROR_TYPES:
        cells = [str(results[k][v].get(f"errors_{error}", 0)) for k in keys for v in VARIANTS]
        md.append(f"| {error} | " + " | ".join(cells) + " |")
        for key in keys:
            for variant in VARIANTS:
                numbers[f"{key}.{variant}.errors_{error}"] = results[key][variant].get(
                    f"errors_{error}", 0)
    for key in keys:
        numbers[f"{key}.train.eval_loss"] = results[key]["train"]["eval_loss"]
    return numbers, frame, "\n".join(md) + "\n"


def main() -> None:
    params = load_params()
    keys = list(params.models)
    results = load_results(keys, Path("metrics"))
    settings = {k: model_settings(params, params.models[k]) for k in keys}
    numbers, frame, markdown = build_tables(results, settings)
    write_json("metrics/compare.json", numbers)
    frame.to_csv("metrics/compare.csv", index=False)
    Path("metrics/compare.md").write_text(markdown, encoding="utf-8")
    best = max(keys, key=lambda k: results[k]["tuned"].get("tool_score") or 0.0)
    log.info("compare-models: %d models; best tuned tool_score: %s (%s)", len(keys), best,
             _cell(results[best]["tuned"].get("tool_score")))


if __name__ == "__main__":
    run_stage(main)
