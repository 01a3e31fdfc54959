"""What the bucket holds: metadata objects, and the index of revisions built from them.

The private index is one small object per revision (``<prefix>/index/models/<ns>/<name>/<rev>.json``),
written after the revision's metadata object. Writers never read-modify-write a shared file, so
two pushes at once cannot lose each other's entry, and listing the bucket reads the index
instead of scanning every object of every revision.

An index entry is only a summary: the metadata object is the truth. An entry that cannot be read
is rebuilt from its metadata object (and reported); an index that is missing altogether is
rebuilt by :func:`rebuild_entries`, a scan of the metadata objects. Nothing is ever replaced by an
empty list in silence.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from hg_localization.errors import HGLocalizationError, InvalidInputError, StorageError
from hg_localization.ids import REPO_TYPES, RepoId, RepoType, is_commit_sha, parse_repo_id, validate_revision
from hg_localization.s3.bucket import Bucket
from hg_localization.store import manifest_json
from hg_localization.store.manifest import RevisionManifest


@dataclass(frozen=True, kw_only=True)
class IndexEntry:
    """One revision in an index (the private one, or ``public_models.json``).

    A plain dataclass, not a pydantic model: every push writes one, and a sync with nothing to
    send must not pay for importing pydantic. Its JSON is byte for byte what the pydantic model
    wrote (:mod:`hg_localization.store.manifest_json`), so an unchanged entry is not rewritten.
    """

    repo_id: str
    repo_type: RepoType
    revision: str
    commit: str
    files: int
    size: int
    full: bool
    public: bool = False
    fetched_at: datetime

    @classmethod
    def from_manifest(cls, manifest: RevisionManifest) -> IndexEntry:
        return cls(
            repo_id=manifest.repo_id,
            repo_type=manifest.repo_type,
            revision=manifest.revision,
            commit=manifest.commit,
            files=len(manifest.files),
            size=manifest.total_size,
            full=manifest.full,
            public=manifest.public,
            fetched_at=manifest.fetched_at,
        )

    @classmethod
    def from_json(cls, data: bytes) -> IndexEntry:
        """An entry read from the bucket (not yet :meth:`checked`); InvalidInputError saying why not.

        As strict as the manifest's reading (:mod:`~hg_localization.store.manifest_json`): an entry
        pydantic would have coerced ("3" files) is refused, and then rebuilt from its metadata object.
        """
        raw = manifest_json.loads(data)
        fields = manifest_json.Fields(raw, "", 1)
        assert isinstance(raw, dict)  # (Fields refuses anything else)
        for key in _REQUIRED_KEYS:
            if key not in raw:
                raise InvalidInputError(f"{key}: is missing")
        fields.check_others(_ENTRY_KEYS)
        return cls(
            repo_id=fields.text("repo_id"),
            repo_type=fields.choice("repo_type", REPO_TYPES),
            revision=fields.text("revision"),
            commit=fields.text("commit"),
            files=fields.integer("files"),
            size=fields.integer("size"),
            full=fields.boolean("full", False),
            public=fields.boolean("public", False),
            fetched_at=fields.timestamp("fetched_at", lambda: datetime.now(UTC)),  # (required: never)
        )

    def checked(self) -> IndexEntry:
        """This entry, once its id, revision and commit are known to be valid (they come from a bucket)."""
        if str(parse_repo_id(self.repo_id)) != self.repo_id:
            raise InvalidInputError(f"The repository id {self.repo_id!r} is not in its canonical form.")
        validate_revision(self.revision)
        if not is_commit_sha(self.commit):
            raise InvalidInputError(f"The commit {self.commit[:80]!r} is not a 40-hex commit id.")
        return self

    def as_dict(self) -> dict[str, Any]:
        """The entry as JSON values (``fetched_at`` as ISO 8601 text), in field order."""
        data: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        data["fetched_at"] = manifest_json.datetime_text(self.fetched_at)
        return data

    def to_json(self) -> str:
        return manifest_json.dumps(self.as_dict())


_ENTRY_KEYS = frozenset(f.name for f in fields(IndexEntry))
_REQUIRED_KEYS = ("repo_id", "repo_type", "revision", "commit", "files", "size", "full", "fetched_at")


@dataclass
class Listing:
    entries: list[IndexEntry] = field(default_factory=list)
    #: What could not be read as it should, and what was done about it.
    problems: list[str] = field(default_factory=list)


def read_manifest(
    bucket: Bucket, repo_type: RepoType, repo_id: RepoId, revision: str, *, public: bool = False
) -> RevisionManifest | None:
    """The metadata object of a revision, checked; None when the revision is not (completely) there."""
    keys = bucket.location.keys
    space = keys.public if public else keys.private
    key = space.metadata_key(repo_type, repo_id, revision)
    got = bucket.get_bytes(key)
    if got is None:
        return None
    return parse_manifest(got[0], repo_type, repo_id, revision, where=f"metadata object '{key}'")


def parse_manifest(
    data: bytes, repo_type: RepoType, repo_id: RepoId, revision: str, *, where: str
) -> RevisionManifest:
    """A metadata object from outside: valid, and about the revision it was asked for."""
    try:
        manifest = RevisionManifest.from_json(data, where=where)
    except InvalidInputError as exc:
        if exc.message.startswith(f"The {where}"):
            raise
        raise InvalidInputError(f"The {where} was refused: {exc.message}") from None
    if (manifest.repo_type, manifest.repo_id, manifest.revision) != (repo_type, str(repo_id), revision):
        raise InvalidInputError(
            f"The {where} describes {manifest.repo_type} '{manifest.repo_id}' at '{manifest.revision}', "
            f"not {repo_type} '{repo_id}' at '{revision}'; it was not used."
        )
    if len({f.local_path for f in manifest.files}) != len(manifest.files):
        raise InvalidInputError(f"The {where} lists a file twice; it was not used.")
    return manifest


def entry_bytes(manifest: RevisionManifest) -> bytes:
    return IndexEntry.from_manifest(manifest).to_json().encode()


def write_entry(bucket: Bucket, manifest: RevisionManifest, *, only_if_changed: bool = True) -> bool:
    """Record the revision in the private index; True when the entry object was (re)written."""
    repo_id = parse_repo_id(manifest.repo_id)
    key = bucket.location.keys.index_entry_key(manifest.repo_type, repo_id, manifest.revision)
    data = entry_bytes(manifest)
    sha256 = hashlib.sha256(data).hexdigest()
    if only_if_changed:
        current = bucket.head(key)
        if current is not None and current.sha256 == sha256:
            return False
    bucket.put_bytes(key, data, sha256=sha256)
    return True


def list_entries(bucket: Bucket, repo_type: RepoType, *, max_workers: int = 8) -> Listing:
    """Every revision the private index lists, sorted; damaged entries rebuilt and reported."""
    keys = bucket.location.keys
    listing = Listing()
    named: list[tuple[str, RepoId, str]] = []
    for obj in bucket.list(keys.index_prefix(repo_type)):
        try:
            repo_id, revision = keys.parse_index_entry_key(repo_type, obj.key)
        except InvalidInputError as exc:
            listing.problems.append(exc.message)
            continue
        named.append((obj.key, repo_id, revision))
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="hgloc-index") as pool:
        results = list(pool.map(lambda item: _load_entry(bucket, repo_type, *item), named))
    for entry, problem in results:
        if entry is not None:
            listing.entries.append(entry)
        if problem:
            listing.problems.append(problem)
    listing.entries.sort(key=lambda e: (e.repo_id, e.revision))
    return listing


def rebuild_entries(bucket: Bucket, repo_type: RepoType) -> Listing:
    """Rewrite the private index from the metadata objects (a scan of the whole type prefix).

    Entries whose revision has no metadata object any more are deleted.
    """
    keys = bucket.location.keys
    listing = Listing()
    seen: set[str] = set()
    for obj in bucket.list(keys.private.type_prefix(repo_type)):
        try:
            named = keys.private.parse_metadata_key(repo_type, obj.key)
        except InvalidInputError as exc:
            listing.problems.append(exc.message)
            continue
        if named is None:
            continue
        try:
            manifest = read_manifest(bucket, repo_type, *named)
        except InvalidInputError as exc:  # damaged: skipped, never listed (a push of it replaces it)
            listing.problems.append(
                f"{exc.message} It was skipped; the next push of that revision replaces it."
            )
            continue
        if manifest is None:
            continue
        write_entry(bucket, manifest)
        seen.add(keys.index_entry_key(repo_type, *named))
        listing.entries.append(IndexEntry.from_manifest(manifest))
    for obj in bucket.list(keys.index_prefix(repo_type)):
        if obj.key not in seen:
            bucket.delete(obj.key)
            listing.problems.append(
                f"Removed the index entry '{obj.key}': its revision has no valid metadata object."
            )
    listing.entries.sort(key=lambda e: (e.repo_id, e.revision))
    return listing


def _load_entry(
    bucket: Bucket, repo_type: RepoType, key: str, repo_id: RepoId, revision: str
) -> tuple[IndexEntry | None, str | None]:
    got = bucket.get_bytes(key)
    if got is None:
        return None, None  # removed since the listing
    try:
        entry = IndexEntry.from_json(got[0]).checked()
        if (entry.repo_type, entry.repo_id, entry.revision) == (repo_type, str(repo_id), revision):
            return entry, None
    except (ValueError, HGLocalizationError):
        pass
    try:
        manifest = read_manifest(bucket, repo_type, repo_id, revision)
    except InvalidInputError:
        manifest = None
    if manifest is None:
        return None, (
            f"The index entry '{key}' is damaged and its revision has no valid metadata object; skipped."
        )
    rebuilt = IndexEntry.from_manifest(manifest)
    try:
        write_entry(bucket, manifest, only_if_changed=False)
    except StorageError as exc:
        return rebuilt, (
            f"The index entry '{key}' is damaged; its metadata object was read instead ({exc.message})."
        )
    return rebuilt, f"The index entry '{key}' was damaged; it was rebuilt from its metadata object."
