"""Where the glaive rows come from: a local file at any path, a file of a pinned registry
release (`registry:glaive_toolcall_en_demo`, toolcall/registry.py), or a Hugging Face Hub data set.

`resolve_source` says what `dataset.source` is right now (a local file's size and sha256, the
registry release's pin, or the commit a hub revision points to); the resolve-dataset stage
writes it down on every `dvc repro`, so prepare-dataset reruns exactly when the data changed,
a moved hub branch included. `load_rows` then reads exactly that: the file it hashed, the commit it pinned.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from pathlib import Path

from toolcall.io import PipelineError, file_sha256
from toolcall.registry import REGISTRY_PREFIX, artefact, artefact_file, release_record

LOCAL_SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz")
COMMIT = re.compile(r"[0-9a-f]{40}")


def is_local(source: str) -> bool:
    """A file path (existing or not, by its name) rather than a hub data set id."""
    return (Path(source).expanduser().exists() or source.endswith(LOCAL_SUFFIXES)
            or source.startswith(("/", ".", "~")))


def _check_local(path: Path) -> None:
    if not path.is_file():
        raise PipelineError(f"dataset.source {path} does not exist: point it at a glaive-format "
                            f"file ({', '.join(LOCAL_SUFFIXES)}) or a hub data set id")
    if not path.name.endswith(LOCAL_SUFFIXES):
        raise PipelineError(f"dataset.source {path}: name it by its format, one of {LOCAL_SUFFIXES}")


def resolve_source(source: str, hub_revision: str) -> dict:
    """What `source` is now: {"kind": "local", "path", "bytes", "sha256"},
    {"kind": "registry", "name", "release", "file", "sha256"} or
    {"kind": "hub", "id", "revision", "commit"}."""
    if source.startswith(REGISTRY_PREFIX):
        item = artefact(source)
        path = artefact_file(item)  # fetched once into the cache; its path is not recorded
        _check_local(path)
        return {"kind": "registry", "name": source, "release": release_record(item.release),
                "file": item.path, "sha256": file_sha256(path)}
    if is_local(source):
        path = Path(source).expanduser()
        _check_local(path)
        return {"kind": "local", "path": str(path), "bytes": path.stat().st_size,
                "sha256": file_sha256(path)}
    commit = hub_commit(source, hub_revision, "dataset",
                        "pin dataset.hub_revision to a commit to run offline from the hub cache, "
                        "or set dataset.source to a local file")
    return {"kind": "hub", "id": source, "revision": hub_revision, "commit": commit}


def hub_commit(repo_id: str, revision: str, repo_type: str, otherwise: str) -> str:
    """The commit a hub revision points to now: one question to the hub, none when the
    revision is a commit already. `otherwise` says what else the user can do."""
    if COMMIT.fullmatch(revision):
        return revision
    from huggingface_hub import HfApi  # noqa: PLC0415

    info = HfApi().dataset_info if repo_type == "dataset" else HfApi().model_info
    try:
        return info(repo_id, revision=revision).sha
    except Exception as e:  # offline, unknown id, gated: say what was tried
        raise PipelineError(
            f"could not resolve hub {repo_type} {repo_id}@{revision} ({type(e).__name__}: {e}); "
            f"check the network and HF_TOKEN (gated: accept the licence on the hub), {otherwise}"
        ) from None


def source_name(resolved: dict) -> str:
    """A short name for a resolved source in stats: the file's name, or the hub id."""
    if resolved["kind"] == "hub":
        return resolved["id"]
    name = Path(resolved["file" if resolved["kind"] == "registry" else "path"]).name
    for suffix in sorted(LOCAL_SUFFIXES, key=len, reverse=True):
        name = name.removesuffix(suffix)
    return name


def read_local_rows(path: Path) -> list[dict]:
    """glaive rows from a .json (one list) or .jsonl (one row a line) file, either gzipped."""
    _check_local(path)
    text = _read_text(path)
    if not text.strip():
        raise PipelineError(f"{path} is empty: it holds no rows; point dataset.source at a "
                            "glaive-format file")
    lines = path.name.removesuffix(".gz").endswith(".jsonl")
    # Parse JSONL line by line so an error names the file's own line number.
    documents = enumerate(text.splitlines(), 1) if lines else [(0, text)]
    rows = []
    for number, document in documents:
        if not document.strip():
            continue
        try:
            parsed = json.loads(document)
        except json.JSONDecodeError as e:
            if not lines and e.msg == "Extra data" and text.lstrip().startswith("{"):
                raise PipelineError(f"{path} holds one JSON object per line (JSON Lines): rename "
                                    "it to .jsonl") from None
            raise PipelineError(f"{path} is not valid JSON (line {number or e.lineno}): {e.msg}; "
                                "fix or remove that line") from None
        if lines:
            rows.append(parsed)
        elif isinstance(parsed, list):
            rows = parsed
        else:
            raise PipelineError(f"{path} must hold a JSON list of glaive rows")
    if not rows:
        raise PipelineError(f"{path} holds no rows (an empty list)")
    return rows


def _read_text(path: Path) -> str:
    """The file's text (gunzipped for .gz), with one line for what makes it unreadable."""
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                data = f.read()
        else:
            data = path.read_bytes()
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise PipelineError(f"{path} is a truncated or corrupt gzip archive ({e}); download or "
                            "compress it again") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        where = "uncompressed " if path.name.endswith(".gz") else ""
        raise PipelineError(f"{path} is not UTF-8 text: byte 0x{data[e.start]:02x} at {where}byte "
                            f"offset {e.start} cannot be decoded; save the file as UTF-8") from None


def load_rows(resolved: dict, hub_split: str) -> list[dict]:
    """The rows `resolve_source` described: the same file bytes, or the pinned hub commit."""
    if resolved["kind"] in ("local", "registry"):
        path = (artefact_file(artefact(resolved["name"])) if resolved["kind"] == "registry"
                else Path(resolved["path"]))
        _check_local(path)
        if file_sha256(path) != resolved["sha256"]:
            raise PipelineError(f"{path} changed after it was resolved: run `dvc repro` again")
        return read_local_rows(path)
    from huggingface_hub import snapshot_download  # noqa: PLC0415

    try:  # the data files of that commit, into (or, offline, from) the hub cache
        folder = Path(snapshot_download(resolved["id"], repo_type="dataset", revision=resolved["commit"],
                                        allow_patterns=[f"*{suffix}" for suffix in LOCAL_SUFFIXES]))
    except Exception as e:  # offline without a cached copy, gated: say what was tried
        raise PipelineError(
            f"could not load hub data set {resolved['id']}@{resolved['commit']} "
            f"({type(e).__name__}: {e}); check the network and HF_TOKEN, or set dataset.source "
            "to a local file") from None
    files = sorted(p for p in folder.rglob("*") if p.name.endswith(LOCAL_SUFFIXES)
                   and not p.name.startswith(("dataset_info", "dataset_dict")))
    if files:  # glaive-format files, as LLaMA-Factory publishes them
        return [row for path in files for row in read_local_rows(path)]
    from datasets import load_dataset  # noqa: PLC0415 (a data set in another format)

    return list(load_dataset(resolved["id"], revision=resolved["commit"], split=hub_split))
