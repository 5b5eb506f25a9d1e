import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("SWANLAB_MODE", "disabled")
# Parallel workers (see below) run one thread each, and so do the stages they start: torch's
# thread pools in every worker would oversubscribe the cores and spin on each other.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", "1")

# `pytest` runs the modules in parallel workers (pyproject: -n auto, one module per worker at
# a time). The slowest (whole DAGs, training) start first, longest first, so the workers end
# together; test_pipeline_changes.py comes after some 30 s of other modules, by when the finished
# run it copies (built by test_pipeline.py's worker, `finished_pipeline`) is there.
SLOWEST_MODULES = ["test_pipeline.py", "test_hub_offline.py", "test_experiments.py", "test_resume.py",
                   "test_tracking.py", "test_evaluation.py", "test_pipeline_changes.py", "test_chat.py",
                   "test_smollm2.py", "test_distributed.py"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return SLOWEST_MODULES.index(name) if name in SLOWEST_MODULES else len(SLOWEST_MODULES)

    items.sort(key=rank)  # stable: tests keep their order within a module


FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "查询天气",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "城市"},
                "days": {"type": "integer"},
                "unit": {"type": "string", "enum": ["摄氏度", "华氏度"]},
            },
            "required": ["city"],
        },
    },
}


@pytest.fixture
def weather_conversation():
    """Tools + a call, its result, an answer, a follow-up and a second call with 2 calls."""
    return [WEATHER_TOOL], [
        {"role": "user", "content": "北京天气？"},
        {"role": "assistant", "content": "",
         "tool_calls": [{"name": "get_weather", "arguments": {"city": "北京", "days": 1}}]},
        {"role": "tool", "content": '{"temp": 3}'},
        {"role": "assistant", "content": "北京3度。"},
        {"role": "user", "content": "上海和广州呢？"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"name": "get_weather", "arguments": {"city": "上海"}},
            {"name": "get_weather", "arguments": {"city": "广州", "unit": "华氏度"}}]},
        {"role": "tool", "content": '{"temp": 9}'},
        {"role": "tool", "content": '{"temp": 70}'},
        {"role": "assistant", "content": "上海9度，广州70华氏度。"},
    ]


# What the loss trains in `weather_conversation`, per family: the calls and answers plus the
# token that natively ends each assistant turn.
WEATHER_TRAINED_SPANS = {
    "glm4": [
        'get_weather\n{"city": "北京", "days": 1}<|observation|>',
        "\n北京3度。<|user|>",
        'get_weather\n{"city": "上海"}<|assistant|>get_weather\n'
        '{"city": "广州", "unit": "华氏度"}<|observation|>',
        "\n上海9度，广州70华氏度。<|endoftext|>",
    ],
    "qwen2_5": [
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "北京", "days": 1}}\n'
        "</tool_call><|im_end|>",
        "北京3度。<|im_end|>",
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "上海"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "广州", "unit": "华氏度"}}\n'
        "</tool_call><|im_end|>",
        "上海9度，广州70华氏度。<|im_end|>",
    ],
}
# The successors write their turns as their predecessors do (their prompts differ).
WEATHER_TRAINED_SPANS["qwen3"] = WEATHER_TRAINED_SPANS["qwen2_5"]
WEATHER_TRAINED_SPANS["glm4_0414"] = WEATHER_TRAINED_SPANS["glm4"]
WEATHER_TRAINED_SPANS["smollm2"] = WEATHER_TRAINED_SPANS["qwen2_5"]  # Qwen2.5's format


def load_fixture(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


# A tiny configuration of the real params.yaml: seconds per stage on a CPU.
TINY = {
    "standin": {"vocab_size": 400, "hidden_size": 32, "num_hidden_layers": 1,
                "num_attention_heads": 2, "num_key_value_heads": 1, "intermediate_size": 64,
                "pretrain_conversations": 50, "pretrain_steps": 3, "pretrain_batch_size": 2,
                "pretrain_block_size": 64},
    "standin_train": {"max_steps": 3, "per_device_train_batch_size": 2, "logging_steps": 1,
                      "eval_steps": 2, "save_steps": 2},
    "evaluate": {"max_new_tokens": 8, "batch_size": 8, "bootstrap_samples": 20},
    "dataset": {"max_rows": 60, "test_fraction": 0.15, "min_test_conversations": 1},
    "bfcl": {"max_per_category": 1},
}


def tiny_params() -> dict:
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    for section, values in TINY.items():
        params[section].update(values)
    return params


def run_stage(args: list[str], cwd: Path) -> str:
    """Run `python -m stages.<...>` in a scratch project; fail with its output."""
    env = {**os.environ, "SWANLAB_MODE": "disabled", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory) -> Path:
    """A scratch project with the tiny params, prepared splits and both stand-in bases
    (no adapters: tests that need one train it)."""
    root = tmp_path_factory.mktemp("tiny")
    shutil.copytree(ROOT / "data" / "sample", root / "data" / "sample")
    shutil.copytree(ROOT / "configs", root / "configs")
    (root / "params.yaml").write_text(yaml.safe_dump(tiny_params(), allow_unicode=True), "utf-8")
    run_stages_here(root, [("resolve_dataset", []), ("prepare_dataset", []),
                           ("fetch_weights", ["--model", "glm4-9b"]),
                           ("fetch_weights", ["--model", "qwen2_5-7b"])])
    return root


def run_stages_here(root: Path, stages: list[tuple[str, list[str]]]) -> None:
    """Run stages' mains (`stages.<name>` with its command-line args) one after another in
    this process, in `root`: the modules load torch once, not once per stage as
    `python -m` would (seconds per stage)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        for name, args in stages:
            stage = importlib.import_module(f"stages.{name}")
            patch.setattr("sys.argv", [name, *args])
            stage.main()


def run_command(args: list[str], cwd: Path, env: dict) -> str:
    """Run a command in a scratch project; its stdout, or fail with all its output."""
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def project_env(root: Path) -> dict:
    """The environment a scratch project's commands run in: its own stages and toolcall."""
    return {**os.environ, "SWANLAB_MODE": "disabled", "PYTHONPATH": str(root)}


def dvc_project(root: Path, params: dict) -> dict:
    """A scratch git + DVC repository holding this project's stages, DAG and sample with
    `params`, committed; returns the environment its commands run in."""
    for name in ("stages", "toolcall", "data/sample", ".dvcignore", "dvc.yaml"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, root / name)
    (root / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), "utf-8")
    env = project_env(root)
    run_command(["git", "init", "-q"], root, env)
    run_command(["dvc", "init", "-q", "--force"], root, env)
    (root / ".dvc" / "config").write_text((ROOT / ".dvc" / "config").read_text())
    shutil.copytree(ROOT / ".dvc" / "plots", root / ".dvc" / "plots")
    commit(root, env)
    return env


def commit(root: Path, env: dict) -> None:
    run_command(["git", "add", "-A"], root, env)
    run_command(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "scratch"],
                root, env)


# Stages that run on every repro (a moment each): they write down what the data source and
# each model's weights are now, and what follows reruns only when that changed.
ALWAYS_RUN = {"resolve-dataset", "resolve-weights@glm4-9b", "resolve-weights@qwen2_5-7b"}


def stale_stages(root: Path) -> set[str]:
    """The stages DVC finds changed (`dvc status`), asked in this process: the same answer as
    the command (test_pipeline.py checks), without the second it takes to start."""
    from dvc.repo import Repo  # noqa: PLC0415

    with Repo(str(root)) as repo:
        return {name.rsplit(":", 1)[-1] for name in repo.status()}


def pipeline_params() -> dict:
    """The tiny params with one chat reference: every stage of the DAG has work."""
    params = tiny_params()
    params["chat_references"] = {"glm4-9b": {"hub_id": "THUDM/glm-4-9b-chat-hf", "revision": "main"}}
    return params


@pytest.fixture(scope="session")
def finished_pipeline(tmp_path_factory, worker_id: str) -> Path:
    """A scratch project after `dvc repro` of the whole tiny DAG, committed: the suite's slowest
    setup, so built once per session, whichever worker asks first; the others wait for it.
    It is never changed: test_pipeline.py and test_pipeline_changes.py work on copies."""
    if worker_id == "master":  # one process (`pytest -n 0`)
        return _build_pipeline(tmp_path_factory.mktemp("pipeline"))
    from filelock import FileLock  # noqa: PLC0415 (pytest-xdist's workers only: a dev dependency)

    shared = tmp_path_factory.getbasetemp().parent / "pipeline"  # this session's, every worker's
    with FileLock(f"{shared}.lock"):
        if not shared.with_suffix(".built").exists():
            shutil.rmtree(shared, ignore_errors=True)  # a build that failed in another worker
            shared.mkdir()
            _build_pipeline(shared)
            shared.with_suffix(".built").touch()
    return shared


def _build_pipeline(root: Path) -> Path:
    env = dvc_project(root, pipeline_params())
    run_command(["dvc", "repro"], root, env)
    commit(root, env)
    return root


def copy_of_finished_pipeline(finished: Path, tmp_path_factory) -> tuple[Path, dict, dict]:
    """A copy of the finished project to change freely: its root, environment and params.
    DVC's scratch folder (.dvc/tmp: locks, the hash cache keyed by inode) stays behind."""
    root = tmp_path_factory.mktemp("project") / "p"
    shutil.copytree(finished, root, symlinks=True,
                    ignore=lambda folder, names: ["tmp"] if Path(folder) == finished / ".dvc" else [])
    return root, project_env(root), pipeline_params()
