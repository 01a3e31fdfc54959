"""Plan a push, in pure code: what to upload, what to copy, what the metadata object must say.

The plan is computed from three facts gathered beforehand (the local revision, the bucket's
metadata object for it, and the size and sha256 of the objects already under its prefix), so
it can be tested without a server and printed before anything is sent (plan, then apply, like
huggingface_hub's bucket sync). :mod:`hg_localization.s3.push` gathers and applies.

Rules:

- An object is skipped when the bucket already has the same size and sha256 under its key.
- The bucket's copy of a revision never shrinks: when it holds the same commit, the new
  metadata object lists the union of both copies' files and selections (someone's
  ``--full-model`` push is not undone by someone else's metadata-only push). When it holds
  another commit (a branch moved), ours replaces it, but only when ours was fetched later:
  a push from an old store never moves a branch back (:class:`NewerInBucketError`).
- The metadata object is rewritten only when what it must say differs from what it says.
- The public copy lists only the files of the local revision being made public, plus those of
  an earlier public copy of the same commit: nothing else is ever exposed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hg_localization.errors import StorageError
from hg_localization.ids import RepoId, parse_repo_id
from hg_localization.s3.bucket import CopyItem, RemoteObject, UploadItem
from hg_localization.s3.keys import KeySpace
from hg_localization.store.manifest import FileRecord, RevisionManifest


@dataclass(frozen=True)
class RevisionPlan:
    """What to do under one revision prefix (the private one or the public one)."""

    uploads: tuple[UploadItem, ...]
    copies: tuple[CopyItem, ...]
    skipped: tuple[str, ...]
    #: What the metadata object must say once the transfers are done.
    manifest: RevisionManifest
    metadata_key: str
    write_metadata: bool

    @property
    def upload_bytes(self) -> int:
        return sum(item.size for item in self.uploads)

    @property
    def copy_bytes(self) -> int:
        return sum(item.size for item in self.copies)

    @property
    def nothing_to_do(self) -> bool:
        return not self.uploads and not self.copies and not self.write_metadata


def identical(remote: RemoteObject | None, record: FileRecord) -> bool:
    """True when the bucket already holds exactly this file (size and recorded sha256)."""
    return remote is not None and remote.size == record.size and remote.sha256 == record.sha256


class NewerInBucketError(StorageError):
    """The bucket holds another commit of the revision, fetched after the local copy was: pushing
    the local copy would move the revision back, so it is refused."""

    def __init__(self, remote: RevisionManifest, local: RevisionManifest) -> None:
        command = "download-model" if local.repo_type == "model" else f"download-{local.repo_type}"
        super().__init__(
            f"The bucket has a newer commit of {local.repo_type} '{local.repo_id}' at '{local.revision}' "
            f"({remote.commit[:12]}, fetched at {_shown(remote.fetched_at)}) than the local copy "
            f"({local.commit[:12]}, fetched at {_shown(local.fetched_at)}); it was not replaced.",
            hint="Update the local copy first, then sync again: hg-localization "
            f"{command} {local.repo_id} --revision {local.revision} --force",
        )
        self.remote = remote
        self.local = local


def check_not_going_back(remote: RevisionManifest | None, local: RevisionManifest) -> None:
    """Refuse to replace another commit of the revision that was fetched later than ``local``."""
    if remote is None or remote.commit == local.commit:
        return
    if _utc(remote.fetched_at) > _utc(local.fetched_at):
        raise NewerInBucketError(remote, local)


def merge_manifests(remote: RevisionManifest | None, local: RevisionManifest) -> RevisionManifest:
    """What the bucket's metadata object must say after ``local`` is pushed over ``remote``.

    Raises :class:`NewerInBucketError` when ``remote`` is another, later-fetched commit.
    """
    check_not_going_back(remote, local)
    if remote is None or remote.commit != local.commit or remote.repo_id != local.repo_id:
        return local
    remote_files = {f.path: f for f in remote.files}
    local_is_contained = all(remote_files.get(f.path) == f for f in local.files)
    selections_covered = all(remote.covers(s) for s in local.selections)
    if local_is_contained and selections_covered and (remote.public or not local.public):
        return remote  # the bucket already says everything we would
    files = {**remote_files, **{f.path: f for f in local.files}}
    selections = list(remote.selections) + [s for s in local.selections if s not in remote.selections]
    missing = sorted((set(remote.missing) | set(local.missing)) - set(files))
    return local.replace(
        files=sorted(files.values(), key=lambda f: f.path),
        selections=selections,
        missing=missing,
        public=remote.public or local.public,
    )


def plan_private(
    manifest: RevisionManifest,
    folder: Path,
    remote_manifest: RevisionManifest | None,
    remote_objects: Mapping[str, RemoteObject],
    space: KeySpace,
) -> RevisionPlan:
    """Upload the local files the bucket does not hold identically; then the metadata object."""
    missing, skipped = _compare(manifest, space, remote_objects)
    uploads = [
        UploadItem(
            source=folder / record.local_path,
            key=key,
            size=record.size,
            sha256=record.sha256,
            label=record.path,
        )
        for key, record in missing
    ]
    return _finish(manifest, remote_manifest, space, uploads=uploads, copies=[], skipped=skipped)


def plan_public(
    manifest: RevisionManifest,
    remote_manifest: RevisionManifest | None,
    remote_objects: Mapping[str, RemoteObject],
    private: KeySpace,
    public: KeySpace,
) -> RevisionPlan:
    """Copy (server-side) the local revision's files from the private prefix to the public one."""
    repo_id = _repo_id(manifest)
    missing, skipped = _compare(manifest, public, remote_objects)
    copies = [
        CopyItem(
            source_key=private.object_key(manifest.repo_type, repo_id, manifest.revision, record.local_path),
            key=key,
            size=record.size,
            label=record.path,
        )
        for key, record in missing
    ]
    shared = manifest.replace(public=True)
    return _finish(shared, remote_manifest, public, uploads=[], copies=copies, skipped=skipped)


def wanted_objects(manifest: RevisionManifest, space: KeySpace) -> dict[str, FileRecord]:
    """The keys a push of ``manifest`` into ``space`` would write, with what each must hold."""
    prefix = space.revision_prefix(manifest.repo_type, _repo_id(manifest), manifest.revision)
    return {space.key_under(prefix, record.local_path): record for record in manifest.files}


def _compare(
    manifest: RevisionManifest, space: KeySpace, remote_objects: Mapping[str, RemoteObject]
) -> tuple[list[tuple[str, FileRecord]], list[str]]:
    """The local files ``space`` lacks (or holds otherwise), with their keys; and the keys it holds."""
    missing: list[tuple[str, FileRecord]] = []
    skipped: list[str] = []
    for key, record in wanted_objects(manifest, space).items():
        if identical(remote_objects.get(key), record):
            skipped.append(key)
        else:
            missing.append((key, record))
    return missing, skipped


def _finish(
    manifest: RevisionManifest,
    remote_manifest: RevisionManifest | None,
    space: KeySpace,
    *,
    uploads: Sequence[UploadItem],
    copies: Sequence[CopyItem],
    skipped: Sequence[str],
) -> RevisionPlan:
    merged = merge_manifests(remote_manifest, manifest)
    write = remote_manifest is None or (
        merged is not remote_manifest and remote_manifest.to_json() != merged.to_json()
    )
    return RevisionPlan(
        uploads=tuple(uploads),
        copies=tuple(copies),
        skipped=tuple(skipped),
        manifest=merged,
        metadata_key=space.metadata_key(manifest.repo_type, _repo_id(manifest), manifest.revision),
        write_metadata=write,
    )


def _repo_id(manifest: RevisionManifest) -> RepoId:
    return parse_repo_id(manifest.repo_id)


def _utc(moment: datetime) -> datetime:
    """Comparable: a time without a zone (an old metadata file) is taken as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _shown(moment: datetime) -> str:
    return _utc(moment).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
