"""Tracking never blocks on a prompt and never stops training."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from transformers.trainer_callback import CallbackHandler

from toolcall.tracking import NeverFailingCallback, run_name, swanlab_callback


class Exploding(TrainerCallback):
    calls = 0

    def on_log(self, *args, **kwargs):
        Exploding.calls += 1
        raise ConnectionError("service unreachable")


def test_a_failing_tracker_is_disabled_after_one_warning(caplog):
    guarded = NeverFailingCallback(Exploding())
    guarded.on_log(None, None, None, logs={"loss": 1.0})
    guarded.on_log(None, None, None, logs={"loss": 0.5})
    assert Exploding.calls == 1
    assert "tracking disabled" in caplog.text


def test_the_trainer_s_callback_handler_drives_the_guarded_tracker_through_every_event(caplog):
    """The wrapper is a plain object (scoring imports it without transformers): the Trainer's
    own handler must still call it for every event and survive a tracker that fails."""
    seen = []

    class Recording(TrainerCallback):
        def __getattribute__(self, name):
            if name.startswith("on_"):
                seen.append(name)
                if name == "on_log":
                    raise ConnectionError("service unreachable")
            return object.__getattribute__(self, name)

    handler = CallbackHandler([NeverFailingCallback(Recording())], None, None, None, None)
    args = TrainingArguments(output_dir="unused", report_to=[])
    state, control = TrainerState(), TrainerControl()
    events = [name for name in dir(TrainerCallback) if name.startswith("on_")]
    for event in events:
        handler.call_event(event, args, state, control)
    assert seen == events[:events.index("on_log") + 1]  # everything until the failure, then off
    assert "tracking disabled for the rest of this run: on_log failed" in caplog.text


def test_disabled_mode_gives_no_callback(monkeypatch):
    monkeypatch.setenv("SWANLAB_MODE", "disabled")
    assert swanlab_callback("m", {}) is None


def test_run_name_includes_the_dvc_experiment(monkeypatch):
    monkeypatch.setenv("DVC_EXP_NAME", "glm-vs-qwen")
    assert run_name("glm4-9b", "finetune") == "glm4-9b-finetune-glm-vs-qwen"


def test_cloud_mode_without_key_or_network_neither_blocks_nor_raises(tmp_path):
    """Online mode, no API key, stdin closed: the run must go on without tracking."""
    script = (
        "from transformers import TrainerControl, TrainerState, TrainingArguments\n"
        "from toolcall.tracking import swanlab_callback\n"
        "cb = swanlab_callback('m', {'lr': 1})\n"
        "args = TrainingArguments(output_dir='out', report_to='none')\n"
        "state, control = TrainerState(), TrainerControl()\n"
        "if cb is not None:\n"
        "    cb.on_train_begin(args, state, control)\n"
        "    cb.on_log(args, state, control, logs={'loss': 1.0})\n"
        "print('training went on')\n"
    )
    env = {**os.environ, "SWANLAB_MODE": "cloud", "SWANLAB_API_KEY": "",
           "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    env.pop("SWANLAB_API_KEY")
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "training went on" in result.stdout
    assert "tracking disabled" in result.stderr  # it did try, failed, and said so once


def _run_evaluation_logging(tmp_path, mode: str) -> subprocess.CompletedProcess:
    script = (
        "from toolcall.tracking import log_evaluation\n"
        "failed = [{'conversation_id': 'c1', 'turn_index': 1, 'stratum': 'call',\n"
        "           'error_type': 'missed_call', 'output': '你好', 'gold': {'role': 'assistant'}}]\n"
        "log_evaluation('glm4-9b', 'tuned', {'lr': 1}, {'tool_score': 0.5, 'turns': 3,\n"
        "               'schema_valid_rate': None}, failed)\n"
        "print('evaluation went on')\n"
    )
    env = {**os.environ, "SWANLAB_MODE": mode, "HTTPS_PROXY": "http://127.0.0.1:9",
           "HTTP_PROXY": "http://127.0.0.1:9", "SWANLAB_LOG_DIR": str(tmp_path / "swanlog")}
    env.pop("SWANLAB_API_KEY", None)
    return subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_evaluation_logs_offline_with_its_failed_turns(tmp_path):
    result = _run_evaluation_logging(tmp_path, "offline")
    assert result.returncode == 0 and "evaluation went on" in result.stdout, result.stderr[-2000:]
    assert "skipped" not in result.stderr  # offline logging worked
    assert any((tmp_path / "swanlog").rglob("*")), "nothing written to the offline log"


def test_evaluation_logging_in_cloud_mode_without_key_neither_blocks_nor_raises(tmp_path):
    result = _run_evaluation_logging(tmp_path, "cloud")
    assert result.returncode == 0 and "evaluation went on" in result.stdout, result.stderr[-2000:]
    assert "SwanLab logging of glm4-9b-evaluate-tuned skipped" in result.stderr


def test_local_runs_are_viewable_in_the_dashboard(tmp_path):
    """The README's way to see runs on the machine itself: SWANLAB_MODE=local, then
    `swanlab watch swanlog` (swanlab[dashboard]). Generation and evaluation land in one project."""
    script = (
        "from toolcall.tracking import log_evaluation, log_generation\n"
        "log_generation('glm4-9b', 'tuned', {'max_new_tokens': 8}, {'turns': 3, 'seconds': 1.5})\n"
        "log_evaluation('glm4-9b', 'tuned', {'lr': 1}, {'tool_score': 0.5}, [])\n"
    )
    env = {**os.environ, "SWANLAB_MODE": "local", "SWANLAB_LOG_DIR": str(tmp_path / "swanlog")}
    logged = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert logged.returncode == 0 and "skipped" not in logged.stderr, logged.stderr[-2000:]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    swanlab = Path(sys.executable).with_name("swanlab")
    server = subprocess.Popen([str(swanlab), "watch", str(tmp_path / "swanlog"), "-p", str(port)],
                              cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        project = None
        for _ in range(60):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/project", timeout=2) as r:
                    project = json.loads(r.read())["data"]
                break
            except OSError:
                time.sleep(0.5)
        assert project is not None, "the dashboard did not start"
        assert project["name"] == "toolcall-sft"
        assert {e["name"] for e in project["experiments"]} == {"glm4-9b-generate-tuned",
                                                                "glm4-9b-evaluate-tuned"}
    finally:
        server.terminate()
        server.wait(timeout=10)
