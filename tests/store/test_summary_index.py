"""The listing index: exact (every change to a metadata file or a folder is seen), never trusted beyond
its keys, and a listing never fails for it."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from hg_localization.errors import InvalidInputError
from hg_localization.ids import parse_repo_id
from hg_localization.store import summary_index
from hg_localization.store.damaged import DamagedRevision
from hg_localization.store.layout import LOCKS_FOLDER
from hg_localization.store.local_store import LocalStore
from hg_localization.store.manifest import FileRecord, RevisionManifest, Selection
from hg_localization.store.summary_index import INDEX_NAME, RevisionSummary, scan_summaries

COMMIT = "a" * 40
OTHER = "b" * 40


def publish(store: LocalStore, repo_id: str, revision: str = "main", commit: str = COMMIT) -> None:
    staging = store.open_staging(parse_repo_id(repo_id), revision)
    target = staging.final_path("config.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("{}")
    record = FileRecord(path="config.json", local_path="config.json", size=2, sha256="0" * 64, git_sha1="")
    store.publish(
        staging,
        RevisionManifest(
            repo_id=repo_id,
            repo_type="model",
            revision=revision,
            commit=commit,
            selections=[Selection(full=True, include=("*.json",))],
            files=[record],
        ),
    )


def metadata(store: LocalStore, repo_id: str, revision: str = "main") -> Path:
    return store.layout.metadata_file(parse_repo_id(repo_id), revision)


def index_file(store: LocalStore) -> Path:
    return store.layout.base / LOCKS_FOLDER / INDEX_NAME


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalStore:
    """A store whose files count as old enough to index at once (the racy window is 2 s)."""
    monkeypatch.setattr(summary_index, "RACY_NS", -(10**12))
    store = LocalStore(tmp_path, "model")
    publish(store, "org/one")
    publish(store, "org/two", "v1")
    publish(store, "solo")
    return store


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The revisions whose metadata file a listing read (the others came from the index)."""
    seen: list[str] = []
    inspect = LocalStore.inspect

    def counted(self: LocalStore, repo_id: object, revision: str) -> object:
        seen.append(f"{repo_id}@{revision}")
        return inspect(self, repo_id, revision)  # type: ignore[arg-type]

    monkeypatch.setattr(LocalStore, "inspect", counted)
    return seen


def listing(store: LocalStore) -> list[RevisionSummary | DamagedRevision]:
    return list(scan_summaries(store))


def from_scan(store: LocalStore) -> list[RevisionSummary | DamagedRevision]:
    """What :meth:`LocalStore.scan` says, summarized: what the index must agree with."""
    return [RevisionSummary.of(f) if not isinstance(f, DamagedRevision) else f for f in store.scan()]


def test_a_second_listing_reads_no_metadata_file_and_lists_the_same(
    store: LocalStore, reads: list[str]
) -> None:
    first = listing(store)
    assert reads == ["solo@main", "org/one@main", "org/two@v1"]
    assert first == from_scan(store)
    assert index_file(store).is_file()
    reads.clear()
    assert listing(store) == first
    assert reads == []
    assert first[0].selections == (summary_index.SelectionSummary(True, ("*.json",), (), None),)


def test_a_metadata_file_changed_in_place_is_read_again_even_with_its_old_size_and_mtime(
    store: LocalStore, reads: list[str]
) -> None:
    listing(store)
    path = metadata(store, "org/one")
    before = path.stat()
    text = path.read_text()
    with path.open("r+") as handle:  # the same inode and size; the mtime put back
        handle.write(text.replace(COMMIT, OTHER))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    reads.clear()
    found = listing(store)
    assert reads == ["org/one@main"]
    assert isinstance(found[1], RevisionSummary)
    assert found[1].commit == OTHER


def test_a_metadata_file_damaged_after_it_was_indexed_is_listed_as_damaged(
    store: LocalStore, reads: list[str]
) -> None:
    listing(store)
    metadata(store, "org/two", "v1").write_text('{"not": "a manifest"}')
    found = listing(store)
    assert isinstance(found[2], DamagedRevision)
    assert found == from_scan(store)
    reads.clear()
    assert isinstance(listing(store)[2], DamagedRevision)  # a damaged folder is never indexed
    assert reads == ["org/two@v1"]


def test_folders_added_and_removed_are_seen(store: LocalStore, reads: list[str]) -> None:
    listing(store)
    publish(store, "org/one", "v2")
    assert store.remove(parse_repo_id("solo"), "main")
    reads.clear()
    found = listing(store)
    assert [(s.repo_id, s.revision) for s in found] == [
        ("org/one", "main"),
        ("org/one", "v2"),
        ("org/two", "v1"),
    ]
    assert reads == ["org/one@v2"]
    assert found == from_scan(store)


def test_a_tampered_index_is_not_trusted_beyond_its_keys(store: LocalStore, reads: list[str]) -> None:
    expected = listing(store)
    data = json.loads(index_file(store).read_text())
    entries = data["entries"]
    entries["org/one/main"][1][0] = "not a commit"  # a value no metadata file may hold
    entries["org/two/v1"][0][2] += 1  # a key that is not the file's
    entries["_/solo/main"][1][7] = 99  # a selection that is not in the table
    data["repos"]["org/one"][1] = ["main", 3]
    index_file(store).write_text(json.dumps(data))
    reads.clear()
    assert listing(store) == expected
    assert reads == ["solo@main", "org/one@main", "org/two@v1"]


@pytest.mark.parametrize(
    "text", ["", "{not json", "[]", '{"format": 99}', "\udcff", '{"format": 1, "repo_type": "model"}']
)
def test_an_unreadable_index_only_means_reading_every_file(store: LocalStore, text: str) -> None:
    expected = listing(store)
    index_file(store).write_bytes(text.encode("utf-8", "surrogateescape"))
    assert listing(store) == expected
    assert json.loads(index_file(store).read_text())["format"] == summary_index.INDEX_FORMAT


def test_files_changed_within_the_racy_window_are_not_indexed(
    tmp_path: Path, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(summary_index, "RACY_NS", 10**12)  # "recent" whatever the machine's load
    store = LocalStore(tmp_path, "model")
    publish(store, "org/one")
    listing(store)
    reads.clear()
    listing(store)
    assert reads == ["org/one@main"]  # it might still change within the tick it was read in


def test_an_index_written_in_the_same_tick_as_an_entry_is_not_trusted_for_it(
    store: LocalStore, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    listing(store)
    monkeypatch.setattr(summary_index, "RACY_NS", 0)
    ctime = metadata(store, "org/one").stat().st_ctime_ns
    os.utime(index_file(store), ns=(ctime, ctime))  # as if written in the tick the file changed
    reads.clear()
    listing(store)
    assert "org/one@main" in reads


def test_a_store_that_cannot_be_written_is_listed_without_an_index(
    store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(path: Path, text: str) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("hg_localization.store.atomic.atomic_write_text", refuse)
    assert listing(store) == from_scan(store)
    assert not index_file(store).exists()


def test_the_index_lives_in_the_lock_folder_of_each_scope(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(summary_index, "RACY_NS", -(10**12))
    scoped = LocalStore(tmp_path, "model", bucket_id="team-0123456789ab")
    publish(scoped, "org/one")
    assert [s.repo_id for s in listing(scoped)] == ["org/one"]
    assert (tmp_path / "by_bucket" / "team-0123456789ab" / LOCKS_FOLDER / INDEX_NAME).is_file()
    assert list(scan_summaries(LocalStore(tmp_path, "model"))) == []


def test_folders_that_are_no_repo_id_are_skipped_as_a_scan_skips_them(store: LocalStore) -> None:
    for folder in ("bad--ns/name", "-bad/name", "org/bad..name", "org/-bad", "_/bad--solo", "_/_"):
        (store.layout.base / folder / "main").mkdir(parents=True)
    publish(store, "ok/x")
    found = listing(store)
    assert found == from_scan(store)
    listed = [f.repo_id for f in found if isinstance(f, RevisionSummary)]
    assert listed == ["solo", "ok/x", "org/one", "org/two"]
    assert listing(store) == found  # from the index, the same


def test_a_folder_name_taken_as_an_id_without_asking_parse_repo_id_is_one() -> None:
    rng = random.Random(13)
    names = ["a", "_", "a-b.c_d", "x" * 96, "x" * 97, "a--b", "a..b", "-a", "a-", ".a", "a.-b", "é", "a b"]
    names += ["".join(rng.choices("aZ9_-.é ", k=rng.randint(1, 12))) for _ in range(3000)]
    for name in names:
        if summary_index._PLAIN_NAME.fullmatch(name) and len(name) <= summary_index._MAX_NAME:
            assert str(parse_repo_id(name)) == name
            assert str(parse_repo_id(f"org/{name}")) == f"org/{name}"
        assert summary_index._is_repo_id(name) == _parses(name)


def _parses(name: str) -> bool:
    try:
        parse_repo_id(name)
    except InvalidInputError:
        return False
    return True
