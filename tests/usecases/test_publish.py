"""The one publish path: stage → fill → publish → push under the revision lock (usecases/publish.py),
and the one mapping from the seed API's argument names to the options (usecases/options.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from hg_localization.errors import IntegrityError, StorageError
from hg_localization.ids import parse_repo_id
from hg_localization.integrity.hashing import hash_file
from hg_localization.progress import ProgressListener
from hg_localization.store.local_store import LocalStore, StoredRevision
from hg_localization.store.manifest import FileRecord, RevisionManifest, Selection
from hg_localization.store.staging import Staging
from hg_localization.usecases.options import LocalizeOptions
from hg_localization.usecases.publish import Share, publishing

REPO = parse_repo_id("team/model")
Source = Literal["hub", "bucket", "upload"]


@dataclass
class Bucket:
    """A push target that records what it was asked, and whether the revision was locked then."""

    store: LocalStore
    fail: bool = False
    pushes: list[tuple[Path, bool, bool]] = field(default_factory=list)

    def push(
        self,
        stored: StoredRevision,
        *,
        make_public: bool,
        progress: ProgressListener,
        allow_private_public: bool = False,
    ) -> None:
        locked = self.store.lock(REPO, "main").is_locked
        self.pushes.append((stored.path, make_public, locked))
        if self.fail:
            raise StorageError("The bucket refused the upload.")


def _fill(source: Source = "hub", then: BaseException | None = None) -> Callable[[Staging], RevisionManifest]:
    def fill(staging: Staging) -> RevisionManifest:
        target = staging.final_path("config.json")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("{}")
        if then is not None:
            raise then
        digest = hash_file(target)
        record = FileRecord(
            path="config.json",
            local_path="config.json",
            size=digest.size,
            sha256=digest.sha256,
            git_sha1=digest.git_sha1,
        )
        return RevisionManifest(
            repo_id=str(REPO),
            repo_type="model",
            revision="main",
            commit="c" * 40,
            selections=[Selection()],
            files=[record],
            source=source,
        )

    return fill


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "models", "model")


def test_the_push_reads_the_published_folder_under_the_revision_lock(store: LocalStore) -> None:
    bucket = Bucket(store)
    with publishing(store, REPO, "main", Share(bucket, make_public=True)) as publication:
        stored = publication.stage(_fill())
        assert bucket.pushes == []  # not before the block ends
    assert bucket.pushes == [(stored.path, True, True)]
    assert not store.lock(REPO, "main").is_locked
    assert publication.upload_error is None


def test_a_failed_push_keeps_the_local_copy_and_is_reported(store: LocalStore) -> None:
    with publishing(store, REPO, "main", Share(Bucket(store, fail=True))) as publication:
        publication.stage(_fill())
    assert isinstance(publication.upload_error, StorageError)
    assert store.get(REPO, "main") is not None


def test_a_copy_from_the_bucket_is_pushed_back_only_to_be_made_public(store: LocalStore) -> None:
    bucket = Bucket(store)
    with publishing(store, REPO, "main", Share(bucket)) as publication:
        publication.stage(_fill(source="bucket"))
    assert bucket.pushes == []
    stored = store.get(REPO, "main")
    assert stored is not None
    with publishing(store, REPO, "main", Share(bucket, make_public=True)) as publication:
        publication.reuse(stored, in_bucket=True)
    assert len(bucket.pushes) == 1


def test_a_failure_in_the_block_pushes_nothing(store: LocalStore) -> None:
    bucket = Bucket(store)
    with pytest.raises(RuntimeError), publishing(store, REPO, "main", Share(bucket)) as publication:
        publication.stage(_fill())
        raise RuntimeError("later step failed")
    assert bucket.pushes == []


def test_an_integrity_error_keeps_nothing_other_failures_keep_verified_files(store: LocalStore) -> None:
    staged = store.layout.staging_dir(REPO, "main") / "config.json"
    with pytest.raises(OSError), publishing(store, REPO, "main", None) as publication:
        publication.stage(_fill(then=OSError("disk full")))
    assert staged.is_file()  # the next run resumes from it

    mismatch = IntegrityError("config.json", "a" * 64, "b" * 64)
    with pytest.raises(IntegrityError), publishing(store, REPO, "main", None) as publication:
        publication.stage(_fill(then=mismatch))
    assert not staged.exists()

    with pytest.raises(OSError), publishing(store, REPO, "main", None) as publication:
        publication.stage(_fill(then=OSError("disk full")), resumable=False)
    assert not staged.exists()
    assert store.get(REPO, "main") is None


def test_the_seed_arguments_map_to_the_options_once(store: LocalStore) -> None:
    options = LocalizeOptions.from_seed_flags(
        metadata_only=True,
        skip_s3_upload=True,
        skip_hf_fetch=True,
        make_public=True,
        allow_private_public=True,
    )
    assert options == LocalizeOptions(
        full=False, allow_hub=False, push=False, make_public=True, allow_private_public=True
    )
    assert LocalizeOptions.from_seed_flags() == LocalizeOptions(full=True)
    assert LocalizeOptions(push=False).share_to(Bucket(store), ProgressListener()) is None
    assert LocalizeOptions().share_to(None, ProgressListener()) is None
