"""The real loading code (hub ids, revisions, snapshot_download, load_dataset), run against
local fixtures with the hub calls replaced; and what the user sees when loading fails."""

import json
import random
from types import SimpleNamespace

import huggingface_hub
import pytest
import yaml
from conftest import ROOT
from huggingface_hub.errors import GatedRepoError

from stages import fetch_weights, prepare_dataset, resolve_dataset, resolve_weights
from toolcall import checkpoints
from toolcall.checkpoints import folder_digest, materialize, resolve
from toolcall.io import PipelineError
from toolcall.params import load_params
from toolcall.sources import load_rows, resolve_source

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def fake_hub(monkeypatch, tmp_path):
    """A hub whose snapshot is a local folder; records what was asked for."""
    # Like the hub cache: a snapshot of symlinks into a blob store.
    blobs, snapshot = tmp_path / "blobs", tmp_path / "snapshot"
    blobs.mkdir()
    snapshot.mkdir()
    for name in ("config.json", "tokenizer_config.json", "model.safetensors"):
        (blobs / name).write_text("{}")
        (snapshot / name).symlink_to(blobs / name)
    asked = {}

    def model_info(self, repo_id, revision=None):
        asked["info"] = (repo_id, revision)
        return SimpleNamespace(sha=COMMIT)

    def snapshot_download(repo_id, revision=None, **kwargs):
        asked["download"] = (repo_id, revision)
        return str(snapshot)

    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", model_info)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    return asked


def test_hub_download_is_pinned_to_the_resolved_commit(fake_hub, tmp_path):
    model = load_params().models["qwen2_5-7b"]
    out = tmp_path / "base"
    resolved = resolve(model.weights_from, model.hub_id, model.revision)
    assert fake_hub["info"] == ("Qwen/Qwen2.5-7B", "main") and "download" not in fake_hub
    materialize(resolved, out)
    fetch_weights.check_checkpoint(out)
    assert fake_hub["download"] == ("Qwen/Qwen2.5-7B", COMMIT)
    assert resolved == {"source": "hub", "hub_id": "Qwen/Qwen2.5-7B", "revision": "main",
                        "commit": COMMIT}
    # hard links to the hub cache's blobs: no second copy on disk, no symlink into the cache
    config = out / "config.json"
    blob = tmp_path / "blobs" / "config.json"
    assert not config.is_symlink() and config.stat().st_ino == blob.stat().st_ino


def test_incomplete_download_is_not_declared_ready(fake_hub, tmp_path):
    out = tmp_path / "base"
    materialize(resolve("hub", "THUDM/glm-4-9b-hf", "main"), out)
    (out / "model.safetensors").unlink()
    with pytest.raises(PipelineError, match=r"\*\.safetensors.*rerun"):
        fetch_weights.check_checkpoint(out)


@pytest.mark.parametrize("error, message", [
    (OSError("connection refused"), "check the network"),
    (GatedRepoError("gated", response=SimpleNamespace(headers={}, status_code=403, request=None,
                                                      url="")), "accept the licence"),
])
def test_hub_failures_say_what_to_do(monkeypatch, error, message):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", fail)
    with pytest.raises(PipelineError, match=message):
        resolve("hub", "THUDM/glm-4-9b-hf", "main")


def test_a_gated_pinned_commit_says_to_accept_the_licence(monkeypatch, tmp_path):
    """A commit revision skips resolve's question, so the download itself names the cause."""
    def gated(*args, **kwargs):
        raise GatedRepoError("gated", response=SimpleNamespace(headers={}, status_code=403,
                                                               request=None, url=""))

    monkeypatch.setattr(huggingface_hub, "snapshot_download", gated)
    with pytest.raises(PipelineError, match="gated: accept its licence"):
        materialize(resolve("hub", "THUDM/glm-4-9b-hf", COMMIT), tmp_path / "base")


def test_a_local_folder_is_hashed_by_content_and_only_changed_files_are_read(tmp_path, monkeypatch):
    """The tutorial's `huggingface-cli download --local-dir` folder: an edit that keeps the
    size changes the hash; an unchanged folder is not read again."""
    monkeypatch.setenv("TOOLCALL_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "weights"
    (folder / "sub").mkdir(parents=True)
    for name in ("config.json", "tokenizer_config.json", "model.safetensors", "sub/extra.txt"):
        (folder / name).write_text("{}")
    first = folder_digest(folder)
    assert first["files"] == 4 and first["bytes"] == 8
    read = []
    monkeypatch.setattr(checkpoints, "file_sha256", lambda p: read.append(p) or "x" * 64)
    assert folder_digest(folder) == first and read == []  # remembered by size and time
    monkeypatch.undo()
    monkeypatch.setenv("TOOLCALL_CACHE", str(tmp_path / "cache"))
    (folder / "model.safetensors").write_text("[]")  # same size, other bytes
    assert folder_digest(folder)["sha256"] != first["sha256"]

    resolved = resolve(str(folder), "THUDM/glm-4-9b-hf", "main")
    assert resolved["source"] == "folder" and resolved["path"] == str(folder)
    out = tmp_path / "base"
    materialize(resolved, out)
    fetch_weights.check_checkpoint(out)
    assert (out / "sub" / "extra.txt").stat().st_ino == (folder / "sub" / "extra.txt").stat().st_ino
    (folder / "config.json").write_text('{"x": 1}')
    with pytest.raises(PipelineError, match="changed after it was resolved"):
        materialize(resolved, out)
    with pytest.raises(PipelineError, match="huggingface-cli download THUDM/glm-4-9b-hf --local-dir"):
        resolve(str(tmp_path / "missing"), "THUDM/glm-4-9b-hf", "main")


def test_an_unknown_registry_name_lists_the_pinned_ones():
    with pytest.raises(PipelineError, match="registry:smollm2-135m-instruct-q4_1"):
        resolve("registry:smollm2", "HuggingFaceTB/SmolLM2-135M-Instruct", "main")


def _load(source: str) -> list[dict]:
    """prepare-dataset's reading of `source`, as resolve-dataset resolved it."""
    return load_rows(resolve_source(source, "main"), "train")


def test_hub_dataset_is_pinned_to_the_commit_its_revision_resolves_to(monkeypatch, tmp_path):
    asked = {}
    row = {"conversations": [{"from": "human", "value": "你好"}, {"from": "gpt", "value": "好"}]}
    (tmp_path / "glaive_toolcall_zh_1k.json").write_text(json.dumps([row]), "utf-8")

    def dataset_info(self, repo_id, revision=None):
        asked["info"] = (repo_id, revision)
        return SimpleNamespace(sha=COMMIT)

    def snapshot_download(repo_id, repo_type=None, revision=None, allow_patterns=None):
        asked["download"] = (repo_id, repo_type, revision)
        return str(tmp_path)

    monkeypatch.setattr(huggingface_hub.HfApi, "dataset_info", dataset_info)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    resolved = resolve_source("llamafactory/glaive_toolcall_zh", "main")
    assert resolved == {"kind": "hub", "id": "llamafactory/glaive_toolcall_zh", "revision": "main",
                        "commit": COMMIT}
    assert load_rows(resolved, "train") == [row]
    assert asked == {"info": ("llamafactory/glaive_toolcall_zh", "main"),
                     "download": ("llamafactory/glaive_toolcall_zh", "dataset", COMMIT)}
    # a revision that is already a commit needs no network
    assert resolve_source("llamafactory/glaive_toolcall_zh", COMMIT)["commit"] == COMMIT


def test_unreachable_hub_dataset_says_what_was_tried(monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("offline")

    monkeypatch.setattr(huggingface_hub.HfApi, "dataset_info", offline)
    with pytest.raises(PipelineError, match="llamafactory/glaive_toolcall_zh@main.*local file"):
        resolve_source("llamafactory/glaive_toolcall_zh", "main")


def test_local_files_missing_or_corrupt(tmp_path):
    with pytest.raises(PipelineError, match="does not exist"):
        _load(str(tmp_path / "missing.json"))
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps({"conversations": []}) + "\n{not json\n")
    with pytest.raises(PipelineError, match="line 2"):
        _load(str(broken))


def test_a_json_file_must_hold_a_list(tmp_path):
    single = tmp_path / "one.json"
    single.write_text(json.dumps({"conversations": []}))
    with pytest.raises(PipelineError, match="JSON list"):
        _load(str(single))


def test_fetch_writes_the_pinned_commit_and_never_the_token(fake_hub, tmp_path, monkeypatch, caplog):
    """The whole fetch-weights stage in hub mode, for a base and a chat reference, with a
    token in the environment: the token reaches no file and no log line."""
    caplog.set_level("INFO", logger="toolcall")
    project = tmp_path / "project"
    project.mkdir()
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["weights"] = "hub"
    params["chat_references"] = {"glm4-9b": {"hub_id": "THUDM/glm-4-9b-chat-hf", "revision": "main"}}
    (project / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), "utf-8")
    monkeypatch.chdir(project)
    monkeypatch.setenv("HF_TOKEN", "hf_SECRET_do_not_log")
    monkeypatch.setattr("sys.argv", ["resolve", "--model", "glm4-9b"])
    resolve_weights.main()
    for variant in ("base", "chat"):
        monkeypatch.setattr("sys.argv", ["fetch", "--model", "glm4-9b", "--variant", variant])
        fetch_weights.main()
    manifest = json.loads((project / "models/glm4-9b/base.manifest.json").read_text())
    assert manifest["hub_id"] == "THUDM/glm-4-9b-hf" and manifest["commit"] == COMMIT
    manifest = json.loads((project / "models/glm4-9b/chat.manifest.json").read_text())
    assert manifest["hub_id"] == "THUDM/glm-4-9b-chat-hf" and manifest["commit"] == COMMIT
    assert fake_hub["download"] == ("THUDM/glm-4-9b-chat-hf", COMMIT)
    written = "".join(p.read_text(errors="ignore") for p in project.rglob("*") if p.is_file())
    assert "hf_SECRET" not in written and "hf_SECRET" not in caplog.text
    assert "fetch-weights glm4-9b chat: hub ready" in caplog.text


def test_json_lines_in_a_json_file_is_named_for_what_it_is(tmp_path):
    lines = tmp_path / "rows.json"
    lines.write_text(json.dumps({"conversations": []}) + "\n" + json.dumps({"conversations": []}))
    with pytest.raises(PipelineError, match="JSON Lines.*rename it to .jsonl"):
        _load(str(lines))


def test_gzipped_local_files_are_read_and_never_taken_for_a_hub_id(tmp_path):
    import gzip

    row = {"conversations": [{"from": "human", "value": "你好"}, {"from": "gpt", "value": "好"}]}
    for name, text in (("rows.json.gz", json.dumps([row])), ("rows.jsonl.gz", json.dumps(row))):
        with gzip.open(tmp_path / name, "wt", encoding="utf-8") as f:
            f.write(text)
        assert _load(str(tmp_path / name)) == [row]
    with pytest.raises(PipelineError, match="does not exist"):  # not a network hint
        _load(str(tmp_path / "missing.json.gz"))


def test_too_few_rows_fail_after_writing_this_runs_rejects(tmp_path, monkeypatch):
    """The error sends the user to rejects.jsonl: it must hold this run's reasons."""
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "bad.json"
    source.write_text(json.dumps([{"conversations": [{"from": "users", "value": "a"}]}]))
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["dataset"]["source"] = str(source)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), "utf-8")
    (tmp_path / "data" / "prepared").mkdir(parents=True)
    (tmp_path / "data" / "prepared" / "rejects.jsonl").write_text('{"reason": "of an old run"}\n')
    resolve_dataset.main()
    with pytest.raises(PipelineError, match="rejects.jsonl"):
        prepare_dataset.main()
    rejects = [json.loads(line) for line in
               (tmp_path / "data" / "prepared" / "rejects.jsonl").read_text().splitlines()]
    assert [r["reason"] for r in rejects] == ["unknown_role"]


def test_unreadable_local_files_get_one_line_each(tmp_path):
    """A non-UTF-8 byte, a truncated archive, an empty file or list: the file and what is
    wrong, never a traceback from the decoder."""
    import gzip

    row = json.dumps([{"conversations": [{"from": "human", "value": "你好"}]}], ensure_ascii=False)
    latin = tmp_path / "latin.json"
    latin.write_bytes(row.encode("utf-8").replace("你".encode(), b"\xe9"))
    offset = row.encode("utf-8").index("你".encode())
    with pytest.raises(PipelineError, match=f"latin.json is not UTF-8 text: byte 0xe9 at byte offset "
                                            f"{offset} "
                                            "cannot be decoded; save the file as UTF-8"):
        _load(str(latin))
    whole = gzip.compress(row.encode("utf-8") * 50)
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(PipelineError, match="cut.json.gz is a truncated or corrupt gzip archive"):
        _load(str(cut))
    for name, text in (("empty.json", ""), ("blank.jsonl", "\n\n"), ("list.json", "[]")):
        (tmp_path / name).write_text(text)
        with pytest.raises(PipelineError, match=f"{name} (is empty|holds no rows)"):
            _load(str(tmp_path / name))


def _prepare(tmp_path, monkeypatch, rows: list[dict], **dataset) -> None:
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "rows.json"
    source.write_text(json.dumps(rows, ensure_ascii=False), "utf-8")
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["dataset"].update(source=str(source), **dataset)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), "utf-8")
    resolve_dataset.main()
    prepare_dataset.main()


def _talk(i: int) -> dict:
    """A conversation of its own: random CJK text, so no two are near-copies kept together."""
    rng = random.Random(i)
    request = "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(30))
    return {"conversations": [{"from": "human", "value": request}, {"from": "gpt", "value": f"回答{i}"}]}


def test_a_mostly_rejected_source_fails_and_names_the_rejects(tmp_path, monkeypatch):
    """90 bad rows of 100: refused above dataset.max_rejected_share, every reason written."""
    bad = [{"conversations": [{"from": "users", "value": "a"}]}] * 90
    with pytest.raises(PipelineError, match=r"90 of 100 source rows \(90%\) were rejected.*"
                                            r"max_rejected_share \(20%\).*rejects.jsonl"):
        _prepare(tmp_path, monkeypatch, [_talk(i) for i in range(10)] + bad)
    assert len((tmp_path / "data/prepared/rejects.jsonl").read_text().splitlines()) == 90


def test_a_test_split_too_small_for_its_intervals_is_refused(tmp_path, monkeypatch):
    rows = [_talk(i) for i in range(100)]
    with pytest.raises(PipelineError, match=r"test split holds 10 conversations, fewer than "
                                            r"dataset.min_test_conversations \(20\)"):
        _prepare(tmp_path, monkeypatch, rows)
    _prepare(tmp_path, monkeypatch, rows, min_test_conversations=10)
    assert len((tmp_path / "data/prepared/test.jsonl").read_text().splitlines()) == 10
