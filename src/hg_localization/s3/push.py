"""Push a complete local revision to the bucket: gather, plan (:mod:`.sync`), apply.

The order is what keeps readers safe::

    abort multipart uploads a dead run left behind (older than STALE_UPLOAD_AGE)
    [a branch moved] the old commit's metadata object is deleted before its objects are overwritten
    private data objects           (only those not already identical)
    private metadata object        after its data: until it is there, the revision does not exist
    private index entry
    [--make-public] bucket policy → public data objects (server-side copies)
                    → public metadata object → public index (conditional write)
                    → private metadata and entry again, now saying "public"

A reader trusts a revision only when its metadata object exists, so a push killed at any point
leaves either the previous complete revision or nothing; a re-run skips what already arrived.
Local files are hashed before they are sent, so a damaged local copy never poisons the bucket.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from hg_localization.errors import IntegrityError, InvalidInputError
from hg_localization.ids import RepoType, parse_repo_id
from hg_localization.integrity.hashing import hash_file
from hg_localization.s3 import catalog, public
from hg_localization.s3.bucket import Bucket, RemoteObject, UploadItem
from hg_localization.s3.keys import KeySpace
from hg_localization.s3.sync import RevisionPlan, plan_private, plan_public, wanted_objects
from hg_localization.store.local_store import StoredRevision
from hg_localization.store.manifest import RevisionManifest
from hg_localization.usecases.progress import SILENT, ProgressListener

#: Incomplete multipart uploads older than this are someone's dead run, not a concurrent push.
STALE_UPLOAD_AGE = timedelta(hours=24)


@dataclass(frozen=True)
class PushReport:
    repo_type: RepoType
    repo_id: str
    revision: str
    commit: str
    location: str
    uploaded_files: int = 0
    uploaded_bytes: int = 0
    skipped_files: int = 0
    metadata_written: bool = False
    public_files_copied: int = 0
    public_url: str | None = None
    aborted_uploads: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.uploaded_files or self.metadata_written or self.public_files_copied)


def push_revision(
    bucket: Bucket,
    stored: StoredRevision,
    *,
    make_public: bool = False,
    public_url: str | None = None,
    progress: ProgressListener = SILENT,
) -> PushReport:
    local = stored.manifest
    repo_id = parse_repo_id(local.repo_id)
    keys = bucket.location.keys
    aborted = bucket.abort_stale_uploads(
        keys.private.revision_prefix(local.repo_type, repo_id, local.revision), STALE_UPLOAD_AGE
    )

    remote = _remote_manifest(bucket, local, public=False)
    plan = plan_private(local, stored.path, remote, gather(bucket, local, keys.private), keys.private)
    _check_local_files(stored, plan.uploads)
    _withdraw_other_commit(bucket, remote, local, plan.metadata_key, bool(plan.uploads))
    bucket.upload_files(plan.uploads, progress)
    if plan.write_metadata:
        _put_manifest(bucket, plan.metadata_key, plan.manifest)
    catalog.write_entry(bucket, plan.manifest)

    copied = 0
    is_public = plan.manifest.public
    if make_public:
        copied = _publish(bucket, local, progress)
        if not is_public:  # only now is it true: say so in the private metadata too
            shared = plan.manifest.model_copy(update={"public": True})
            _put_manifest(bucket, plan.metadata_key, shared)
            catalog.write_entry(bucket, shared)
            is_public = True
    return PushReport(
        repo_type=local.repo_type,
        repo_id=local.repo_id,
        revision=local.revision,
        commit=local.commit,
        location=bucket.location.describe(),
        uploaded_files=len(plan.uploads),
        uploaded_bytes=plan.upload_bytes,
        skipped_files=len(plan.skipped),
        metadata_written=plan.write_metadata,
        public_files_copied=copied,
        public_url=public_url if is_public else None,
        aborted_uploads=aborted,
    )


def gather(bucket: Bucket, manifest: RevisionManifest, space: KeySpace) -> dict[str, RemoteObject]:
    """Size and sha256 of the objects a push would write that already exist (one LIST, HEAD the rest).

    Only objects whose size already matches are HEADed for their sha256: a different size is
    enough to know an upload is needed.
    """
    wanted = wanted_objects(manifest, space)
    repo_id = parse_repo_id(manifest.repo_id)
    prefix = space.revision_prefix(manifest.repo_type, repo_id, manifest.revision)
    listed = {o.key: o for o in bucket.list(prefix)}
    found: dict[str, RemoteObject] = {}
    for key, record in wanted.items():
        obj = listed.get(key)
        if obj is None:
            continue
        if obj.size != record.size:
            found[key] = obj
            continue
        found[key] = bucket.head(key) or obj
    return found


def _publish(bucket: Bucket, local: RevisionManifest, progress: ProgressListener) -> int:
    """Copy the local revision's files under the public prefix, then its metadata, then the index."""
    keys = bucket.location.keys
    public.ensure_public_policy(bucket)
    shared = local.model_copy(update={"public": True})
    remote = _remote_manifest(bucket, shared, public=True)
    existing = gather(bucket, shared, keys.public)
    plan: RevisionPlan = plan_public(shared, remote, existing, keys.private, keys.public)
    _withdraw_other_commit(bucket, remote, shared, plan.metadata_key, bool(plan.copies))
    bucket.copy_objects(plan.copies, progress)
    if plan.write_metadata:
        _put_manifest(bucket, plan.metadata_key, plan.manifest)
    public.add_to_public_index(bucket, plan.manifest)
    return len(plan.copies)


def _withdraw_other_commit(
    bucket: Bucket,
    remote: RevisionManifest | None,
    local: RevisionManifest,
    metadata_key: str,
    overwrites: bool,
) -> None:
    """A branch moved: its objects are keyed by revision name and about to be overwritten in place.

    Delete the old commit's metadata object first, so that until the new one is written the
    revision simply does not exist in the bucket (readers go to the Hub) instead of an old
    metadata object vouching for a mix of old and new files.
    """
    if remote is not None and remote.commit != local.commit and overwrites:
        bucket.delete(metadata_key)


def _remote_manifest(bucket: Bucket, manifest: RevisionManifest, *, public: bool) -> RevisionManifest | None:
    """The bucket's metadata object for this revision; a damaged one counts as absent (ours replaces it)."""
    try:
        return catalog.read_manifest(
            bucket, manifest.repo_type, parse_repo_id(manifest.repo_id), manifest.revision, public=public
        )
    except InvalidInputError:
        return None


def _put_manifest(bucket: Bucket, key: str, manifest: RevisionManifest) -> None:
    data = manifest.to_json().encode()
    bucket.put_bytes(key, data, sha256=hashlib.sha256(data).hexdigest())


def _check_local_files(stored: StoredRevision, uploads: tuple[UploadItem, ...] | list[UploadItem]) -> None:
    """Refuse to upload a local file that is not what its metadata file records."""
    records: Mapping[str, str] = {f.path: f.sha256 for f in stored.manifest.files}
    for item in uploads:
        try:
            digest = hash_file(item.source)
        except FileNotFoundError:
            raise InvalidInputError(
                f"'{item.source}' is listed in the local metadata but missing; it was not uploaded.",
                hint=f"Localize it again with --force: hg-localization download-model {stored.repo_id}",
            ) from None
        expected = records[item.label]
        if digest.sha256 != expected or digest.size != item.size:
            raise IntegrityError(str(item.source), expected, digest.sha256)
