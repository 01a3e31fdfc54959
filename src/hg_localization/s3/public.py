"""Public sharing: a bucket policy on one prefix, and the public index, updated without losing writes.

Why a bucket policy and not object ACLs: S3 ignores ACLs on buckets created since 2023 (Object
Ownership "bucket owner enforced"), and S3-compatible servers store an object ACL without
enforcing it (SeaweedFS does). A policy statement that allows ``s3:GetObject`` to ``"*"`` on
``arn:aws:s3:::<bucket>/<prefix>/public/*`` is enforced by both: anonymous readers can GET what
is under the public prefix, and nothing else (no listing, no private key, no write).

The public index (``<prefix>/public/public_models.json``) is one object that anonymous readers
fetch in one GET. Writers update it read-modify-write with a condition (``IfMatch`` the ETag they
read, or ``IfNoneMatch: *`` to create it), and start again when someone else wrote first, so
concurrent ``--make-public`` runs never drop each other's entries. When the index is missing or
cannot be parsed it is rebuilt from the public metadata objects (a scan), never replaced by an
index holding only the new entry.

A revision whose upstream repo is private or gated (``RevisionManifest.private``) is never made
public unless the caller says so explicitly (``--allow-private-public``):
:func:`check_may_publish` is the one check, made by :func:`~hg_localization.s3.push.push_revision`
before it uploads anything.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from hg_localization.errors import AuthenticationError, HGLocalizationError, InvalidInputError, StorageError
from hg_localization.ids import RepoType
from hg_localization.s3.bucket import Bucket
from hg_localization.s3.catalog import IndexEntry, read_manifest
from hg_localization.store.manifest import RevisionManifest

logger = logging.getLogger(__name__)

POLICY_SID = "HgLocalizationPublicRead"
INDEX_FORMAT = 1
#: How many times a conditional index update is retried before giving up.
MAX_INDEX_ATTEMPTS = 12


class PublicIndex(BaseModel):
    format: int = INDEX_FORMAT
    repo_type: RepoType
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    entries: list[IndexEntry] = Field(default_factory=list)

    def with_entry(self, entry: IndexEntry) -> PublicIndex:
        kept = [e for e in self.entries if (e.repo_id, e.revision) != (entry.repo_id, entry.revision)]
        return PublicIndex(
            repo_type=self.repo_type,
            entries=sorted([*kept, entry], key=lambda e: (e.repo_id, e.revision)),
        )

    def to_bytes(self) -> bytes:
        return self.model_dump_json(indent=2).encode()


def parse_public_index(data: bytes, repo_type: RepoType, *, where: str) -> PublicIndex:
    """The index from outside, checked; StorageError saying so when it cannot be used."""
    try:
        index = PublicIndex.model_validate_json(data)
        if index.repo_type != repo_type:
            raise InvalidInputError(f"it lists {index.repo_type}s, not {repo_type}s")
        for entry in index.entries:
            entry.checked()
    except (ValidationError, ValueError, HGLocalizationError) as exc:
        reason = exc.message if isinstance(exc, HGLocalizationError) else str(exc).splitlines()[0]
        raise StorageError(
            f"The public index {where} is damaged: {reason}.",
            hint="Whoever manages the bucket can rebuild it: "
            f"hg-localization list-s3-{repo_type}s --rebuild-index",
        ) from exc
    return index


# --- what may be made public ------------------------------------------------------------------------


def check_may_publish(manifest: RevisionManifest, local_path: Path, *, allow_private_public: bool) -> None:
    """Refuse (AuthenticationError, exit 3) to publish a private or gated upstream revision.

    Anyone could read it once public, while the Hub (and ``serve``) only let token holders in.
    ``allow_private_public`` is the explicit, deliberate override.
    """
    if not manifest.private or allow_private_public:
        return
    raise AuthenticationError(
        manifest.repo_id,
        message=f"'{manifest.repo_id}' (revision '{manifest.revision}') comes from a private or gated "
        "repository on the Hub: it was not made public, and nothing was uploaded.",
        hint=f"The local copy is kept at {local_path}. To share it with the team only, leave out "
        "--make-public; to publish it anyway (if its licence allows), add --allow-private-public "
        "(allow_private_public=True in Python).",
    )


# --- the bucket policy -------------------------------------------------------------------------------


def public_read_statement(bucket: Bucket) -> dict[str, Any]:
    resource = f"arn:aws:s3:::{bucket.name}/{bucket.location.keys.public_root}*"
    return {
        "Sid": _sid(bucket),
        "Effect": "Allow",
        "Principal": "*",
        "Action": ["s3:GetObject"],
        "Resource": [resource],
    }


def ensure_public_policy(bucket: Bucket) -> bool:
    """Make sure anonymous GETs are allowed under the public prefix; True when the policy changed.

    Other statements in the policy are kept as they are.
    """
    try:
        return _ensure_statement(bucket, public_read_statement(bucket))
    except StorageError as exc:
        if "access denied" in exc.message:
            exc.hint = (
                "Making models public needs an identity that may read and set the bucket policy "
                "(s3:GetBucketPolicy, s3:PutBucketPolicy); on AWS the bucket must also allow public "
                "policies (Block Public Access). See docs/bucket.md."
            )
        raise


def _ensure_statement(bucket: Bucket, wanted: dict[str, Any]) -> bool:
    try:
        current = bucket.get_policy()
    except StorageError as exc:
        if "access denied" not in exc.message:
            raise
        # Team members often may not read the policy; an admin set it up once (docs/bucket.md).
        logger.warning("Could not read the bucket policy (%s); assuming an admin has set it.", exc.message)
        return False
    empty: dict[str, Any] = {"Version": "2012-10-17", "Statement": []}
    try:
        policy: dict[str, Any] = json.loads(current) if current else empty
    except ValueError as exc:
        raise StorageError(
            f"The bucket policy of {bucket.location.describe()} is not valid JSON; it was not changed.",
        ) from exc
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    if any(_grants(statement, wanted) for statement in statements):
        return False
    policy["Statement"] = [s for s in statements if s.get("Sid") != wanted["Sid"]] + [wanted]
    bucket.put_policy(json.dumps(policy))
    return True


def _sid(bucket: Bucket) -> str:
    """One statement per data prefix (Sids are alphanumeric: a hash of the prefix tells them apart)."""
    return POLICY_SID + hashlib.sha256(bucket.location.keys.prefix.encode()).hexdigest()[:12]


def _grants(statement: dict[str, Any], wanted: dict[str, Any]) -> bool:
    def as_list(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value]

    principal = statement.get("Principal")
    anyone = principal == "*" or (isinstance(principal, dict) and as_list(principal.get("AWS")) == ["*"])
    return (
        statement.get("Effect") == "Allow"
        and anyone
        and "s3:GetObject" in as_list(statement.get("Action"))
        and set(as_list(wanted["Resource"])) <= set(as_list(statement.get("Resource")))
        and not statement.get("Condition")
    )


# --- the public index --------------------------------------------------------------------------------


def read_public_index(bucket: Bucket, repo_type: RepoType) -> tuple[PublicIndex | None, str | None]:
    """The index and its ETag; ``(None, None)`` when there is none. Damaged: StorageError."""
    key = bucket.location.keys.public_index_key(repo_type)
    got = bucket.get_bytes(key)
    if got is None:
        return None, None
    data, etag = got
    return parse_public_index(data, repo_type, where=f"'{key}' in {bucket.location.describe()}"), etag


def add_to_public_index(bucket: Bucket, manifest: RevisionManifest) -> PublicIndex:
    """Add (or refresh) one revision in the public index, retrying when another writer wins."""
    repo_type = manifest.repo_type
    entry = IndexEntry.from_manifest(manifest.replace(public=True))
    key = bucket.location.keys.public_index_key(repo_type)

    def change(current: bytes | None) -> tuple[PublicIndex, bytes]:
        try:
            if current is None:
                index = rebuild_public_index(bucket, repo_type)
            else:
                index = parse_public_index(current, repo_type, where=f"'{key}'")
        except StorageError as exc:  # damaged: rebuild from the public metadata objects
            logger.warning("%s Rebuilding it from the public metadata objects.", exc.message)
            index = rebuild_public_index(bucket, repo_type)
        updated = index.with_entry(entry)
        return updated, updated.to_bytes()

    return bucket.update_object(
        key,
        change,
        what="the public index",
        hint="Retry the command; the public files themselves are in place.",
        attempts=MAX_INDEX_ATTEMPTS,
    )


def rebuild_public_index(bucket: Bucket, repo_type: RepoType) -> PublicIndex:
    """An index listing every public revision that has its metadata object (a scan)."""
    space = bucket.location.keys.public
    entries: list[IndexEntry] = []
    for obj in bucket.list(space.type_prefix(repo_type)):
        try:
            named = space.parse_metadata_key(repo_type, obj.key)
            manifest = read_manifest(bucket, repo_type, *named, public=True) if named else None
        except InvalidInputError as exc:
            logger.warning("%s", exc.message)
            continue
        if manifest is not None:
            entries.append(IndexEntry.from_manifest(manifest.replace(public=True)))
    return PublicIndex(repo_type=repo_type, entries=sorted(entries, key=lambda e: (e.repo_id, e.revision)))


def write_rebuilt_public_index(bucket: Bucket, repo_type: RepoType) -> PublicIndex:
    """Replace the public index by a scan of the public metadata objects (conditionally, too)."""

    def change(_current: bytes | None) -> tuple[PublicIndex, bytes]:
        index = rebuild_public_index(bucket, repo_type)
        return index, index.to_bytes()

    return bucket.update_object(
        bucket.location.keys.public_index_key(repo_type),
        change,
        what="the public index",
        attempts=MAX_INDEX_ATTEMPTS,
    )
