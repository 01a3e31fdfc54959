"""``serve --repos`` re-reads a revision only when it changed: folder stats between walks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hg_localization.server import confine
from hg_localization.server.repo_source import RepoSource

REPO = "acme/tiny"


@pytest.fixture
def repos(tmp_path: Path) -> Path:
    main = tmp_path / "models" / "acme" / "tiny" / "main"
    (main / "sub").mkdir(parents=True)
    (main / "config.json").write_text('{"a": 1}')
    (main / "sub" / "weights.bin").write_bytes(b"x" * 100)
    return tmp_path


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    seen: list[Path] = []
    real = confine.walk

    def counting(folder: Path, **kwargs: object) -> list[confine.FileStat]:
        seen.append(folder)
        return real(folder, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(confine, "walk", counting)
    return seen


def paths(source: RepoSource) -> list[str]:
    return sorted(f.path for f in source.resolve("model", REPO, "main").files)


def test_an_unchanged_revision_is_not_walked_again(repos: Path, walks: list[Path]) -> None:
    source = RepoSource.for_repos_dir(repos)
    first = source.resolve("model", REPO, "main")
    for _ in range(20):
        assert source.resolve("model", REPO, "main") is first
    assert len(walks) == 1


def test_a_file_added_removed_or_renamed_is_seen_at_once(repos: Path, walks: list[Path]) -> None:
    source = RepoSource.for_repos_dir(repos)
    main = repos / "models" / "acme" / "tiny" / "main"
    assert paths(source) == ["config.json", "sub/weights.bin"]
    (main / "sub" / "extra.txt").write_text("new")
    assert paths(source) == ["config.json", "sub/extra.txt", "sub/weights.bin"]
    os.rename(main / "config.json", main / "settings.json")
    assert paths(source) == ["settings.json", "sub/extra.txt", "sub/weights.bin"]
    (main / "sub" / "weights.bin").unlink()
    assert paths(source) == ["settings.json", "sub/extra.txt"]


def test_a_file_rewritten_in_place_is_seen_at_once(repos: Path) -> None:
    source = RepoSource.for_repos_dir(repos)
    before = source.resolve("model", REPO, "main")
    weights = repos / "models" / "acme" / "tiny" / "main" / "sub" / "weights.bin"
    with weights.open("r+b") as handle:  # same folder, same name: no folder's mtime moves
        handle.write(b"y" * 200)
    after = source.resolve("model", REPO, "main")
    assert after.commit != before.commit
    assert after.file("sub/weights.bin") is not None
    assert after.file("sub/weights.bin").size == 200  # type: ignore[union-attr]
