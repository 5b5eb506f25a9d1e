"""resolve-dataset: what dataset.source is right now, so prepare-dataset reruns exactly when
the data changes.

DVC runs this on every `dvc repro` (it is marked always_changed; it takes a moment and
imports nothing heavy). A local file, at any path: its size and sha256. A hub data set: the
commit that dataset.hub_revision points to now, so a branch that moved is new data. Writes
data/prepared/source.json, the dependency through which prepare-dataset sees its source;
when that file comes out the same, nothing downstream reruns.
"""

from __future__ import annotations

from toolcall.io import log, run_stage, write_json
from toolcall.layout import SOURCE_MANIFEST
from toolcall.params import load_params
from toolcall.sources import resolve_source


def main() -> None:
    dataset = load_params().dataset
    resolved = [resolve_source(source, dataset.hub_revision) for source in dataset.sources]
    write_json(SOURCE_MANIFEST, {"sources": resolved})
    log.info("resolve-dataset: %s", resolved)


if __name__ == "__main__":
    run_stage(main)
