"""Experiment tracking with SwanLab: offline unless the user asks for the cloud.

SwanLab reads SWANLAB_MODE (online/cloud, offline, local, disabled) and SWANLAB_API_KEY
from the environment. We only supply the default `offline` (never `mode=`, which would
override the user's choice), so a run never waits on a login prompt. Offline runs land
in ./swanlog/ and can be uploaded later with `swanlab sync`.
"""

from __future__ import annotations

import os

from transformers import TrainerCallback

from toolcall.io import log

DEFAULT_PROJECT = "toolcall-sft"


def run_name(model_key: str, stage: str) -> str:
    """`<model>-<stage>`, plus the DVC experiment name when run by `dvc exp run`."""
    experiment = os.environ.get("DVC_EXP_NAME")
    return f"{model_key}-{stage}" + (f"-{experiment}" if experiment else "")


class NeverFailingCallback(TrainerCallback):
    """Forwards every trainer event to `inner`; the first error disables it with one
    warning, so a tracking problem (service down, disk full) never stops training."""

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


def swanlab_callback(model_key: str, config: dict) -> TrainerCallback | None:
    """A callback logging to SwanLab (guarded), or None when tracking is disabled."""
    os.environ.setdefault("SWANLAB_MODE", "offline")
    if os.environ["SWANLAB_MODE"] == "disabled":
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
