"""The real run's code path before the real weights: every stage of the DAG with weights=hub
and a hub data set id, offline, against a local Hugging Face cache that holds checkpoints laid
out and configured as the real ones ship (toolcall/families/ Family.base) but with random
weights. A few training steps and a few evaluation turns per model; wall time and peak GPU
memory of every stage.

    python -m benchmarks.dress_rehearsal                       # a GPU: the real shapes (~35 GB on disk)
    python -m benchmarks.dress_rehearsal --shape standin       # a CPU: params.yaml's stand-in shape

On a GPU this finds out-of-memory, dtype and kernel problems in minutes instead of after
downloading 35 GB of weights; tests/test_hub_offline.py runs the same path at a tiny shape.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

from toolcall.families import all_families
from toolcall.io import file_sha256, read_json
from toolcall.params import load_params
from toolcall.sample_data import SAMPLE_PATH
from toolcall.standins import SHAPE_KEYS, build_config, shipped_generation_config, train_tokenizer

FAMILIES = all_families()

ROOT = Path(__file__).resolve().parent.parent
COMMIT = "0123456789abcdef0123456789abcdef01234567"  # what every repository "resolves" to
DATASET = "llamafactory/glaive_toolcall_zh"
PROJECT_FILES = ("stages", "toolcall", ".dvcignore", "dvc.yaml")


def put_in_hub_cache(cache: Path, repo_type: str, repo_id: str, files: Path) -> None:
    """`files` as huggingface_hub's cache holds a download of `repo_id` at COMMIT: blobs named
    by their hash, a snapshot of symlinks into them, refs/main naming the commit."""
    repo = cache / f"{repo_type}s--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    for path in files.iterdir():
        blob = repo / "blobs" / file_sha256(path)
        shutil.move(path, blob)
        (snapshot / path.name).symlink_to(os.path.relpath(blob, snapshot))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)


def random_checkpoint(key: str, shape: dict | None, out: Path, device: str) -> None:
    """Random weights with a tokenizer, config and generation config set up like the real base
    checkpoint of the model's family ships them; of the real shape (shape None) or of `shape`
    (toolcall.standins.SHAPE_KEYS)."""
    from transformers import AutoModelForCausalLM  # noqa: PLC0415

    family = FAMILIES[load_params(ROOT / "params.yaml").model(key).family]
    rows = read_json(ROOT / SAMPLE_PATH)
    texts = ["\n".join(turn["value"] for turn in row["conversations"]) for row in rows]
    tokenizer = train_tokenizer(texts, family, 2000, family.base)
    if shape is None:
        config = family.architecture.real()
        config.pad_token_id = tokenizer.pad_token_id
        config.eos_token_id = tokenizer.convert_tokens_to_ids(family.base.eos_tokens)
    else:
        config = build_config(family, tokenizer, shape, family.base)
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(
            config, dtype=torch.bfloat16 if device == "cuda" else torch.float32)
    model.generation_config = shipped_generation_config(family.base, tokenizer)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def build_hub_cache(home: Path, shape: dict | None, device: str) -> None:
    """A Hugging Face home whose hub cache holds every model of params.yaml and the data set."""
    for key, model in load_params(ROOT / "params.yaml").models.items():
        with tempfile.TemporaryDirectory(dir=home) as folder:
            random_checkpoint(key, shape, Path(folder), device)
            put_in_hub_cache(home / "hub", "model", model.hub_id, Path(folder))
    with tempfile.TemporaryDirectory(dir=home) as folder:
        shutil.copy(ROOT / SAMPLE_PATH, Path(folder) / "glaive_toolcall_zh_1k.json")
        put_in_hub_cache(home / "hub", "dataset", DATASET, Path(folder))


def hub_project(root: Path, overrides: dict) -> None:
    """A copy of the project whose params use the cached hub repositories (pinned to COMMIT)."""
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, root / name)
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["weights"] = "hub"
    for model in params["models"].values():
        model["revision"] = COMMIT
    params["dataset"].update(source=DATASET, hub_revision=COMMIT)
    for section, values in overrides.items():
        params[section].update(values)
    (root / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), "utf-8")


def offline_env(home: Path, root: Path) -> dict:
    return {**os.environ, "HF_HOME": str(home), "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1", "SWANLAB_MODE": "disabled", "PYTHONPATH": str(root)}


# A few steps and turns: enough for every stage to run its real code, and to fill the memory
# the real run would fill (packed 4,096-token rows, the evaluation's batches).
REHEARSAL = {"train": {"max_steps": 4, "logging_steps": 1, "eval_steps": 4, "save_steps": 4},
             "dataset": {"max_rows": 60, "min_test_conversations": 1}, "evaluate": {"max_new_tokens": 32}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", choices=["real", "standin"], default="real")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "rehearsal")
    args = parser.parse_args()
    standin = vars(load_params(ROOT / "params.yaml").standin)
    shape = None if args.shape == "real" else {k: standin[k] for k in SHAPE_KEYS}
    device = "cuda" if torch.cuda.is_available() else "cpu"
    shutil.rmtree(args.out, ignore_errors=True)
    home, root = args.out / "hf_home", args.out / "project"
    home.mkdir(parents=True)
    root.mkdir()
    started = time.time()
    build_hub_cache(home, shape, device)
    print(f"hub cache built in {time.time() - started:.0f} s", flush=True)
    hub_project(root, REHEARSAL)
    env = offline_env(home, root)
    for command in (["git", "init", "-q"], ["dvc", "init", "-q", "--force"]):
        subprocess.run(command, cwd=root, env=env, check=True)
    # dvc.yaml lists its stages in an order that runs: each one after what it needs
    stages = subprocess.run(["dvc", "stage", "list", "--name-only"], cwd=root, env=env,
                            capture_output=True, text=True, check=True).stdout.split()
    report = []
    for stage in stages:
        started = time.time()
        result = subprocess.run(["dvc", "repro", "--single-item", stage], cwd=root, env=env,
                                capture_output=True, text=True)
        peaks = [float(p) for p in re.findall(r"peak GPU memory: ([\d.]+) GiB", result.stderr)]
        report.append({"stage": stage, "ok": result.returncode == 0,
                       "seconds": round(time.time() - started, 1),
                       "peak_gpu_gib": max(peaks) if peaks else None})
        print(json.dumps(report[-1]), flush=True)
        if result.returncode:
            print(result.stdout[-3000:] + result.stderr[-3000:], file=sys.stderr)
            break
    (args.out / "rehearsal.json").write_text(json.dumps(report, indent=2) + "\n")
    sys.exit(0 if all(r["ok"] for r in report) else 1)


if __name__ == "__main__":
    main()
