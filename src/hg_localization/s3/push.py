"""Push a complete local revision to the bucket: gather, plan (:mod:`.sync`), apply.

The order is what keeps readers safe::

    [--make-public of a private or gated upstream repo] refuse, before anything is uploaded
    [the bucket has a later-fetched commit] refuse: an old store never moves a branch back
    [a branch moved] the old commit's metadata object is deleted before its objects are overwritten
    private data objects           (only those not already identical; a big file's upload that a
                                    killed run left open is resumed: its parts are not sent again)
    abort multipart uploads a dead run left behind and nobody resumed (older than STALE_UPLOAD_AGE)
    private metadata object        after its data: until it is there, the revision does not exist
    private index entry
    [--make-public] bucket policy → public data objects (server-side copies)
                    → public metadata object → public index
                    → private metadata and entry again, now saying "public"

A reader trusts a revision only when its metadata object exists, so a push killed at any point
leaves either the previous complete revision or nothing; a re-run skips what already arrived.
Local files are hashed as they are sent (one read), and an object whose bytes are not those the
local metadata records is never completed, so a damaged local copy never poisons the bucket.

Metadata objects are shared by everyone who pushes the revision: each is written with a
condition on what was read (:meth:`Bucket.update_object`), and merged again with whatever
another push wrote meanwhile, so that concurrent pushes never drop each other's files. The
caller holds the local store's lock on the revision, so its folder does not change meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from hg_localization.errors import IntegrityError, InvalidInputError
from hg_localization.ids import RepoType, parse_repo_id
from hg_localization.s3 import catalog, public
from hg_localization.s3.bucket import Bucket, RemoteObject, UnreadableSourceError, UploadItem
from hg_localization.s3.keys import KeySpace
from hg_localization.s3.multipart import MultipartStats
from hg_localization.s3.sync import (
    RevisionPlan,
    merge_manifests,
    plan_private,
    plan_public,
    wanted_objects,
)
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
    #: Parts of big files an interrupted run had already uploaded: kept, not sent again.
    resumed_parts: int = 0
    resumed_bytes: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.uploaded_files or self.metadata_written or self.public_files_copied)


def push_revision(
    bucket: Bucket,
    stored: StoredRevision,
    *,
    make_public: bool = False,
    allow_private_public: bool = False,
    public_url: str | None = None,
    progress: ProgressListener = SILENT,
) -> PushReport:
    """Push ``stored``; with ``make_public`` share it, never when its upstream repo is private or
    gated unless ``allow_private_public`` (refused before anything is uploaded)."""
    local = stored.manifest
    if make_public:
        public.check_may_publish(local, stored.path, allow_private_public=allow_private_public)
    repo_id = parse_repo_id(local.repo_id)
    keys = bucket.location.keys
    remote, etag = _remote_manifest(bucket, local, public=False)
    # The plan refuses (NewerInBucketError) when the bucket holds a later-fetched commit.
    plan = plan_private(local, stored.path, remote, gather(bucket, local, keys.private), keys.private)
    _withdraw_other_commit(bucket, remote, etag, local, plan.metadata_key, bool(plan.uploads))
    resumed = _upload(bucket, stored, plan.uploads, progress)
    prefix = keys.private.revision_prefix(local.repo_type, repo_id, local.revision)
    aborted = bucket.abort_stale_uploads(prefix, STALE_UPLOAD_AGE)  # after: open uploads were resumed
    recorded, written = _record(bucket, plan.metadata_key, local)
    catalog.write_entry(bucket, recorded)

    copied = 0
    is_public = recorded.public
    if make_public:
        copied = _publish(bucket, local, progress)
        if not is_public:  # only now is it true: say so in the private metadata too
            recorded, _ = _record(bucket, plan.metadata_key, local.model_copy(update={"public": True}))
            catalog.write_entry(bucket, recorded)
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
        metadata_written=written,
        public_files_copied=copied,
        public_url=public_url if is_public else None,
        aborted_uploads=aborted,
        resumed_parts=resumed.parts_kept,
        resumed_bytes=resumed.bytes_kept,
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
    remote, etag = _remote_manifest(bucket, shared, public=True)
    existing = gather(bucket, shared, keys.public)
    plan: RevisionPlan = plan_public(shared, remote, existing, keys.private, keys.public)
    _withdraw_other_commit(bucket, remote, etag, shared, plan.metadata_key, bool(plan.copies))
    bucket.copy_objects(plan.copies, progress)
    recorded, _ = _record(bucket, plan.metadata_key, shared)
    public.add_to_public_index(bucket, recorded)
    return len(plan.copies)


def _upload(
    bucket: Bucket, stored: StoredRevision, uploads: tuple[UploadItem, ...], progress: ProgressListener
) -> MultipartStats:
    """Upload the planned files (each checked against its recorded sha256 as it is read)."""
    try:
        return bucket.upload_files(uploads, progress)
    except (UnreadableSourceError, IntegrityError) as exc:  # the local copy, not the bucket
        manifest = stored.manifest
        command = "download-model" if manifest.repo_type == "model" else f"download-{manifest.repo_type}"
        exc.hint = (
            "The local copy is damaged or unreadable; localize it again: hg-localization "
            f"{command} {manifest.repo_id} --revision {manifest.revision} --force"
        )
        raise


def _record(bucket: Bucket, key: str, local: RevisionManifest) -> tuple[RevisionManifest, bool]:
    """Write what the metadata object must say now that ``local``'s files are in place.

    Conditional on the object read, and merged again with whatever another push wrote
    meanwhile; refused (NewerInBucketError) when that is a later-fetched commit. Returns what the
    object says and whether it was written.
    """
    repo_id = parse_repo_id(local.repo_id)

    def change(current: bytes | None) -> tuple[tuple[RevisionManifest, bool], bytes | None]:
        remote = _parsed(current, local, key)
        merged = merge_manifests(remote, local)
        if remote is not None and remote.to_json() == merged.to_json():
            return (remote, False), None
        return (merged, True), merged.to_json().encode()

    return bucket.update_object(key, change, what=f"the metadata object of '{repo_id}' at '{local.revision}'")


def _withdraw_other_commit(
    bucket: Bucket,
    remote: RevisionManifest | None,
    etag: str | None,
    local: RevisionManifest,
    metadata_key: str,
    overwrites: bool,
) -> None:
    """A branch moved: its objects are keyed by revision name and about to be overwritten in place.

    Delete the old commit's metadata object first, so that until the new one is written the
    revision simply does not exist in the bucket (readers go to the Hub) instead of an old
    metadata object vouching for a mix of old and new files. Only the object that was read is
    deleted: when another push changed it meanwhile, this one stops (WriteConflictError).
    """
    if remote is not None and remote.commit != local.commit and overwrites:
        bucket.delete(metadata_key, if_match=etag)


def _remote_manifest(
    bucket: Bucket, manifest: RevisionManifest, *, public: bool
) -> tuple[RevisionManifest | None, str | None]:
    """The bucket's metadata object for this revision, and its ETag; a damaged one counts as absent."""
    keys = bucket.location.keys
    space = keys.public if public else keys.private
    key = space.metadata_key(manifest.repo_type, parse_repo_id(manifest.repo_id), manifest.revision)
    got = bucket.get_bytes(key)
    if got is None:
        return None, None
    return _parsed(got[0], manifest, key), got[1]


def _parsed(data: bytes | None, manifest: RevisionManifest, key: str) -> RevisionManifest | None:
    """A metadata object read from the bucket, checked; a damaged one counts as absent (ours replaces it)."""
    if data is None:
        return None
    try:
        return catalog.parse_manifest(
            data,
            manifest.repo_type,
            parse_repo_id(manifest.repo_id),
            manifest.revision,
            where=f"metadata object '{key}'",
        )
    except InvalidInputError:
        return None
