"""The lock file (``hg-localization.lock``, beside the manifest): every entry pinned to a commit.

JSON, sorted, with no timestamps, so that it diffs well in version control::

    {
      "format": 1,
      "entries": [
        {"collection": "core", "repo_type": "model", "repo_id": "acme/tiny", "revision": "main",
         "commit": "<40 hex>", "full": true, "include": ["*.json"], "exclude": [], "name": null,
         "files": [{"path": "config.json", "size": 123, "sha256": "<64 hex>"}, …]},
        …
      ]
    }

An entry's ``files`` are the files the entry selects (not every file of the repo). ``sync
--locked`` localizes exactly ``commit`` and checks every listed file's sha256; ``bundle export
--since OLD.lock`` leaves out every file whose sha256 an old lock lists. A lock read back is
checked like a metadata file: valid ids, revisions and paths, 40-hex commits, hex checksums.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from hg_localization.collections.manifest import LOCK_FILENAME, CollectionsManifest, Entry, read_capped
from hg_localization.collections.selection import select_stored
from hg_localization.errors import HGLocalizationError, InvalidInputError
from hg_localization.ids import RepoType, is_commit_sha, parse_repo_id, validate_repo_path, validate_revision
from hg_localization.store.atomic import atomic_write_text
from hg_localization.store.local_store import StoredRevision
from hg_localization.store.manifest import MAX_FILE_SIZE

LOCK_FORMAT = 1
#: A lock larger than this is refused unread.
MAX_LOCK_BYTES = 256 * 1024 * 1024
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_REWRITE = "Delete it and write it again with: hg-localization lock"


class LockedFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    size: int = Field(ge=0, le=MAX_FILE_SIZE)
    sha256: str


class LockedEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    collection: str
    repo_type: RepoType
    repo_id: str
    revision: str
    commit: str
    full: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    name: str | None = None
    files: list[LockedFile] = Field(default_factory=list)

    @property
    def key(self) -> tuple[str, RepoType, str, str]:
        return (self.collection, self.repo_type, self.repo_id, self.revision)

    @property
    def label(self) -> str:
        return f"{self.repo_id}@{self.revision}"

    def matches(self, entry: Entry) -> bool:
        """True when the manifest still asks for what was locked (same selection)."""
        return (entry.full, entry.include, entry.exclude, entry.name) == (
            self.full,
            self.include,
            self.exclude,
            self.name,
        )


class LockFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: int = LOCK_FORMAT
    entries: list[LockedEntry] = Field(default_factory=list)

    def find(self, collection: str, entry: Entry) -> LockedEntry | None:
        key = (collection, entry.repo_type, entry.repo_id, entry.revision)
        return next((locked for locked in self.entries if locked.key == key), None)

    def sha256s(self) -> set[str]:
        """Every file content this lock names (what a site that has it already holds)."""
        return {f.sha256 for locked in self.entries for f in locked.files}

    def updated(self, new: Iterable[LockedEntry], manifest: CollectionsManifest) -> LockFile:
        """This lock with ``new`` entries in place of theirs; entries the manifest dropped go."""
        wanted = {
            (collection.name, *entry.key)
            for collection in manifest.collections
            for entry in collection.entries
        }
        by_key = {locked.key: locked for locked in self.entries if locked.key in wanted}
        by_key.update({locked.key: locked for locked in new})
        return LockFile(entries=[by_key[key] for key in sorted(by_key)])

    def to_text(self) -> str:
        return self.model_dump_json(indent=2) + "\n"

    @classmethod
    def from_text(cls, text: str | bytes, *, where: str) -> LockFile:
        """A lock read back, every value checked; InvalidInputError naming ``where`` otherwise."""
        try:
            lock = cls.model_validate_json(text)
        except (ValueError, TypeError, RecursionError, UnicodeError) as exc:
            first = str(exc).splitlines()[:3]
            raise InvalidInputError(
                f"The lock file {where} is not valid: {' '.join(first)}",
                hint=_REWRITE,
            ) from None
        try:
            _check(lock)
        except HGLocalizationError as exc:
            raise InvalidInputError(
                f"The lock file {where} is not valid: {exc.message}",
                hint=_REWRITE,
            ) from None
        return lock


def _check(lock: LockFile) -> None:
    if lock.format != LOCK_FORMAT:
        raise InvalidInputError(f"its format {lock.format} is not {LOCK_FORMAT} (a newer hg-localization?)")
    for locked in lock.entries:
        if str(parse_repo_id(locked.repo_id)) != locked.repo_id:
            raise InvalidInputError(f"the id {locked.repo_id!r} is not in its canonical form")
        validate_revision(locked.revision)
        if not is_commit_sha(locked.commit):
            raise InvalidInputError(f"the commit of {locked.label} is not a 40-hex commit id")
        for f in locked.files:
            validate_repo_path(f.path)
            if not _SHA256_RE.match(f.sha256):
                raise InvalidInputError(f"the sha256 of {f.path!r} in {locked.label} is not a hex digest")


def read_lock(path: Path) -> LockFile:
    """The lock at ``path``; NotFoundError (saying how to write one) when there is none."""
    data = read_capped(
        path,
        MAX_LOCK_BYTES,
        what="lock file",
        missing="lock file",
        hint=f"Write one with: hg-localization lock (it is {LOCK_FILENAME}, beside the manifest).",
    )
    return LockFile.from_text(data, where=str(path))


def read_lock_if_any(path: Path) -> LockFile | None:
    return read_lock(path) if path.exists() else None


def write_lock(path: Path, lock: LockFile) -> None:
    atomic_write_text(path, lock.to_text())


def locked_entry(collection: str, entry: Entry, stored: StoredRevision) -> LockedEntry:
    """What the lock says of ``entry``, once it is localized as ``stored``."""
    files = [LockedFile(path=r.path, size=r.size, sha256=r.sha256) for r in select_stored(entry, stored)]
    return LockedEntry(
        collection=collection,
        repo_type=entry.repo_type,
        repo_id=entry.repo_id,
        revision=entry.revision,
        commit=stored.manifest.commit,
        full=entry.full,
        include=entry.include,
        exclude=entry.exclude,
        name=entry.name,
        files=sorted(files, key=lambda f: f.path),
    )
