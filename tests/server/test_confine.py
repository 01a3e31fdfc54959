"""confine: files are read below their root, never through a link, and only when regular."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hg_localization.server import confine
from hg_localization.store.layout import METADATA_FILENAME


@pytest.fixture(params=[True, False], ids=["openat", "real-path"])
def walk_with_fds(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Both ways of staying below the root: one descriptor per folder, or comparing real paths."""
    if request.param and not confine.WALK_WITH_FDS:
        pytest.skip("this platform has no dir_fd")
    monkeypatch.setattr(confine, "WALK_WITH_FDS", request.param)
    return bool(request.param)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret").write_bytes(b"secret")
    served = tmp_path / "root"
    (served / "a" / "b").mkdir(parents=True)
    (served / "a" / "b" / "file").write_bytes(b"served")
    (served / "a" / "link").symlink_to(tmp_path / "outside" / "secret")
    (served / "a" / "inner").symlink_to(served / "a" / "b")  # a link, even one that stays inside
    (served / "out").symlink_to(tmp_path / "outside")
    os.mkfifo(served / "a" / "fifo")
    return served


def test_a_regular_file_below_the_root_is_read(root: Path, walk_with_fds: bool) -> None:
    assert confine.read_file(root / "a" / "b" / "file", root) == b"served"


@pytest.mark.parametrize("relative", ["a/link", "out/secret", "a/inner/file", "a/fifo", "a/b", "a/missing"])
def test_links_folders_fifos_and_missing_files_are_refused(
    root: Path, walk_with_fds: bool, relative: str
) -> None:
    with pytest.raises(OSError):
        confine.read_file(root / relative, root)
    assert confine.stat_file(root / relative, root) is None


def test_a_dot_dot_never_climbs_out(root: Path, walk_with_fds: bool) -> None:
    with pytest.raises(OSError):
        confine.open_file(root / "a" / ".." / ".." / "outside" / "secret", root)


def test_without_a_root_links_are_followed_but_a_fifo_is_still_refused(root: Path) -> None:
    assert confine.read_file(root / "a" / "link", None) == b"secret"
    assert confine.stat_file(root / "a" / "fifo", None) is None  # and the open did not hang


def test_served_paths_are_the_paths_a_commit_may_write() -> None:
    for hidden in (".gitattributes", "sub/.git/config", METADATA_FILENAME, "x.incomplete"):
        assert not confine.is_served_path(hidden)
        with pytest.raises(ValueError, match="cannot be committed"):
            confine.writable_path(hidden)
    assert confine.is_served_path("sub dir/model.safetensors")
    assert confine.writable_path("sub dir/model.safetensors") == "sub dir/model.safetensors"
