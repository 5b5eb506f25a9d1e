"""Experiment tracking with SwanLab: offline unless the user asks for the cloud.

SwanLab reads SWANLAB_MODE (online/cloud, offline, local, disabled) and SWANLAB_API_KEY
from the environment. We only supply the default `offline` (never `mode=`, which would
override the user's choice), so a run never waits on a login prompt. Offline runs land
in ./swanlog/ and can be uploaded later with `swanlab sync`.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from toolcall.io import log

if TYPE_CHECKING:
    from transformers import TrainerCallback

DEFAULT_PROJECT = "toolcall-sft"


def run_name(model_key: str, stage: str) -> str:
    """`<model>-<stage>`, plus the DVC experiment name when run by `dvc exp run`."""
    experiment = os.environ.get("DVC_EXP_NAME")
    return f"{model_key}-{stage}" + (f"-{experiment}" if experiment else "")


class NeverFailingCallback:
    """Forwards every trainer event to `inner`; the first error disables it with one
    warning, so a tracking problem (service down, disk full) never stops training.

    A plain object, not a TrainerCallback subclass: the Trainer only calls its `on_*`
    methods, and scoring imports this module without loading transformers."""

    def __init__(self, inner: TrainerCallback):
        self.inner: TrainerCallback | None = inner

    def __getattribute__(self, name: str):
        if not name.startswith("on_"):
            return object.__getattribute__(self, name)

        def forward(*args, **kwargs):
            inner = object.__getattribute__(self, "inner")
            if inner is None:
                return None
            try:
                return getattr(inner, name)(*args, **kwargs)
            except Exception as e:
                log.warning("tracking disabled for the rest of this run: %s failed (%s: %s)",
                            name, type(e).__name__, e)
                self.inner = None
                return None

        return forward


def _tracking_enabled() -> bool:
    os.environ.setdefault("SWANLAB_MODE", "offline")
    return os.environ["SWANLAB_MODE"] != "disabled"


def swanlab_callback(model_key: str, config: dict) -> NeverFailingCallback | None:
    """A callback logging to SwanLab (guarded), or None when tracking is disabled."""
    if not _tracking_enabled():
        return None
    try:
        from swanlab.integration.transformers import SwanLabCallback  # noqa: PLC0415

        inner = SwanLabCallback(
            project=os.environ.get("SWANLAB_PROJECT_NAME", DEFAULT_PROJECT),
            experiment_name=run_name(model_key, "finetune"),
            config=config,
        )
    except Exception as e:  # tracking must never stop training
        log.warning("SwanLab disabled for this run (%s: %s)", type(e).__name__, e)
        return None
    return NeverFailingCallback(inner)


FAILED_TURN_COLUMNS = ["conversation_id", "turn_index", "stratum", "error_type", "output", "gold"]


def log_evaluation(model_key: str, variant: str, config: dict, metrics: dict,
                   failed_turns: list[dict]) -> None:
    """One SwanLab run per evaluated variant: config, every numeric metric and a table of
    the failed turns."""
    rows = [[str(t[c]) if c != "gold" else json.dumps(t[c], ensure_ascii=False)
             for c in FAILED_TURN_COLUMNS] for t in failed_turns]
    _log_summary(run_name(model_key, f"evaluate-{variant}"), config, metrics,
                 {"failed_turns": (FAILED_TURN_COLUMNS, rows)})


def log_generation(model_key: str, run: str, config: dict, figures: dict) -> None:
    """One SwanLab run per generated variant (and suite): the decoding settings and how
    fast and how long the answers were, next to the evaluation runs of the same project."""
    _log_summary(run_name(model_key, f"generate-{run}"), config, figures, {})


def _log_summary(name: str, config: dict, numbers: dict,
                 tables: dict[str, tuple[list[str], list[list[str]]]]) -> None:
    """A SwanLab run of one step: config, the numeric figures, tables. Any tracking error is
    one warning: the stage's files are already written."""
    if not _tracking_enabled():
        return
    try:
        import swanlab  # noqa: PLC0415

        swanlab.init(project=os.environ.get("SWANLAB_PROJECT_NAME", DEFAULT_PROJECT), name=name,
                     config=config)
        swanlab.log({k: v for k, v in numbers.items() if isinstance(v, (int, float))})
        for table, (columns, rows) in tables.items():
            swanlab.log({table: swanlab.echarts.Table().add(columns, rows)})
        swanlab.finish()
    except Exception as e:  # tracking must never fail the stage
        log.warning("SwanLab logging of %s skipped (%s: %s)", name, type(e).__name__, e)
