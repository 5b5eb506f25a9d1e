"""Where each stage reads and writes, in one place so stages, tests and dvc.yaml agree."""

from __future__ import annotations

from pathlib import Path

PREPARED = Path("data/prepared")
TRAIN_SPLIT = PREPARED / "train.jsonl"
TEST_SPLIT = PREPARED / "test.jsonl"
REJECTS = PREPARED / "rejects.jsonl"
DATASET_METRICS = Path("metrics/dataset.json")
# Every per-model result lies under this folder, so compare-models can depend on it
# whatever models and variants params.yaml lists.
RESULTS = Path("metrics/models")


def weights_dir(key: str, variant: str = "base") -> Path:
    """models/<key>/base, or models/<key>/chat for a model's chat reference."""
    return Path("models") / key / ("chat" if variant == "chat" else "base")


def adapter_dir(key: str) -> Path:
    return Path("models") / key / "adapter"


def checkpoints_dir(key: str) -> Path:
    return Path("models") / key / "checkpoints"


def results_dir(key: str) -> Path:
    return RESULTS / key


def progress_file(key: str, variant: str, rank: int) -> Path:
    """Turns one evaluation process finished so far (resume state, not a DVC output)."""
    return _progress_dir(key) / f"{variant}.rank{rank}.jsonl"


def progress_files(key: str, variant: str) -> list[Path]:
    """Every process's progress file for this variant, whatever the process count was."""
    return sorted(_progress_dir(key).glob(f"{variant}.rank*.jsonl"))


def _progress_dir(key: str) -> Path:
    return Path("models") / key / "progress"
