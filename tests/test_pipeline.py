"""End to end: `dvc repro` of every stage on tiny stand-ins, in a scratch copy.

Also pins the DAG's behaviour: a second repro reruns nothing (but the moment-long
resolve-dataset), changing one model's settings invalidates only that model's chain, a
change to scoring never regenerates, and editing a data file anywhere reruns preparation and
what follows. The README's experiment workflow is test_experiments.py.
"""

import hashlib
import json
import re
import shutil
import subprocess

import pytest
import yaml
from conftest import ROOT, commit, dvc_project, tiny_params
from conftest import run_command as run
from dvc.repo import Repo

from toolcall.families import get_family
from toolcall.layout import RESULTS, generation_file


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    params = tiny_params()
    params["chat_references"] = {"glm4-9b": {"hub_id": "THUDM/glm-4-9b-chat-hf",
                                             "revision": "main"}}
    env = dvc_project(root, params)
    run(["dvc", "repro"], root, env)
    commit(root, env)
    return root, env, params


def test_repro_writes_every_output(project):
    root, _, params = project
    for key in params["models"]:
        assert (root / "models" / key / "adapter" / "adapter_model.safetensors").exists()
        assert (root / "models" / key / "adapter" / "chat_template.jinja").exists()
        manifest = json.loads((root / "models" / key / "base.manifest.json").read_text())
        assert manifest["source"] == "standin"
        variants = ("base", "tuned", "chat") if key == "glm4-9b" else ("base", "tuned")
        for variant in variants:
            metrics = json.loads((root / RESULTS / key / f"{variant}.details.json").read_text())
            assert metrics["turns"] > 0 and "tool_score" in metrics
            assert all(v is None or isinstance(v, (int, float)) for v in metrics.values())
            turns = (root / RESULTS / key / f"{variant}.turns.jsonl").read_text().splitlines()
            assert len(turns) == metrics["turns"]
            generated = [json.loads(line) for line in
                         (root / generation_file(key, variant)).read_text().splitlines()]
            assert len(generated) == metrics["turns"]
            # which stop token ended each turn, as the tokenizer names it (the GLM-4 parser
            # needs it): one of the family's, or none when the turn ran to the token limit
            stops = get_family(params["models"][key]["family"]).stop_tokens
            assert all(g["stop_token"] in stops if not g["hit_token_limit"] else g["stop_token"] is None
                       for g in generated)
        assert not list((root / "models" / key / "progress").glob("*"))
    compare = json.loads((root / "metrics" / "compare.json").read_text())
    assert "glm4-9b.tuned.tool_score" in compare and "qwen2_5-7b.gain.decision_f1" in compare
    assert "glm4-9b.chat.tool_score" in compare and "qwen2_5-7b.chat.tool_score" not in compare
    table = (root / "metrics" / "compare.md").read_text()
    assert "| tool_score |" in table and "**family**" in table and "glm4-9b chat" in table
    assert "| bfcl_non_live_ast |" in table and "Published BFCL figures" in table
    bfcl = json.loads((root / RESULTS / "glm4-9b" / "bfcl.tuned.json").read_text())
    assert bfcl["bfcl_simple_python_questions"] == 1 and "bfcl_live" in bfcl
    page = (root / "metrics" / "compare.html").read_text()
    assert page.count("<svg") == 4 and "http" not in page.replace(
        "http://www.w3.org/2000/svg", "")  # self-contained: nothing to fetch


def test_the_report_answers_first_and_says_what_ran(project):
    """The verdict opens both reports, the title and settings say "stand-in", every headline
    figure is defined, and a failed turn shows what a reader needs to judge it."""
    root, _, _ = project
    for name in ("compare.md", "compare.html"):
        text = (root / "metrics" / name).read_text()
        title = (text.split("<h1>")[1].split("</h1>")[0] if name.endswith("html")
                 else text.splitlines()[0])
        assert "STAND-INS" in title, title
        verdict = re.search(r"(calls tools better than|No detectable difference between the tuned models)"
                            r".*tool_score [0-9.]+ vs [0-9.]+, difference [+-][0-9.]+ "
                            r"\[[+-][0-9.]+, [+-][0-9.]+\] over \d+ paired test conversations", text)
        assert verdict and text.index(verdict.group(0)) < text.index("Headline"), name
        assert "stand-in for THUDM/glm-4-9b-hf" in text and "stand-in for Qwen/Qwen2.5-7B" in text
        for figure in ("call_exact_match", "no_call_accuracy_with_tools", "tool_score", "decision_f1"):
            assert re.search(rf"\| {figure} \| [a-z]|<td>{figure}</td><td>[a-z]", text), figure
        assert "glm4-9b tuned vs qwen2_5-7b tuned" in text and "glm4-9b tuned vs glm4-9b chat" in text
        assert re.search(r"call_exact_match(</td><td>| \| )[0-9.]+ \(\d+/\d+\) \[", text)  # counts
    page = (root / "metrics" / "compare.html").read_text()
    for row in ("user asked", "tools offered", "model wrote", "parsed", "gold"):  # 3 steps: it fails
        assert f"<th>{row}</th>" in page, row


def test_metrics_show_lists_every_model_and_fits_a_terminal(project):
    """The design's CI command: the headline figures of every model and variant, in one table at
    most 120 characters wide (the details stay in their files)."""
    root, env, params = project
    shown = json.loads(run(["dvc", "metrics", "show", "--json"], root, env))
    files = next(iter(shown.values()))["data"]
    expected = {f"{RESULTS}/{key}/{variant}.json" for key in params["models"]
                for variant in ("base", "tuned")} | {f"{RESULTS}/glm4-9b/chat.json"}
    assert set(files) == expected
    assert all(set(f["data"]) == {"call_exact_match", "no_call_accuracy_with_tools", "tool_score",
                                  "decision_f1"} for f in files.values())
    table = run(["dvc", "metrics", "show"], root, env)
    assert max(len(line) for line in table.splitlines()) <= 120, table


def test_plots_show_renders_every_chart(project):
    root, env, params = project
    plots = json.loads(run(["dvc", "plots", "show", "--json"], root, env))
    assert "errors" not in plots or not plots["errors"], plots.get("errors")
    ids = set(plots["data"])
    assert ids == {"Headline metrics per model and variant", "Error types per model and variant",
                   "Training and eval loss, all models"}  # each chart once
    headline = plots["data"]["Headline metrics per model and variant"][0]["content"]
    runs = {row["run"] for row in headline["data"]["values"]}
    assert runs == {"glm4-9b base", "glm4-9b tuned", "glm4-9b chat", "qwen2_5-7b base",
                    "qwen2_5-7b tuned"}
    assert headline["encoding"]["x"]["scale"]["zero"] is True


def test_plots_page_draws_offline(project):
    """`dvc plots show` writes a page with Vega inlined (.dvc/config's html_template), not
    loaded from a CDN: it draws with no network. The template is exactly what its builder
    makes from the pinned npm releases."""
    from configs.plots.build_offline_template import TEMPLATE, build

    root, env, _ = project
    run(["dvc", "plots", "show", "-o", "plots_page"], root, env)
    page = (root / "plots_page" / "index.html").read_text(encoding="utf-8")
    assert "<script src=" not in page and "cdn.jsdelivr" not in page
    assert "/* vega-embed 6.18.2 */" in page and page.count("vegaEmbed('#") == 3
    assert TEMPLATE.read_text(encoding="utf-8") == build()


# Stages that run on every repro (a moment each): they write down what the data source and
# each model's weights are now, and what follows reruns only when that changed.
ALWAYS_RUN = {"resolve-dataset", "resolve-weights@glm4-9b", "resolve-weights@qwen2_5-7b"}


def test_second_repro_reruns_nothing(project):
    root, env, _ = project
    status = run(["dvc", "status", "--json"], root, env)
    assert json.loads(status) == {name: ["always changed"] for name in ALWAYS_RUN}
    would_run = set(re.findall(r"Running stage '([^']+)'", run(["dvc", "repro", "--dry"], root, env)))
    assert would_run == ALWAYS_RUN == _stale(root)  # the commands and the API agree


# What an edit of one file reruns in a finished run: the stages whose dependencies change
# (`dvc repro --dry` runs these and, if their outputs change, what follows), besides the
# moment-long ALWAYS_RUN, with each model's stage written once as `stage@M`. The README's table
# "What an edit reruns" is this dict (test_the_readme_states_what_each_edit_reruns).
SCORING = {"evaluate-toolcall@M", "evaluate-toolcall-chat-reference@M", "evaluate-bfcl@M",
           "evaluate-bfcl-chat-reference@M", "compare-models"}
GENERATION = {"generate@M", "generate-chat-reference@M", "generate-bfcl@M",
              "generate-bfcl-chat-reference@M"}
STANDINS = {"fetch-weights@M", "fetch-chat-reference@M"}
EVERY_STAGE = ({"check-params", "prepare-dataset", "prepare-bfcl", "finetune@M"} | STANDINS
               | GENERATION | SCORING)
# A family's file: the chain of the models of that family, from their weights on, and every chat
# reference's (a chat reference's stage cannot name its model's family in dvc.yaml).
MODEL_CHAIN = ["fetch-weights", "finetune", "generate", "evaluate-toolcall", "generate-bfcl",
               "evaluate-bfcl"]
CHAT_REFERENCES = {"fetch-chat-reference@M", "generate-chat-reference@M",
                   "evaluate-toolcall-chat-reference@M", "generate-bfcl-chat-reference@M",
                   "evaluate-bfcl-chat-reference@M"}


def _chain(model: str) -> set[str]:
    return {f"{stage}@{model}" for stage in MODEL_CHAIN} | CHAT_REFERENCES


RERUNS = {
    "toolcall/report.py": {"compare-models"},
    "toolcall/metrics.py": SCORING,
    "toolcall/parsing.py": SCORING,
    "toolcall/parsers/glm4.py": SCORING,
    "toolcall/parsers/hermes.py": SCORING,
    "toolcall/bfcl_scoring.py": SCORING,
    "toolcall/evaluation.py": GENERATION,
    "toolcall/bfcl.py": {"check-params", "prepare-bfcl"} | GENERATION | SCORING,
    "toolcall/standins.py": STANDINS,
    "toolcall/sample_data.py": STANDINS,
    "toolcall/families/glm4.py": _chain("glm4-9b"),
    "toolcall/families/qwen2_5.py": _chain("qwen2_5-7b"),
    "toolcall/formats/glm.py": _chain("M"),  # shared by GLM-4 and GLM-4-0414: in every chain
    "toolcall/formats/chatml.py": _chain("M"),
    "toolcall/families/base.py": EVERY_STAGE,
    "toolcall/io.py": EVERY_STAGE,
    "toolcall/params.py": EVERY_STAGE,
}


# The README's table names each stage once, in the DAG's order; a chat reference's stage reruns
# with its model's (checked below, so the table can leave the twins out).
README_ORDER = ["check-params", "prepare-dataset", "fetch-weights@M", "finetune@M", "generate@M",
                "evaluate-toolcall@M", "prepare-bfcl", "generate-bfcl@M", "evaluate-bfcl@M",
                "compare-models"]
CHAT_REFERENCE_TWIN = {"fetch-weights@M": "fetch-chat-reference@M",
                       "generate@M": "generate-chat-reference@M",
                       "evaluate-toolcall@M": "evaluate-toolcall-chat-reference@M",
                       "generate-bfcl@M": "generate-bfcl-chat-reference@M",
                       "evaluate-bfcl@M": "evaluate-bfcl-chat-reference@M"}


def _readme_row(edited: str) -> str:
    stages = RERUNS[edited]

    def generic(name: str) -> str:  # finetune@glm4-9b -> finetune@M
        return name.split("@")[0] + "@M" if "@" in name else name

    shown = sorted((name for name in stages if generic(name) in README_ORDER),
                   key=lambda name: README_ORDER.index(generic(name)))
    assert stages == set(shown) | {CHAT_REFERENCE_TWIN[generic(n)] for n in shown
                                   if generic(n) in CHAT_REFERENCE_TWIN}
    return f"| `{edited}` | {', '.join(f'`{name}`' for name in shown)} |"


@pytest.mark.parametrize("readme", ["README.md", "README.zh-CN.md"])
def test_the_readme_states_what_each_edit_reruns(readme):
    text = (ROOT / readme).read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith(("| `toolcall/", "| `stages/"))
            and line.count("|") == 3]
    assert rows == [_readme_row(edited) for edited in RERUNS]


def _every_model(names: set[str], params: dict) -> set[str]:
    """`generate@M` -> `generate@glm4-9b`, `generate@qwen2_5-7b` (a chat reference's stage: one
    per configured chat reference)."""
    def keys(name: str) -> list[str]:
        return list(params["chat_references" if "chat-reference" in name else "models"])

    return {name for name in names if not name.endswith("@M")} | {
        name.replace("@M", f"@{key}") for name in names if name.endswith("@M") for key in keys(name)}


def _stale(root) -> set[str]:
    """The stages DVC finds changed (`dvc status`), asked in this process: the same answer as
    the command, without the second it takes to start."""
    with Repo(str(root)) as repo:
        return {name.rsplit(":", 1)[-1] for name in repo.status()}


@pytest.mark.parametrize("edited", list(RERUNS))
def test_an_edit_reruns_exactly_what_it_can_change(project, edited):
    """One comment line added to a file of a finished run: DVC reruns the stages in RERUNS and
    no other. A parser (any family's), the parsing rules or a metric reruns scoring and the
    comparison only, never training or generation."""
    root, _, params = project
    path = root / edited
    original = path.read_text(encoding="utf-8")
    path.write_text(original + "\n# a changed line\n", encoding="utf-8")
    try:
        stale = _stale(root)
    finally:
        path.write_text(original, encoding="utf-8")
    assert stale - ALWAYS_RUN == _every_model(RERUNS[edited], params)


def test_editing_a_data_file_anywhere_reruns_preparation_and_what_follows(project, tmp_path):
    root, env, params = project
    source = tmp_path / "elsewhere" / "glaive.json"  # outside the project
    source.parent.mkdir()
    shutil.copy(root / params["dataset"]["source"], source)
    original = (root / "params.yaml").read_text("utf-8")
    moved = json.loads(json.dumps(params))
    moved["dataset"]["source"] = str(source)
    (root / "params.yaml").write_text(yaml.safe_dump(moved, allow_unicode=True), "utf-8")
    try:
        run(["dvc", "repro", "prepare-dataset"], root, env)  # same rows: the same split
        assert _stale(root) == ALWAYS_RUN
        rows = json.loads(source.read_text("utf-8"))
        source.write_text(json.dumps(rows[1:], ensure_ascii=False), "utf-8")  # one row less
        output = run(["dvc", "repro", "prepare-dataset"], root, env)
        assert "Running stage 'prepare-dataset'" in output
        stale = _stale(root)
    finally:
        (root / "params.yaml").write_text(original, "utf-8")
        run(["dvc", "repro", "prepare-dataset"], root, env)
    assert {"finetune@glm4-9b", "finetune@qwen2_5-7b", "generate@glm4-9b",
            "evaluate-toolcall@glm4-9b", "generate@qwen2_5-7b", "evaluate-toolcall@qwen2_5-7b"} <= stale
    assert _stale(root) == ALWAYS_RUN


def test_one_model_setting_invalidates_only_that_model(project):
    root, env, params = project
    changed = json.loads(json.dumps(params))
    changed["models"]["glm4-9b"]["lora"] = {"r": 8}
    original = (root / "params.yaml").read_text("utf-8")
    (root / "params.yaml").write_text(yaml.safe_dump(changed, allow_unicode=True), "utf-8")
    try:
        stale = _stale(root) - ALWAYS_RUN
    finally:
        (root / "params.yaml").write_text(original, "utf-8")
    # generate@glm4-9b follows once the adapter changes; qwen's chain stays cached (check-params
    # checks every change of params.yaml, a moment, and its output stays the same)
    assert stale == {"check-params", "finetune@glm4-9b", "compare-models"}


@pytest.mark.parametrize("section, key, typo", [("models", "family", "llama9"),
                                                ("train", "lr_scheduler_type", "bogus")])
def test_a_params_typo_deletes_nothing_and_its_revert_rebuilds_nothing(project, section, key, typo):
    """check-params stops `dvc repro` before DVC deletes any output: the base weights and the
    adapter are still there, and after the revert only the check itself runs again."""
    root, env, params = project
    broken = json.loads(json.dumps(params))
    target = broken["models"]["glm4-9b"] if section == "models" else broken["train"]
    target[key] = typo
    kept = [root / "models/glm4-9b/base/model.safetensors", root / "models/glm4-9b/base.manifest.json",
            root / "models/glm4-9b/adapter/adapter_model.safetensors"]
    before = {path: path.read_bytes() for path in kept}
    original = (root / "params.yaml").read_text("utf-8")
    (root / "params.yaml").write_text(yaml.safe_dump(broken, allow_unicode=True), "utf-8")
    try:
        failed = subprocess.run(["dvc", "repro"], cwd=root, env=env, capture_output=True, text=True)
    finally:
        (root / "params.yaml").write_text(original, "utf-8")
    assert failed.returncode != 0
    assert f"{key} = '{typo}'" in failed.stdout + failed.stderr
    assert re.findall(r"Running stage '([^']+)'", failed.stdout) == ["check-params"]
    assert {path: path.read_bytes() for path in kept} == before
    assert _stale(root) == ALWAYS_RUN


def test_a_damaged_output_never_damages_the_cache_and_is_restored_whole(project):
    """Truncating a finished adapter in place and overwriting a generation file: DVC's cache
    still holds the original bytes and `dvc status` names both stages; `dvc checkout` gives the
    adapter back from the cache, loadable, and `dvc repro` regenerates the same generations
    (the README's two ways back)."""
    from safetensors.torch import load_file

    root, env, _ = project
    adapter = root / "models/glm4-9b/adapter/adapter_model.safetensors"
    generations = root / generation_file("qwen2_5-7b", "tuned")
    before = {path: path.read_bytes() for path in (adapter, generations)}
    with adapter.open("r+b") as f:  # in place, as `truncate -s` does
        f.truncate(1000)
    with generations.open("w", encoding="utf-8") as f:
        f.write("damaged\n")
    for original in before.values():  # the cache object of each original file, by its md5
        md5 = hashlib.md5(original).hexdigest()
        assert (root / ".dvc/cache/files/md5" / md5[:2] / md5[2:]).read_bytes() == original
    assert {"finetune@glm4-9b", "generate@qwen2_5-7b"} <= _stale(root)
    run(["dvc", "checkout", "--force", str(adapter.parent.relative_to(root))], root, env)
    assert adapter.read_bytes() == before[adapter] and load_file(adapter)
    output = run(["dvc", "repro"], root, env)
    assert set(re.findall(r"Running stage '([^']+)'", output)) - ALWAYS_RUN == {"generate@qwen2_5-7b"}
    assert generations.read_bytes() == before[generations]
    assert _stale(root) == ALWAYS_RUN
