"""check-params: the whole params.yaml checked before any stage deletes anything.

DVC deletes a stage's outputs before it runs the stage's command, so a typo found by the stage
itself has already cost its outputs (a stand-in rebuilt, a download, an adapter retrained).
Every other stage follows this one in the DAG (the stages that read nothing of another stage
depend on its output), and it reruns whenever any value of params.yaml changes: a mistake
stops `dvc repro` here, with one line naming the key, before anything is removed.

What it checks: everything `load_params` checks (keys, types, ranges, families, schedulers,
attention implementations), plus what a later stage would otherwise be first to find (BFCL's
category names). Its output, data/params.check.json, says only what was checked and by
whom, so it comes out the same whatever the values are: a valid edit reruns only the stages
that track the edited values.
"""

from __future__ import annotations

from toolcall.bfcl import check_categories
from toolcall.io import log, run_stage, write_json
from toolcall.layout import PARAMS_CHECK
from toolcall.params import load_params


def main() -> None:
    params = load_params()
    check_categories(params.bfcl.categories)
    write_json(PARAMS_CHECK, {"checked": "params.yaml", "by": "stages/check_params.py"})
    log.info("check-params: params.yaml is valid (%d models)", len(params.models))


if __name__ == "__main__":
    run_stage(main)
