"""The store's promises: complete or absent, crash-safe swaps, listings that skip the unfinished."""

from __future__ import annotations

from pathlib import Path

import pytest

from hg_localization.ids import parse_repo_id
from hg_localization.store.damaged import DamagedRevision
from hg_localization.store.layout import METADATA_FILENAME, StoreLayout
from hg_localization.store.local_store import LocalStore, StoredRevision
from hg_localization.store.manifest import FileRecord, RevisionManifest, Selection

COMMIT = "a" * 40


def manifest(revision: str = "main", *names: str) -> RevisionManifest:
    return RevisionManifest(
        repo_id="org/model",
        repo_type="model",
        revision=revision,
        commit=COMMIT,
        selections=[Selection()],
        files=[FileRecord(path=n, local_path=n, size=1, sha256="0" * 64, git_sha1="0" * 40) for n in names],
    )


def stage(store: LocalStore, revision: str, **files: str) -> None:
    staging = store.open_staging(parse_repo_id("org/model"), revision)
    for name, content in files.items():
        target = staging.final_path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    store.publish(staging, manifest(revision, *files))


def test_layout_with_and_without_a_bucket(tmp_path: Path) -> None:
    repo = parse_repo_id("org/model")
    plain = StoreLayout(tmp_path, "model")
    scoped = StoreLayout(tmp_path, "model", bucket_id="team-1234")
    assert plain.revision_dir(repo, "main") == tmp_path / "org" / "model" / "main"
    assert (
        scoped.revision_dir(repo, "main") == tmp_path / "by_bucket" / "team-1234" / "org" / "model" / "main"
    )
    assert plain.revision_dir(repo, "refs/pr/1").name == "refs%2Fpr%2F1"


def test_a_published_revision_is_complete_and_listed(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, "model")
    stage(store, "main", **{"config.json": "{}"})
    stored = store.get(parse_repo_id("org/model"), "main")
    assert stored is not None
    assert (stored.path / METADATA_FILENAME).is_file()
    assert [s.manifest.revision for s in store.iter_revisions()] == ["main"]


def test_a_folder_without_metadata_is_not_a_revision(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, "model")
    half = tmp_path / "org" / "model" / "main"
    half.mkdir(parents=True)
    (half / "config.json").write_text("{}")
    assert store.get(parse_repo_id("org/model"), "main") is None
    assert list(store.iter_revisions()) == []


def test_a_corrupt_metadata_file_is_ignored_not_fatal(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, "model")
    stage(store, "main", **{"config.json": "{}"})
    (tmp_path / "org" / "model" / "main" / METADATA_FILENAME).write_text("{not json")
    assert list(store.iter_revisions()) == []


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (b"\xff\xfe\x00garbage", "is not valid"),
        (b"[" * 50_000 + b"]" * 50_000, "is not valid"),
        (manifest("v1").to_json().encode(), "describes model 'org/model' at 'v1', not the folder"),
        (manifest().to_json().replace("org/model", "org/other").encode(), "describes model 'org/other'"),
        (None, "cannot be read"),
    ],
)
def test_a_damaged_revision_is_never_used_but_is_found_by_a_scan(
    tmp_path: Path, damage: bytes | None, reason: str
) -> None:
    store = LocalStore(tmp_path, "model")
    repo = parse_repo_id("org/model")
    stage(store, "main", **{"config.json": "{}"})
    stage(store, "v2", **{"config.json": "{}"})
    metadata = tmp_path / "org" / "model" / "main" / METADATA_FILENAME
    if damage is None:
        metadata.unlink()
        metadata.mkdir()  # a folder where the file should be: reading it fails
    else:
        metadata.write_bytes(damage)

    assert store.get(repo, "main") is None
    assert [r.manifest.revision for r in store.revisions_of(repo)] == ["v2"]
    assert [r.manifest.revision for r in store.iter_revisions()] == ["v2"]
    damaged = store.inspect(repo, "main")
    assert isinstance(damaged, DamagedRevision) and reason in damaged.reason
    assert damaged.hint == (
        "The next download of it replaces it: hg-localization download-model org/model --revision main "
        "(add --full-model if it held every file)"
    )
    assert [type(found).__name__ for found in store.scan()] == ["DamagedRevision", "StoredRevision"]

    stage(store, "main", **{"config.json": "{}"})  # the next localization swaps in a good folder
    assert store.get(repo, "main") is not None and all(isinstance(f, StoredRevision) for f in store.scan())


def test_publishing_again_replaces_the_old_files(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, "model")
    stage(store, "main", **{"a.txt": "1", "b.txt": "2"})
    staging = store.open_staging(parse_repo_id("org/model"), "main")
    staging.final_path("a.txt").parent.mkdir(parents=True, exist_ok=True)
    staging.final_path("a.txt").write_text("new")
    staging.final_path("stray.incomplete").write_text("half")
    store.publish(staging, manifest("main", "a.txt"))
    folder = tmp_path / "org" / "model" / "main"
    assert sorted(p.name for p in folder.iterdir()) == sorted(["a.txt", METADATA_FILENAME])
    assert (folder / "a.txt").read_text() == "new"


def test_an_interrupted_swap_is_finished_by_the_next_run(tmp_path: Path) -> None:
    """A crash between 'old folder moved away' and 'staging moved in' loses nothing."""
    store = LocalStore(tmp_path, "model")
    repo = parse_repo_id("org/model")
    stage(store, "main", **{"a.txt": "1"})
    folder = store.layout.revision_dir(repo, "main")
    staging_dir = store.layout.staging_dir(repo, "main")
    folder.rename(staging_dir)  # as if the swap stopped half-way
    assert store.get(repo, "main") is None

    store.open_staging(repo, "main")
    stored = store.get(repo, "main")
    assert stored is not None and (stored.path / "a.txt").read_text() == "1"


def test_ids_without_namespace_and_bucket_scopes_are_listed_apart(tmp_path: Path) -> None:
    plain = LocalStore(tmp_path, "model")
    scoped = LocalStore(tmp_path, "model", bucket_id="bucket-1")
    stage(plain, "main", **{"x": "1"})
    stage(scoped, "v1", **{"y": "2"})
    assert [s.manifest.revision for s in plain.iter_revisions()] == ["main"]
    assert [s.manifest.revision for s in scoped.iter_revisions()] == ["v1"]
