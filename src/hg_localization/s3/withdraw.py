"""Taking revisions back out of the bucket: withdraw a public copy, or delete a copy altogether.

The order keeps readers safe, as a push's does (:mod:`.push`), the other way round::

    unpublish:  public index entry (conditional, like every index write)  readers stop finding it
                public metadata object        from here, the public copy does not exist
                public data objects
                private metadata object and index entry: "public: false" (conditional)
    delete:     [unpublish, when it is public]
                private metadata object       from here, the copy does not exist (a reader trusts
                                              a revision only while its metadata object is there)
                private data objects, then the private index entry

A run killed half-way leaves objects that no metadata object lists (never read, and removed by
the next run) and never a metadata object listing objects that are gone.
"""

from __future__ import annotations

from dataclasses import dataclass

from hg_localization.errors import StorageError
from hg_localization.ids import RepoId, RepoType
from hg_localization.s3 import catalog
from hg_localization.s3.bucket import Bucket
from hg_localization.s3.keys import KeySpace
from hg_localization.s3.public import (
    MAX_INDEX_ATTEMPTS,
    PublicIndex,
    parse_public_index,
    rebuild_public_index,
)
from hg_localization.store.manifest import RevisionManifest


@dataclass(frozen=True)
class Withdrawn:
    """What one withdrawal did in the bucket."""

    repo_type: RepoType
    repo_id: str
    revision: str
    location: str
    objects_deleted: int = 0
    bytes_deleted: int = 0
    was_listed: bool = False


def unpublish_revision(bucket: Bucket, repo_type: RepoType, repo_id: RepoId, revision: str) -> Withdrawn:
    """Withdraw the public copy of a revision and its public index entry; the private copy stays."""
    keys = bucket.location.keys
    listed = _drop_from_public_index(bucket, repo_type, repo_id, revision)
    deleted, size = _delete_prefix(bucket, keys.public, repo_type, repo_id, revision)
    _mark_private(bucket, repo_type, repo_id, revision)
    return Withdrawn(
        repo_type, str(repo_id), revision, bucket.location.describe(), deleted, size, was_listed=listed
    )


def delete_revision(bucket: Bucket, repo_type: RepoType, repo_id: RepoId, revision: str) -> Withdrawn:
    """Delete a revision's copy from the bucket (its public copy first, when there is one)."""
    public = unpublish_revision(bucket, repo_type, repo_id, revision)
    keys = bucket.location.keys
    deleted, size = _delete_prefix(bucket, keys.private, repo_type, repo_id, revision)
    entry_key = keys.index_entry_key(repo_type, repo_id, revision)
    if bucket.head(entry_key) is not None:
        bucket.delete(entry_key)
        deleted += 1
    return Withdrawn(
        repo_type,
        str(repo_id),
        revision,
        bucket.location.describe(),
        deleted + public.objects_deleted,
        size + public.bytes_deleted,
        was_listed=public.was_listed,
    )


def _drop_from_public_index(bucket: Bucket, repo_type: RepoType, repo_id: RepoId, revision: str) -> bool:
    """Remove the entry with a conditional write (retried when another writer wins); True if it was there."""
    key = bucket.location.keys.public_index_key(repo_type)

    def change(current: bytes | None) -> tuple[bool, bytes | None]:
        if current is None:
            return False, None
        try:
            index = parse_public_index(current, repo_type, where=f"'{key}'")
        except StorageError:  # a damaged index: rebuilt from the metadata objects, as a push does
            index = rebuild_public_index(bucket, repo_type)
        kept = [e for e in index.entries if (e.repo_id, e.revision) != (str(repo_id), revision)]
        if len(kept) == len(index.entries):
            return False, None
        return True, PublicIndex(repo_type=repo_type, entries=kept).to_bytes()

    return bucket.update_object(
        key,
        change,
        what="the public index",
        hint="Run the command again; nothing public was deleted yet.",
        attempts=MAX_INDEX_ATTEMPTS,
    )


def _delete_prefix(
    bucket: Bucket, space: KeySpace, repo_type: RepoType, repo_id: RepoId, revision: str
) -> tuple[int, int]:
    """The metadata object first (the copy stops existing), then every other object of the revision."""
    metadata_key = space.metadata_key(repo_type, repo_id, revision)
    objects = list(bucket.list(space.revision_prefix(repo_type, repo_id, revision)))
    ordered = sorted(objects, key=lambda o: o.key != metadata_key)
    for obj in ordered:
        bucket.delete(obj.key)
    return len(ordered), sum(o.size for o in ordered)


def _mark_private(bucket: Bucket, repo_type: RepoType, repo_id: RepoId, revision: str) -> None:
    """Record ``public: false`` in the private metadata object and index entry (when there is a copy)."""
    key = bucket.location.keys.private.metadata_key(repo_type, repo_id, revision)

    def change(current: bytes | None) -> tuple[RevisionManifest | None, bytes | None]:
        if current is None:
            return None, None
        where = f"metadata object '{key}'"
        manifest = catalog.parse_manifest(current, repo_type, repo_id, revision, where=where)
        updated = manifest.replace(public=False)
        return updated, (updated.to_json().encode() if manifest.public else None)

    manifest = bucket.update_object(key, change, what=f"the metadata object of '{repo_id}' at '{revision}'")
    if manifest is not None:
        catalog.write_entry(bucket, manifest)
