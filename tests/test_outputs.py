"""Outputs are replaced, never written in place: where an output file is a second name of a
cache object (a user's cache.type of hardlink; the project's .dvc/config copies), a stage run
by hand (outside `dvc repro`, which deletes outputs first) must not change the cache through it."""

import hashlib
import os
import shutil

from stages import finetune
from toolcall.io import write_json, write_jsonl, write_text
from toolcall.layout import adapter_dir, results_dir
from toolcall.params import load_params


def _link_into(cache, paths):
    """Hard-link each file into `cache`, as DVC does; {cache file: its md5}."""
    cache.mkdir()
    linked = {}
    for i, path in enumerate(paths):
        target = cache / f"{i}-{path.name}"
        os.link(path, target)
        linked[target] = hashlib.md5(target.read_bytes()).hexdigest()
    return linked


def test_writers_replace_the_file_and_leave_its_other_names_alone(tmp_path):
    writes = {"a.json": lambda p: write_json(p, {"new": 1}),
              "a.jsonl": lambda p: write_jsonl(p, [{"new": 1}]),
              "a.md": lambda p: write_text(p, "new")}
    for name, write in writes.items():
        path = tmp_path / name
        path.write_text("old")
        cached = tmp_path / f"cache-{name}"
        os.link(path, cached)
        write(path)
        assert cached.read_text() == "old"
        assert "new" in path.read_text()
    assert not list(tmp_path.glob(".*.partial"))


def test_finetune_run_by_hand_keeps_the_dvc_cache_intact(tiny_project, tmp_path, monkeypatch):
    root = tmp_path / "p"
    shutil.copytree(tiny_project, root)
    monkeypatch.chdir(root)
    key = "qwen2_5-7b"
    params = load_params()
    finetune.finetune(key, params)
    outputs = [p for p in [*adapter_dir(key).iterdir(), *results_dir(key).iterdir()] if p.is_file()]
    cache = _link_into(tmp_path / "cache", outputs)
    finetune.finetune(key, params)
    assert {path: hashlib.md5(path.read_bytes()).hexdigest() for path in cache} == cache
