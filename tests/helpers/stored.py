"""Reading back what a localization put in a store folder, and writing a revision straight in."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from hg_localization.config import HGLocalizationConfig
from hg_localization.ids import parse_repo_id
from hg_localization.integrity.hashing import git_blob_sha1
from hg_localization.store.layout import METADATA_FILENAME
from hg_localization.store.local_store import StoredRevision
from hg_localization.store.manifest import FileRecord, RevisionManifest, Selection
from hg_localization.usecases.models import model_store

ONE_FILE_MODEL = "hgloc-test/big-model"


def file_record(path: str, data: bytes, *, lfs: bool = False) -> FileRecord:
    """The metadata record of one stored file holding ``data`` (kept at its own path)."""
    return FileRecord(
        path=path,
        local_path=path,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        git_sha1=git_blob_sha1(data),
        lfs=lfs,
    )


def stored_files(folder: Path) -> dict[str, bytes]:
    """Every file of a stored revision, by path, without its metadata file."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != METADATA_FILENAME
    }


def manifest_of(folder: Path) -> RevisionManifest:
    """The metadata file of a stored revision."""
    return RevisionManifest.from_json((folder / METADATA_FILENAME).read_text())


def publish_one_file(
    config: HGLocalizationConfig,
    data: bytes,
    *,
    commit: str,
    fetched_at: datetime | None = None,
    revision: str = "main",
) -> StoredRevision:
    """``hgloc-test/big-model`` at ``revision`` with one file, ``model.safetensors`` = ``data``,
    published straight into the model store (no Hub involved)."""
    store = model_store(config)
    repo_id = parse_repo_id(ONE_FILE_MODEL)
    staging = store.open_staging(repo_id, revision)
    staging.path.mkdir(parents=True, exist_ok=True)
    staging.final_path("model.safetensors").write_bytes(data)
    record = file_record("model.safetensors", data, lfs=True)
    manifest = RevisionManifest(
        repo_id=ONE_FILE_MODEL,
        repo_type="model",
        revision=revision,
        commit=commit,
        selections=[Selection(full=True)],
        files=[record],
        fetched_at=fetched_at or datetime.now(UTC),
    )
    return store.publish(staging, manifest)
