"""dvc.yaml against the code: every stage depends on exactly the project modules it runs, and
its outputs are the paths toolcall/layout.py defines."""

import ast
import re

import pytest
import yaml
from conftest import ROOT

from toolcall import layout
from toolcall.families import FAMILY_NAMES

# Modules a stage imports that cannot change its outputs, with the reason.
NOT_DEPENDENCIES = {
    "toolcall/tracking.py": "experiment logging to SwanLab; writes nothing DVC tracks",
    "toolcall/__init__.py": "an empty package marker",
}
PACKAGES = ("toolcall", "stages", "benchmarks")
# What `get_family(name)` imports: the module of the model's family, written in dvc.yaml with
# DVC's interpolation so that each model depends on its own family's module only.
FAMILY_MODULE = "toolcall/families/${item.family}.py"
REGISTRY = "toolcall/families/__init__.py"  # defines get_family (imports no family itself)


def _stages() -> dict[str, dict]:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    return {name: stage.get("do", stage) for name, stage in stages.items()}


def _module_file(module: str) -> str | None:
    """The file of a project module: a/b.py, or a/b/__init__.py for a package."""
    path = module.replace(".", "/")
    for candidate in (f"{path}.py", f"{path}/__init__.py"):
        if (ROOT / candidate).is_file():
            return candidate
    return None


def _imported_files(path: str) -> set[str]:
    """Project modules `path` imports anywhere in it (lazy imports inside functions too); a
    call of get_family imports FAMILY_MODULE, which imports what any family module imports,
    and a call of all_families every family's module."""
    if path == FAMILY_MODULE:
        return set().union(*(_imported_files(f"toolcall/families/{name}.py") for name in FAMILY_NAMES))
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    found = set()
    called = {node.func.id for node in ast.walk(tree)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    if path != REGISTRY and "get_family" in called:
        found.add(FAMILY_MODULE)
    if path != REGISTRY and "all_families" in called:
        found |= {f"toolcall/families/{name}.py" for name in FAMILY_NAMES}
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            if name.split(".")[0] in PACKAGES and _module_file(name):
                found.add(_module_file(name))
    return found


def needed_modules(entry: str) -> set[str]:
    """The project files `python -m <entry>` runs: its module and, transitively, every
    project module imported from there."""
    todo, seen = [_module_file(entry)], set()
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo += _imported_files(path) - seen
    return seen


def _listed_code(stage: dict) -> set[str]:
    """The code a stage lists: its .py files, and every .py file under a listed folder of
    code (toolcall/formats, toolcall/parsers: a new module there needs no edit of dvc.yaml)."""
    listed = set()
    for dep in stage.get("deps", []):
        if dep.endswith(".py"):
            listed.add(dep)
        elif dep.split("/")[0] in PACKAGES and (ROOT / dep).is_dir():
            listed |= {str(p.relative_to(ROOT)) for p in (ROOT / dep).rglob("*.py")}
    return listed


@pytest.mark.parametrize("name", sorted(_stages()))
def test_stage_depends_on_exactly_the_modules_it_imports(name):
    stage = _stages()[name]
    entry = re.search(r"python -m ([\w.]+)", stage["cmd"]).group(1)
    expected = needed_modules(entry) - set(NOT_DEPENDENCIES)
    if FAMILY_MODULE in expected and "${item.family}" not in str(stage):
        # A chat reference's entry names no family (its model's does, and DVC cannot look it
        # up), so its stages depend on every family's module.
        expected = expected - {FAMILY_MODULE} | {f"toolcall/families/{n}.py" for n in FAMILY_NAMES}
    listed = _listed_code(stage)
    assert not expected - listed, f"{name}: imported but not a dependency: {sorted(expected - listed)}"
    assert not listed - expected, f"{name}: a dependency it no longer imports: {sorted(listed - expected)}"


def test_a_model_depends_on_its_own_family_module_only():
    """What dvc.yaml's ${item.family} resolves to: the module get_family imports for each model
    of params.yaml, and nothing there imports another family's module (so the deps are exact)."""
    from toolcall.families import get_family
    from toolcall.params import load_params

    for key, model in load_params(ROOT / "params.yaml").models.items():
        module = FAMILY_MODULE.replace("${item.family}", model.family)
        assert (ROOT / module).is_file(), key
        assert get_family(model.family).render.__module__.startswith("toolcall.formats"), key
    for name in FAMILY_NAMES:
        others = {f"toolcall/families/{n}.py" for n in FAMILY_NAMES if n != name}
        assert not needed_modules(f"toolcall.families.{name}") & others, name


def test_the_check_sees_a_new_import(tmp_path, monkeypatch):
    """The derivation follows imports: a module that starts importing another project module
    makes that module a dependency of every stage that runs it."""
    assert "toolcall/report.py" not in needed_modules("stages.evaluate_toolcall")
    real = _imported_files

    def with_new_import(path: str) -> set[str]:
        return real(path) | ({"toolcall/report.py"} if path == "toolcall/metrics.py" else set())

    monkeypatch.setattr(f"{__name__}._imported_files", with_new_import)
    assert "toolcall/report.py" in needed_modules("stages.evaluate_toolcall")


def _outs(stage: dict) -> set[str]:
    names = set()
    for section in ("outs", "metrics", "plots"):
        for item in stage.get(section, []):
            names.add(next(iter(item)) if isinstance(item, dict) else item)
    return names


def test_the_designs_stage_names_are_stages():
    """The design names five stages; evaluation is generate then evaluate-toolcall (scoring), so
    `dvc repro evaluate-toolcall@M` evaluates model M as a reader of the design expects."""
    stages = _stages()
    for name in ("fetch-weights", "prepare-dataset", "finetune", "evaluate-toolcall", "compare-models"):
        assert name in stages, name
    assert "generate" in stages and "evaluate-bfcl" in stages


def test_every_stage_follows_the_params_check():
    """check-params is the only stage that reads no other stage's output, so DVC runs it before
    any other (and deletes no other output when params.yaml is wrong)."""
    stages = _stages()
    outs = {name: _outs(stage) for name, stage in stages.items()}

    def follows_a_stage(name: str) -> bool:
        return any(dep == out or out.startswith(dep.rstrip("/") + "/")
                   for dep in stages[name].get("deps", []) for other, made in outs.items()
                   if other != name for out in made)

    assert [name for name in stages if not follows_a_stage(name)] == ["check-params"]
    assert stages["check-params"]["params"] == [{"params.yaml": None}]  # every value
    assert _outs(stages["check-params"]) == {str(layout.PARAMS_CHECK)}


def test_only_the_headline_figures_are_dvc_metrics():
    """`dvc metrics show` is one table whose columns are every key of every metrics file: only
    the per-run headline files (layout.result_file's plain kind) are metrics."""
    metrics = {name: [next(iter(m)) if isinstance(m, dict) else m for m in stage.get("metrics", [])]
               for name, stage in _stages().items() if stage.get("metrics")}
    key, variants = "${key}", {"evaluate-toolcall": ("base", "tuned"),
                               "evaluate-toolcall-chat-reference": ("chat",)}
    assert metrics == {name: [str(layout.result_file(key, v)) for v in vs] for name, vs in variants.items()}


def test_outputs_are_where_layout_says():
    stages = _stages()
    key = "${key}"
    assert _outs(stages["resolve-dataset"]) == {str(layout.SOURCE_MANIFEST)}
    assert _outs(stages["resolve-weights"]) == {str(layout.weights_source_file(key))}
    assert str(layout.weights_source_file(key)) in stages["fetch-weights"]["deps"]
    assert _outs(stages["prepare-dataset"]) == {str(p) for p in (
        layout.TRAIN_SPLIT, layout.TEST_SPLIT, layout.REJECTS, layout.DATASET_METRICS)}
    assert _outs(stages["fetch-weights"]) == {str(layout.weights_dir(key)), str(layout.manifest_file(key))}
    assert _outs(stages["fetch-chat-reference"]) == {str(layout.weights_dir(key, "chat")),
                                                     str(layout.manifest_file(key, "chat"))}
    assert str(layout.adapter_dir(key)) in _outs(stages["finetune"])
    for suffix, variants in (("", ("base", "tuned")), ("-chat-reference", ("chat",))):
        assert _outs(stages[f"generate{suffix}"]) == {
            str(f(key, v)) for v in variants for f in (layout.generation_file, layout.generation_meta)}
        assert _outs(stages[f"evaluate-toolcall{suffix}"]) == {
            str(layout.results_dir(key) / f"{v}{ext}") for v in variants
            for ext in (".json", ".details.json", ".meta.json", ".turns.jsonl")}
    assert _outs(stages["prepare-bfcl"]) == {str(layout.BFCL_QUESTIONS), str(layout.BFCL_ANSWERS)}
    for suffix, variants in (("", ("base", "tuned")), ("-chat-reference", ("chat",))):
        files = (layout.generation_file, layout.generation_meta)
        assert _outs(stages[f"generate-bfcl{suffix}"]) == {
            str(f(key, v, "bfcl")) for v in variants for f in files}
        assert _outs(stages[f"evaluate-bfcl{suffix}"]) == {
            str(layout.result_file(key, v, "bfcl", kind)) for v in variants for kind in ("", "turns")}
    assert {str(layout.compare_file(s)) for s in ("md", "csv", "html", "json")} | {
        str(layout.PLOTS / f"{p}.csv") for p in ("headline", "errors", "loss")} == _outs(
        stages["compare-models"])
