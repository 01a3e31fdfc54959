"""Push a complete local revision to the bucket: gather, plan (:mod:`.push_plan`), apply.

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
What a push left in the bucket (each object's ETag and sha256) is recorded in the local store
(:mod:`hg_localization.store.push_record`), so that a push with nothing to send is one LIST:
no local file read, no HEAD per object.

Metadata objects are shared by everyone who pushes the revision: each is written with a
condition on what was read (:meth:`Bucket.update_object`), and merged again with whatever
another push wrote meanwhile, so that concurrent pushes never drop each other's files. The
caller holds the local store's lock on the revision, so its folder does not change meanwhile.
"""

from __future__ import annotations

import functools
import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from hg_localization.errors import IntegrityError, InvalidInputError
from hg_localization.ids import RepoType, parse_repo_id
from hg_localization.integrity.hashing import CHUNK_SIZE, read_chunks
from hg_localization.progress import SILENT, ProgressListener
from hg_localization.s3 import catalog
from hg_localization.s3.bucket import Bucket, RemoteObject, UnreadableSourceError, UploadItem
from hg_localization.s3.keys import KeySpace
from hg_localization.s3.multipart import MultipartStats
from hg_localization.s3.push_plan import (
    RevisionPlan,
    merge_manifests,
    plan_private,
    plan_public,
    wanted_objects,
)
from hg_localization.store.local_store import StoredRevision
from hg_localization.store.manifest import FileRecord, RevisionManifest
from hg_localization.store.push_record import PushedObjects, PushRecord

_MD5_HEX_LENGTH = 32

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
    """Push one complete local revision; with ``make_public`` share it too, never when its upstream
    repo is private or gated unless ``allow_private_public``.

    The steps run in an order that readers (who trust a revision only while its metadata object
    is there, and every byte only against it) and concurrent pushers depend on:

    1. Refusals first (``make_public`` of a private repo; a later-fetched commit in the bucket,
       raised by the plan): a refused push must not have changed anything.
    2. When the branch moved, the old commit's metadata object is deleted (conditionally on the
       ETag read) *before* its objects are overwritten in place: otherwise, for a while, it
       would vouch for a mix of old and new bytes.
    3. The data objects, each verified as it is read. Only then...
    4. ...stale multipart uploads are aborted: the upload step resumed ours, so what is left
       open and old is a dead run's, and a young one may be a concurrent pusher's.
    5. The metadata object, after every object it lists: from this write on, the revision
       exists. It is merged with what another push wrote meanwhile (conditional write), so
       neither push drops the other's files.
    6. The private index entry last: it only helps listing, and an entry without a metadata
       object would list a revision that does not exist.
    7. ``make_public``: policy, server-side copies, public metadata, public index (the same
       order one prefix over), and only when all of that is there is the private metadata
       rewritten to say ``public``: it must never claim a share that is not complete.

    Killed anywhere, the bucket holds the previous complete revision or nothing readable, and
    a re-run sends only what is missing.
    """
    local = stored.manifest
    if make_public:
        # (the public index is a pydantic model: imported only when something is made public)
        from hg_localization.s3 import public

        public.check_may_publish(local, stored.path, allow_private_public=allow_private_public)
    report, recorded, metadata_key = _push_private(bucket, stored, progress)
    if not make_public:
        return replace(report, public_url=public_url if recorded.public else None)
    copied = _publish(bucket, local, stored.path, progress)
    if not recorded.public:  # only now is it true: say so in the private metadata too
        recorded, _ = _record(bucket, metadata_key, local.replace(public=True))
        catalog.write_entry(bucket, recorded)
    return replace(report, public_files_copied=copied, public_url=public_url)


def _push_private(
    bucket: Bucket, stored: StoredRevision, progress: ProgressListener
) -> tuple[PushReport, RevisionManifest, str]:
    """Steps 1 (the plan's refusal) to 6 of :func:`push_revision`: what was done, what the private
    metadata object says now, and its key."""
    local = stored.manifest
    keys = bucket.location.keys
    prefix = keys.private.revision_prefix(local.repo_type, parse_repo_id(local.repo_id), local.revision)
    record = PushRecord.for_revision(stored.path, local.repo_type, _destination(bucket, prefix))
    known = record.load() if record is not None else {}
    remote, etag = _remote_manifest(bucket, local, public=False)
    # The plan refuses (NewerInBucketError) when the bucket holds a later-fetched commit.
    existing = gather(bucket, local, keys.private, stored.path, known=known)
    plan = plan_private(local, stored.path, remote, existing, keys.private)
    _withdraw_other_commit(bucket, remote, etag, local, plan.metadata_key, bool(plan.uploads))
    resumed = _upload(bucket, stored, plan.uploads, progress)
    aborted = bucket.abort_stale_uploads(prefix, STALE_UPLOAD_AGE)  # after: open uploads were resumed
    recorded, written = _record(bucket, plan.metadata_key, local)
    catalog.write_entry(bucket, recorded)
    pushed = _pushed_objects(plan, existing, resumed.etags)
    if record is not None and pushed != known:
        record.save(pushed)
    report = PushReport(
        repo_type=local.repo_type,
        repo_id=local.repo_id,
        revision=local.revision,
        commit=local.commit,
        location=bucket.location.describe(),
        uploaded_files=len(plan.uploads),
        uploaded_bytes=plan.upload_bytes,
        skipped_files=len(plan.skipped),
        metadata_written=written,
        aborted_uploads=aborted,
        resumed_parts=resumed.parts_kept,
        resumed_bytes=resumed.bytes_kept,
    )
    return report, recorded, plan.metadata_key


def gather(
    bucket: Bucket,
    manifest: RevisionManifest,
    space: KeySpace,
    folder: Path | None = None,
    *,
    known: PushedObjects | None = None,
) -> dict[str, RemoteObject]:
    """Size and sha256 of the objects a push would write that already exist.

    One LIST gives every key's size and ETag. A different size is enough to know an upload is
    needed. For an object of the same size, the sha256 is known without asking the bucket when
    the last push recorded that very ETag with the recorded sha256 (``known``, the
    :class:`~hg_localization.store.push_record.PushRecord`: no read at all), or when its ETag is
    the MD5 of the local file (``folder``) and that file's sha256 is the recorded one (both from
    one read): the bucket then holds exactly those bytes. Only the rest (big multipart objects,
    an ETag that is not an MD5, a differing one) is HEADed for the sha256 recorded with the
    object, several at once. No check is a reader's: whoever may write to the bucket can set
    them, and a fetch verifies every byte against the metadata object.
    """
    wanted = wanted_objects(manifest, space)
    repo_id = parse_repo_id(manifest.repo_id)
    prefix = space.revision_prefix(manifest.repo_type, repo_id, manifest.revision)
    listed = {o.key: o for o in bucket.list(prefix)}
    found: dict[str, RemoteObject] = {}
    to_head: list[str] = []
    for key, record in wanted.items():
        obj = listed.get(key)
        if obj is None:
            continue
        found[key] = obj
        if obj.size != record.size:
            continue
        if known and obj.etag and known.get(key) == (_plain_etag(obj.etag), record.sha256):
            found[key] = replace(obj, sha256=record.sha256)
            continue
        small = record.size < bucket.transfer.multipart_threshold  # sent in one part: its ETag is its MD5
        if folder is not None and small and _holds_local_bytes(obj, folder / record.local_path, record):
            found[key] = replace(obj, sha256=record.sha256)
        else:
            to_head.append(key)
    found.update(_head_all(bucket, to_head))
    return found


def _pushed_objects(
    plan: RevisionPlan, existing: dict[str, RemoteObject], uploaded: dict[str, str]
) -> PushedObjects:
    """What the push record says after this push: each object known to hold the recorded bytes,
    by the ETag the bucket gave it (listed or HEADed for those skipped, answered for those sent)."""
    pushed: PushedObjects = {}
    for key in plan.skipped:
        obj = existing[key]
        if obj.etag and obj.sha256:
            pushed[key] = (_plain_etag(obj.etag), obj.sha256)
    for item in plan.uploads:
        if item.key in uploaded:
            pushed[item.key] = (_plain_etag(uploaded[item.key]), item.sha256)
    return pushed


def _plain_etag(etag: str) -> str:
    return etag.strip('"').lower()


def _destination(bucket: Bucket, prefix: str) -> str:
    """Where a revision's objects go, as a push record names it: endpoint, bucket and key prefix."""
    return f"{bucket.location.endpoint_url or 's3'} {bucket.name} {prefix}"


def _head_all(bucket: Bucket, keys: list[str]) -> dict[str, RemoteObject]:
    """:meth:`Bucket.head` of each key, as many at once as transfers run; absent keys left out."""
    if not keys:
        return {}
    workers = min(len(keys), bucket.transfer.max_request_concurrency)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hgloc-head") as pool:
        found = list(pool.map(bucket.head, keys))
    return {obj.key: obj for obj in found if obj is not None}


def _holds_local_bytes(obj: RemoteObject, path: Path, record: FileRecord) -> bool:
    """True when ``obj``'s ETag is the MD5 of the file at ``path`` and its sha256 the recorded one.

    Only a single-part object's ETag is the MD5 of its bytes (a multipart one ends in ``-N``;
    with SSE-KMS it is neither); anything else is False and the caller asks the bucket.
    """
    etag = (obj.etag or "").strip('"').lower()
    if len(etag) != _MD5_HEX_LENGTH:
        return False
    md5 = hashlib.md5(usedforsecurity=False)
    sha256 = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            # A buffer the file's size (+1 to see its end in one more read), not 1 MiB each time.
            for chunk in read_chunks(handle, min(record.size + 1, CHUNK_SIZE)):
                md5.update(chunk)
                sha256.update(chunk)
    except OSError:
        return False  # the upload step reads it again and says what is wrong with it
    return md5.hexdigest() == etag and sha256.hexdigest() == record.sha256


def _publish(bucket: Bucket, local: RevisionManifest, folder: Path, progress: ProgressListener) -> int:
    """Copy the local revision's files under the public prefix, then its metadata, then the index."""
    from hg_localization.s3 import public

    keys = bucket.location.keys
    public.ensure_public_policy(bucket)
    shared = local.replace(public=True)
    remote, etag = _remote_manifest(bucket, shared, public=True)
    existing = gather(bucket, shared, keys.public, folder)
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
        if remote is not None and (merged is remote or remote.to_json() == merged.to_json()):
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
    if data == _json_of(manifest):  # it says what ours does (nothing changed): no need to read it
        return manifest
    return _parsed_bytes(data, manifest.repo_type, manifest.repo_id, manifest.revision, key)


_last_json: tuple[RevisionManifest | None, bytes] = (None, b"")


def _json_of(manifest: RevisionManifest) -> bytes:
    """``manifest``'s JSON (kept for the same object: a push compares it twice); empty for a
    manifest that could not be read back from it (one file twice: the bucket's copy is damaged)."""
    global _last_json  # (one entry, replaced whole: safe across threads)
    last = _last_json
    if last[0] is manifest:
        return last[1]
    unique = len({f.local_path for f in manifest.files}) == len(manifest.files)
    data = manifest.to_json().encode() if unique else b""
    _last_json = (manifest, data)
    return data


# A push reads the metadata object before its uploads and again to write it: when the bytes are
# the same, so is what they say (a manifest is never changed in place, only copied).
@functools.lru_cache(maxsize=4)
def _parsed_bytes(
    data: bytes, repo_type: RepoType, repo_id: str, revision: str, key: str
) -> RevisionManifest | None:
    try:
        return catalog.parse_manifest(
            data, repo_type, parse_repo_id(repo_id), revision, where=f"metadata object '{key}'"
        )
    except InvalidInputError:
        return None
