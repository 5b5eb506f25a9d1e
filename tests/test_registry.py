"""The registry cache: an archive put in place by hand is used offline, a wrong one is named,
and parallel fetches (pytest workers, stages) unpack one whole copy."""

import hashlib
import multiprocessing
import stat
import zipfile
from concurrent.futures import ProcessPoolExecutor

import pytest

from toolcall.io import PipelineError
from toolcall.registry import Release, cache_dir, fetch


@pytest.fixture
def hand_placed_wheel(tmp_path, monkeypatch):
    """A wheel of a release no registry has, put where the error message says to put it."""
    monkeypatch.setenv("TOOLCALL_CACHE", str(tmp_path / "cache"))
    folder = cache_dir() / "pypi" / "no-such-package-1.0" / "archive"
    folder.mkdir(parents=True)
    wheel = folder / "no_such_package-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for i in range(50):
            archive.writestr(f"no_such_package/data/{i}.json", f'{{"row": {i}}}')
    return wheel, hashlib.sha256(wheel.read_bytes()).hexdigest()


def test_an_archive_put_in_place_by_hand_is_unpacked_without_a_registry(hand_placed_wheel):
    _, sha256 = hand_placed_wheel
    root = fetch(Release("pypi", "no-such-package", "1.0", sha256))
    assert (root / "no_such_package" / "data" / "49.json").read_text() == '{"row": 49}'


def test_an_archive_that_is_not_the_pinned_release_is_named(hand_placed_wheel):
    wheel, _ = hand_placed_wheel
    with pytest.raises(PipelineError, match=f"{wheel.name}.*is not the pinned no-such-package"):
        fetch(Release("pypi", "no-such-package", "1.0", "0" * 64))


def test_two_archives_in_place_are_named_not_guessed_between(hand_placed_wheel):
    wheel, sha256 = hand_placed_wheel
    (wheel.parent / "no_such_package-0.9-py3-none-any.whl").write_bytes(b"older")
    with pytest.raises(PipelineError, match="holds 2 archives .*keep only no-such-package 1.0"):
        fetch(Release("pypi", "no-such-package", "1.0", sha256))


def test_parallel_processes_unpack_one_whole_copy_readable_by_all(hand_placed_wheel):
    _, sha256 = hand_placed_wheel
    release = Release("pypi", "no-such-package", "1.0", sha256)
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        roots = list(pool.map(fetch, [release] * 8))
    assert len(set(roots)) == 1
    assert len(list((roots[0] / "no_such_package" / "data").iterdir())) == 50
    home = roots[0].parent
    assert sorted(p.name for p in home.iterdir()) == ["archive", "unpacked"]  # no leftovers
    assert roots[0].stat().st_mode & stat.S_IROTH  # a shared cache stays readable
