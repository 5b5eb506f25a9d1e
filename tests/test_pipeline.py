"""End to end: `dvc repro` of every stage on tiny stand-ins, in a scratch copy.

Also pins the DAG's behaviour: a second repro reruns nothing (but the moment-long
resolve-dataset) and an edit of one file reruns exactly the stages it can change (a change
to scoring never regenerates). What a data file, a setting, a params typo or a damaged output
does to the finished run is test_pipeline_changes.py; the README's experiment workflow is
test_experiments.py.
"""

import json
import re

import pytest
from conftest import ALWAYS_RUN, ROOT, copy_of_finished_pipeline, stale_stages
from conftest import run_command as run

from toolcall.families import get_family
from toolcall.layout import RESULTS, generation_file


@pytest.fixture(scope="module")
def project(finished_pipeline, tmp_path_factory):
    return copy_of_finished_pipeline(finished_pipeline, tmp_path_factory)


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


def test_second_repro_reruns_nothing(project):
    root, env, _ = project
    status = run(["dvc", "status", "--json"], root, env)
    assert json.loads(status) == {name: ["always changed"] for name in ALWAYS_RUN}
    would_run = set(re.findall(r"Running stage '([^']+)'", run(["dvc", "repro", "--dry"], root, env)))
    assert would_run == ALWAYS_RUN == stale_stages(root)  # the commands and the API agree


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
        stale = stale_stages(root)
    finally:
        path.write_text(original, encoding="utf-8")
    assert stale - ALWAYS_RUN == _every_model(RERUNS[edited], params)
