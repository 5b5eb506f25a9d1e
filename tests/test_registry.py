"""The registry cache: an archive put in place by hand is used offline, a wrong one is named,
and parallel fetches (pytest workers, stages) unpack one whole copy."""

import hashlib
import zipfile
from concurrent.futures import ThreadPoolExecutor

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


def test_parallel_fetches_unpack_one_whole_copy(hand_placed_wheel):
    _, sha256 = hand_placed_wheel
    release = Release("pypi", "no-such-package", "1.0", sha256)
    with ThreadPoolExecutor(8) as pool:
        roots = list(pool.map(lambda _: fetch(release), range(8)))
    assert len(set(roots)) == 1
    assert len(list((roots[0] / "no_such_package" / "data").iterdir())) == 50
    home = roots[0].parent
    assert sorted(p.name for p in home.iterdir()) == ["archive", "unpacked"]  # no leftovers
