"""Where each stage reads and writes, in one place so stages, tests and dvc.yaml agree
(tests/test_dvc.py checks dvc.yaml's outputs against these)."""

from __future__ import annotations

from pathlib import Path

# check-params writes it; the stages that read no other stage's output depend on it, so every
# stage runs after the params check (stages/check_params.py).
PARAMS_CHECK = Path("data/params.check.json")
PREPARED = Path("data/prepared")
SOURCE_MANIFEST = PREPARED / "source.json"  # what dataset.source resolved to
TRAIN_SPLIT = PREPARED / "train.jsonl"
TEST_SPLIT = PREPARED / "test.jsonl"
REJECTS = PREPARED / "rejects.jsonl"
DATASET_METRICS = Path("metrics/dataset.json")
BFCL_QUESTIONS = Path("data/bfcl/questions.jsonl")  # BFCL asked as our conversations
BFCL_ANSWERS = Path("data/bfcl/answers.jsonl")  # its function docs and ground truth
# Raw generations of every model and variant: what the evaluate-* stages read.
GENERATIONS = Path("generations")
# Every per-model result lies under this folder, so compare-models can depend on it
# whatever models and variants params.yaml lists.
RESULTS = Path("metrics/models")
COMPARE = Path("metrics/compare")  # compare-models writes COMPARE.{json,csv,md,html}
PLOTS = Path("metrics/plots")


def weights_dir(key: str, variant: str = "base") -> Path:
    """models/<key>/base, or models/<key>/chat for a model's chat reference."""
    return Path("models") / key / ("chat" if variant == "chat" else "base")


def manifest_file(key: str, variant: str = "base") -> Path:
    """What fetch-weights fetched or built for weights_dir(key, variant)."""
    return Path("models") / key / f"{weights_dir(key, variant).name}.manifest.json"


def weights_source_file(key: str) -> Path:
    """What models.<key>.weights_from resolved to (resolve-weights; fetch-weights reads it)."""
    return Path("models") / key / "base.source.json"


def adapter_dir(key: str) -> Path:
    return Path("models") / key / "adapter"


def export_dir(key: str) -> Path:
    return Path("models") / key / "export"


def checkpoints_dir(key: str) -> Path:
    return Path("models") / key / "checkpoints"


def results_dir(key: str) -> Path:
    return RESULTS / key


def run_name(variant: str, suite: str = "toolcall") -> str:
    """What one model's files of a variant and evaluation suite are called: `tuned` for our
    test split, `bfcl.tuned` for BFCL."""
    return variant if suite == "toolcall" else f"{suite}.{variant}"


def generation_file(key: str, variant: str, suite: str = "toolcall") -> Path:
    return GENERATIONS / key / f"{run_name(variant, suite)}.jsonl"


def generation_meta(key: str, variant: str, suite: str = "toolcall") -> Path:
    return GENERATIONS / key / f"{run_name(variant, suite)}.meta.json"


def result_file(key: str, variant: str, suite: str = "toolcall", kind: str = "") -> Path:
    """metrics/models/<key>/<run>.json (the headline figures DVC tracks as metrics: few, so
    `dvc metrics show` fits a terminal), or with kind "details" / "meta" / "turns" its
    .details.json (every figure), .meta.json and .turns.jsonl."""
    suffix = {"": ".json", "details": ".details.json", "meta": ".meta.json", "turns": ".turns.jsonl"}[kind]
    return RESULTS / key / f"{run_name(variant, suite)}{suffix}"


def compare_file(suffix: str) -> Path:
    return COMPARE.with_suffix(f".{suffix}")


def progress_file(key: str, variant: str, rank: int, suite: str = "toolcall") -> Path:
    """Turns one generating process finished so far (resume state, not a DVC output)."""
    return _progress_dir(key) / f"{run_name(variant, suite)}.rank{rank}.jsonl"


def progress_files(key: str, variant: str, suite: str = "toolcall") -> list[Path]:
    """Every process's progress file for this variant, whatever the process count was."""
    return sorted(_progress_dir(key).glob(f"{run_name(variant, suite)}.rank*.jsonl"))


def _progress_dir(key: str) -> Path:
    return Path("models") / key / "progress"
