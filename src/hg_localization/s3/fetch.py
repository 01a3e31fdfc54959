"""Fetch a revision from the bucket (or its public copy) into a staging folder, verified.

::

    metadata object ── missing ─▶ None (the caller goes to the Hub)
      │ checked: valid JSON, about this id/type/revision, paths that stay inside the folder
      │ does not cover the selection ─▶ None
      ▼
    the files the selection needs ─▶ <staging>/<local_path>.incomplete
      ─▶ sha256 and size equal to the metadata's? ── no ─▶ deleted, IntegrityError
      │ yes
      ▼
    renamed to <staging>/<local_path>; the manifest is returned (source "bucket")

The metadata object is the only thing trusted to say a revision exists, and every byte is
checked against it. Paths come from the metadata object, i.e. from outside: they pass
:func:`hg_localization.ids.validate_repo_path` (in ``RevisionManifest.from_json``) and are
checked again against the staging folder before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from hg_localization.errors import IntegrityError
from hg_localization.hub.patterns import matching
from hg_localization.ids import RepoId, RepoType
from hg_localization.integrity.hashing import hash_file
from hg_localization.progress import SILENT, ProgressListener
from hg_localization.s3.bucket import DownloadItem
from hg_localization.s3.catalog import parse_manifest
from hg_localization.store.manifest import FileRecord, RevisionManifest, Selection
from hg_localization.store.staging import Staging


class RevisionSource(Protocol):
    """What :func:`fetch_revision` reads complete revisions from.

    Two implement it (:mod:`hg_localization.s3.team_cache`): the team bucket, read with
    credentials from its private prefix, and the public URL, read anonymously over HTTP(S).
    They differ in where a revision's keys live and how bytes are read; the checks, which are
    what matter, are all here.
    """

    def describe(self) -> str: ...

    def read_metadata(self, repo_type: RepoType, repo_id: RepoId, revision: str) -> bytes | None:
        """The revision's metadata object, or None when there is none."""

    def object_key(self, repo_type: RepoType, repo_id: RepoId, revision: str, local_path: str) -> str: ...

    def download_files(self, items: Sequence[DownloadItem], progress: ProgressListener) -> None: ...


def fetch_revision(
    source: RevisionSource,
    repo_type: RepoType,
    repo_id: RepoId,
    revision: str,
    selections: Sequence[Selection],
    staging: Staging,
    *,
    metadata_files: Sequence[str] = (),
    commit: str | None = None,
    progress: ProgressListener = SILENT,
) -> RevisionManifest | None:
    """Fill ``staging`` from ``source``; the manifest of what was fetched, or None when it has none.

    None also when its copy lacks a selection, or is at another commit than ``commit``.
    """
    data = source.read_metadata(repo_type, repo_id, revision)
    if data is None:
        return None
    where = f"metadata of '{repo_id}' at '{revision}' in {source.describe()}"
    manifest = parse_manifest(data, repo_type, repo_id, revision, where=where)
    if commit is not None and manifest.commit != commit:
        return None
    if not all(manifest.covers(selection) for selection in selections):
        return None
    chosen = {r.path: r for s in selections for r in select_records(manifest, s, metadata_files)}
    wanted = sorted(chosen.values(), key=lambda r: r.path)
    todo: list[tuple[FileRecord, DownloadItem]] = []
    for record in wanted:
        final = staging.final_path(record.local_path)
        if final.is_file() and _matches(final, record):
            continue  # verified by an interrupted run
        partial = staging.partial_path(record.local_path)
        key = source.object_key(repo_type, repo_id, revision, record.local_path)
        todo.append((record, DownloadItem(key=key, target=partial, size=record.size, label=record.path)))
    source.download_files([item for _, item in todo], progress)
    for record, item in todo:
        _verify_and_place(record, item.target, staging.final_path(record.local_path))
    return _fetched_manifest(manifest, wanted, selections, metadata_files, source.describe())


def select_records(
    manifest: RevisionManifest, selection: Selection, metadata_files: Sequence[str]
) -> list[FileRecord]:
    """The files of the bucket's copy that ``selection`` asks for (all of them without ``metadata_files``)."""
    if not metadata_files:
        return list(manifest.files)
    chosen = {f.path: f for f in manifest.files if f.path in metadata_files}
    if selection.full:
        by_path = {f.path: f for f in manifest.files}
        matched = matching(by_path, selection.include, selection.exclude)
        chosen.update({p: by_path[p] for p in matched})
    return sorted(chosen.values(), key=lambda f: f.path)


def _matches(path: Path, record: FileRecord) -> bool:
    if path.stat().st_size != record.size:
        return False
    return hash_file(path).sha256 == record.sha256


def _verify_and_place(record: FileRecord, partial: Path, final: Path) -> None:
    digest = hash_file(partial)
    if digest.size != record.size or digest.sha256 != record.sha256:
        partial.unlink(missing_ok=True)
        raise IntegrityError(record.path, record.sha256, digest.sha256)
    partial.replace(final)


def _fetched_manifest(
    manifest: RevisionManifest,
    wanted: list[FileRecord],
    selections: Sequence[Selection],
    metadata_files: Sequence[str],
    where: str,
) -> RevisionManifest:
    everything = len(wanted) == len(manifest.files)
    if metadata_files:
        missing = [p for p in metadata_files if manifest.file(p) is None]
    else:
        missing = list(manifest.missing)
    return manifest.replace(
        files=wanted,
        selections=list(manifest.selections) if everything else list(selections),
        missing=missing,
        source="bucket",
        source_url=where,
        fetched_at=datetime.now(UTC),
    )
