"""Small file helpers shared by the stages, and the one-line error handling."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

log = logging.getLogger("toolcall")


class PipelineError(RuntimeError):
    """A problem the user can fix; printed as one line, without a traceback."""


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, read in blocks (checkpoints and wheels are large)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(settings: object, files: list[Path]) -> str:
    """A short hash of what a result depends on: settings (JSON; dataclasses by repr) and
    the bytes of files. Resume state is reused only when it matches."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for path in files:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]


def write_text(path: str | Path, text: str) -> None:
    """Write a whole output file by replacing it, never in place: a killed stage leaves no
    half-written file, and where an output shares its bytes with another name (a cache.type of
    hardlink, should a user choose one) writing replaces this name only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def write_json(path: str | Path, data: object) -> None:
    write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def read_json(path: str | Path) -> object:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> None:
    write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def read_jsonl(path: str | Path) -> list[dict]:
    with Path(path).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's main: user-fixable errors become one line and exit code 2."""
    from toolcall.params import ParamsError  # noqa: PLC0415 (keeps this module light)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    try:
        main()
    except (ParamsError, PipelineError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    torch = sys.modules.get("torch")  # only stages that imported it used a GPU
    if torch is not None and torch.cuda.is_available():
        log.info("peak GPU memory: %.2f GiB", torch.cuda.max_memory_allocated() / 2**30)
