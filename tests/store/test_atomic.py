"""Crash-safe file operations: a revision folder is replaced whole, never half."""

from __future__ import annotations

from pathlib import Path

import pytest

from hg_localization.store import atomic


def files_in(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def write(folder: Path, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)


@pytest.mark.parametrize("kernel_exchange", [True, False], ids=["renameat2", "two-renames"])
def test_a_folder_is_swapped_in_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel_exchange: bool
) -> None:
    if not kernel_exchange:
        monkeypatch.setattr(atomic, "_exchange", lambda first, second: False)
    live, new = tmp_path / "main", tmp_path / ".main.staging"
    write(live, {"a": b"old"})
    write(new, {"a": b"new", "b": b"new"})
    replaced = atomic.swap_in(new, live)
    assert files_in(live) == {"a": b"new", "b": b"new"}
    assert replaced is not None and files_in(replaced) == {"a": b"old"}  # for the caller to remove


def test_swapping_into_an_empty_place_is_a_rename(tmp_path: Path) -> None:
    new = tmp_path / "new"
    write(new, {"a": b"1"})
    assert atomic.swap_in(new, tmp_path / "live") is None
    assert files_in(tmp_path / "live") == {"a": b"1"} and not new.exists()


def test_atomic_write_replaces_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "meta.json"
    atomic.atomic_write_text(target, "one")
    atomic.atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["meta.json"]
