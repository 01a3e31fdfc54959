"""``serve --repos`` re-reads a revision only when it changed: folder stats between walks, and a few
``lstat`` calls for an answer it gave before (the freshness :mod:`folder_signature` promises)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from hg_localization.ids import RepoType
from hg_localization.server import confine, folder_signature
from hg_localization.server.app import create_app
from hg_localization.server.folder_source import FolderSource
from hg_localization.server.served import ServedRepo

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


def paths(source: FolderSource) -> list[str]:
    return sorted(f.path for f in source.resolve("model", REPO, "main").files)


def test_an_unchanged_revision_is_not_walked_again(repos: Path, walks: list[Path]) -> None:
    source = FolderSource.for_repos_dir(repos)
    first = source.resolve("model", REPO, "main")
    for _ in range(20):
        assert source.resolve("model", REPO, "main") is first
    assert len(walks) == 1


def test_a_file_added_removed_or_renamed_is_seen_at_once(repos: Path, walks: list[Path]) -> None:
    source = FolderSource.for_repos_dir(repos)
    main = repos / "models" / "acme" / "tiny" / "main"
    assert paths(source) == ["config.json", "sub/weights.bin"]
    (main / "sub" / "extra.txt").write_text("new")
    assert paths(source) == ["config.json", "sub/extra.txt", "sub/weights.bin"]
    os.rename(main / "config.json", main / "settings.json")
    assert paths(source) == ["settings.json", "sub/extra.txt", "sub/weights.bin"]
    (main / "sub" / "weights.bin").unlink()
    assert paths(source) == ["settings.json", "sub/extra.txt"]


def test_a_file_rewritten_in_place_is_seen_at_once(repos: Path) -> None:
    source = FolderSource.for_repos_dir(repos)
    before = source.resolve("model", REPO, "main")
    weights = repos / "models" / "acme" / "tiny" / "main" / "sub" / "weights.bin"
    with weights.open("r+b") as handle:  # same folder, same name: no folder's mtime moves
        handle.write(b"y" * 200)
    after = source.resolve("model", REPO, "main")
    assert after.commit != before.commit
    assert after.file("sub/weights.bin") is not None
    assert after.file("sub/weights.bin").size == 200  # type: ignore[union-attr]


class CountingSource(FolderSource):
    """A folder of repos, counting how often a repo is read from disk."""

    reads = 0

    def repo(self, repo_type: RepoType, repo_id: str) -> ServedRepo:
        self.reads += 1
        return super().repo(repo_type, repo_id)


def _age(repos: Path) -> None:
    """Every folder's mtime well in the past: an unchanged mtime then proves an unchanged folder."""
    past = time.time() - 60
    for folder in [repos, *(p for p in repos.rglob("*") if p.is_dir())]:
        os.utime(folder, (past, past))


def test_an_answered_revision_is_answered_from_memory_and_a_change_seen_at_once(repos: Path) -> None:
    _age(repos)
    source = CountingSource.for_repos_dir(repos)
    assert isinstance(source, CountingSource)
    main = repos / "models" / "acme" / "tiny" / "main"
    with TestClient(create_app(source)) as client:
        url = f"/{REPO}/resolve/main/config.json"
        assert {client.head(url).status_code for _ in range(10)} == {200}
        assert source.reads <= 2  # the first answers are read; the rest checked a few stats only
        (main / "sub" / "extra.txt").write_text("new")
        assert client.head(f"/{REPO}/resolve/main/sub/extra.txt").status_code == 200
        os.rename(main / "config.json", main / "settings.json")
        assert client.head(url).status_code == 404
        (repos / "models" / "acme" / "tiny" / "repo.json").write_text('{"private": true}')
        assert client.head(f"/{REPO}/resolve/main/settings.json").status_code == 401


def test_a_file_rewritten_in_place_is_seen_within_the_recheck_interval(
    repos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _age(repos)
    weights = repos / "models" / "acme" / "tiny" / "main" / "sub" / "weights.bin"
    url = f"/{REPO}/resolve/main/sub/weights.bin"
    with TestClient(create_app(FolderSource.for_repos_dir(repos))) as client:
        before = [client.head(url).headers["etag"] for _ in range(5)]
        with weights.open("r+b") as handle:  # same folder, same name: no folder's mtime moves
            handle.write(b"y" * 200)
        past = time.time() - 60
        os.utime(weights, (past, past))  # and an old mtime: only its size and inode tell
        monkeypatch.setattr(folder_signature, "FILE_RECHECK_SECONDS", 0.0)
        after = client.head(url)
    assert len(set(before)) == 1
    assert after.headers["etag"] != before[0]
    assert after.headers["x-linked-size"] == "200"


def test_concurrent_requests_for_one_folder_share_its_check(
    repos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = FolderSource.for_repos_dir(repos)
    first = source.resolve("model", REPO, "main")
    checks: list[float] = []
    real = folder_signature.FolderSignature.holds

    def slow_holds(self: folder_signature.FolderSignature, follow_links: bool) -> bool:
        checks.append(time.monotonic())
        time.sleep(0.3)  # the other requests arrive while this check runs
        return real(self, follow_links)

    monkeypatch.setattr(folder_signature.FolderSignature, "holds", slow_holds)
    start = threading.Barrier(8)
    answers: list[object] = []

    def request() -> None:
        start.wait()
        answers.append(source.resolve("model", REPO, "main"))

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [first] * 8
    assert len(checks) <= 3  # one each would be 8: a check that began after a request arrived serves it


def test_an_unchanged_revision_is_checked_again_in_the_background_and_answers_never_wait(
    repos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _age(repos)
    # Long enough that the background check (a few files) finishes inside its half-interval even
    # on a loaded 2-core machine (at 0.3 s its 0.15 s window was once missed in CI).
    monkeypatch.setattr(folder_signature, "FILE_RECHECK_SECONDS", 1.0)
    source = CountingSource.for_repos_dir(repos)
    assert isinstance(source, CountingSource)
    url = f"/{REPO}/resolve/main/config.json"
    with TestClient(create_app(source)) as client:
        assert {client.head(url).status_code for _ in range(3)} == {200}
        reads = source.reads
        deadline = time.monotonic() + 3.0  # three times the recheck interval
        while time.monotonic() < deadline:
            assert client.head(url).status_code == 200
            time.sleep(0.01)
        assert source.reads == reads  # every answer from memory: the checks ran beside them
