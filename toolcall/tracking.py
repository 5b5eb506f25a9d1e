"""Experiment tracking with SwanLab: offline unless the user asks for the cloud.

SwanLab reads SWANLAB_MODE (online/cloud, offline, local, disabled) and SWANLAB_API_KEY
from the environment. We only supply the default `offline` (never `mode=`, which would
override the user's choice), so a run never waits on a login prompt. Offline runs land
in ./swanlog/ and can be uploaded later with `swanlab sync`.
"""

from __future__ import annotations

import os

from toolcall.io import log

DEFAULT_PROJECT = "toolcall-sft"


def run_name(model_key: str, stage: str) -> str:
    """`<model>-<stage>`, plus the DVC experiment name when run by `dvc exp run`."""
    experiment = os.environ.get("DVC_EXP_NAME")
    return f"{model_key}-{stage}" + (f"-{experiment}" if experiment else "")


def swanlab_callback(model_key: str, config: dict):
    """A transformers callback logging to SwanLab, or None if SwanLab cannot start."""
    os.environ.setdefault("SWANLAB_MODE", "offline")
    if os.environ["SWANLAB_MODE"] == "disabled":
        return None
    try:
        from swanlab.integration.transformers import SwanLabCallback  # noqa: PLC0415

        return SwanLabCallback(
            project=os.environ.get("SWANLAB_PROJECT_NAME", DEFAULT_PROJECT),
            experiment_name=run_name(model_key, "finetune"),
            config=config,
        )
    except Exception as e:  # tracking must never stop training
        log.warning("SwanLab disabled for this run (%s: %s)", type(e).__name__, e)
        return None
