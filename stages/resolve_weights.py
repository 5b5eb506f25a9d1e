"""resolve-weights: what a model's base checkpoint is right now, so fetch-weights reruns
exactly when it changed.

DVC runs this on every `dvc repro` (always_changed; it takes a moment): `weights_from: hub`
asks the hub which commit `revision` points to (none when it is a commit), a local folder is
hashed (only the files whose size or time changed are read again), a `registry:` checkpoint
is its pinned release and file hash; with `weights: standin` it says which checkpoint the
stand-in stands in for. Writes models/<model>/base.source.json, the dependency through which
fetch-weights sees its source; when that file comes out the same, nothing downstream reruns.
"""

from __future__ import annotations

import argparse

from toolcall.checkpoints import resolve
from toolcall.io import log, run_stage, write_json
from toolcall.layout import weights_source_file
from toolcall.params import load_params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    args = parser.parse_args()
    params = load_params()
    model = params.model(args.model)
    resolved = ({"source": "standin", "stands_in_for": model.hub_id} if params.weights == "standin"
                else resolve(model.weights_from, model.hub_id, model.revision))
    write_json(weights_source_file(args.model), resolved)
    log.info("resolve-weights %s: %s", args.model, resolved)


if __name__ == "__main__":
    run_stage(main)
