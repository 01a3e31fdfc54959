"""The revisions of one bundle being unpacked: locked, staged, checked, then published.

Files land only in the store's own staging folders (:meth:`LocalStore.open_staging`), under
stored paths that bundle.json's checks and :func:`~hg_localization.store.staging.inside`
keep inside them; :meth:`LocalStore.publish` then makes each revision appear whole. Leaving the
``with`` block by an exception drops every staging folder: nothing of the bundle stays.
"""

from __future__ import annotations

import os
import tarfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from hg_localization.collections.bundle.format import BundledRevision, BundleManifest
from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import HGLocalizationError, IntegrityError, InvalidInputError, NotFoundError
from hg_localization.ids import REPO_TYPES, RepoId, parse_repo_id, validate_repo_path
from hg_localization.integrity.hashing import CHUNK_SIZE, Digest, StreamHasher, hash_file
from hg_localization.progress import ProgressListener
from hg_localization.store.atomic import remove_tree
from hg_localization.store.local_store import LocalStore, StoredRevision
from hg_localization.store.manifest import FileRecord
from hg_localization.store.staging import ContentIndex, Staging
from hg_localization.usecases.repos import local_store

_HINT = "Nothing was imported. Copy the bundle again, or export it again at the source."


@dataclass
class _Slot:
    """One revision of the bundle: its store, its staging folder, what has arrived."""

    bundled: BundledRevision
    store: LocalStore
    repo_id: RepoId
    staging: Staging
    carried: int = 0
    linked: int = 0


class Unpacking:
    def __init__(self, config: HGLocalizationConfig, manifest: BundleManifest, where: str) -> None:
        self._stores = {repo_type: local_store(config, repo_type) for repo_type in REPO_TYPES}
        self._manifest = manifest
        self._where = where
        self._expected = manifest.members()
        self._seen: set[str] = set()
        self._slots: list[_Slot] = []
        self._stack = ExitStack()

    def __enter__(self) -> Unpacking:
        try:
            for bundled in self._manifest.revisions:
                store = self._stores[bundled.metadata.repo_type]
                repo_id = parse_repo_id(bundled.metadata.repo_id)
                self._stack.enter_context(store.lock(repo_id, bundled.metadata.revision))
                staging = store.open_staging(repo_id, bundled.metadata.revision)
                remove_tree(staging.path)  # what a download left to resume is not the bundle's
                self._slots.append(_Slot(bundled, store, repo_id, staging))
                staging.path.mkdir(parents=True, exist_ok=True)
        except BaseException:
            self._abandon()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self._abandon()
        else:
            self._stack.close()

    def _abandon(self) -> None:
        for slot in self._slots:
            slot.store.abandon(slot.staging)
        self._stack.close()

    # --- files ---------------------------------------------------------------------------------
    def adopt_base_files(self) -> None:
        """Files an incremental bundle leaves out: from the store, found by sha256, hashed again."""
        needed = [(slot, record) for slot in self._slots for record in slot.bundled.base_files()]
        if not needed:
            return
        indexes = {repo_type: _content_index(store) for repo_type, store in self._stores.items()}
        found: list[tuple[_Slot, FileRecord, Path]] = []
        lacking: list[tuple[_Slot, FileRecord]] = []
        for slot, record in needed:
            hit = indexes[slot.bundled.metadata.repo_type].find(record.size, sha256=record.sha256)
            if hit is None:
                lacking.append((slot, record))
            else:
                found.append((slot, record, hit[0]))
        if lacking:
            raise _lacking_base_files(self._where, len(needed), lacking)
        for slot, record, source in found:
            slot.staging.adopt(record.local_path, source)
            digest = hash_file(slot.staging.final_path(record.local_path))
            if digest.sha256 != record.sha256:
                error = IntegrityError(str(source), record.sha256, digest.sha256)
                error.hint = "The store's copy of a file the bundle builds on is damaged. " + _HINT
                raise error
            slot.linked += 1

    def receive(self, tar: tarfile.TarFile, member: tarfile.TarInfo, progress: ProgressListener) -> None:
        """One member of the tar: checked, then streamed into its staging folder and verified."""
        index, record = self._check_member(member)
        slot = self._slots[index]
        target = slot.staging.final_path(record.local_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        stream = tar.extractfile(member)
        if stream is None:  # pragma: no cover - a regular file always has a stream
            raise InvalidInputError(f"{self._where}: {member.name} cannot be read.", hint=_HINT)
        progress.file_started(member.name, record.size)
        try:
            digest = _copy(stream, target, record.size, member.name, progress)
        finally:
            progress.file_finished(member.name)
        if digest.size != record.size:
            raise InvalidInputError(f"{self._where} is truncated (in {member.name}).", hint=_HINT)
        if digest.sha256 != record.sha256 or (record.git_sha1 and digest.git_sha1 != record.git_sha1):
            error = IntegrityError(f"{self._where}: {member.name}", record.sha256, digest.sha256)
            error.hint = _HINT
            raise error
        self._seen.add(member.name)
        slot.carried += 1

    def _check_member(self, member: tarfile.TarInfo) -> tuple[int, FileRecord]:
        name = member.name
        try:
            validate_repo_path(name)
        except HGLocalizationError:
            raise InvalidInputError(
                f"{self._where} has a member {name[:200]!r} whose name would leave the store; "
                "it was refused.",
                hint="Nothing was imported. The bundle was not made by hg-localization, "
                "or was tampered with.",
            ) from None
        expected = self._expected.get(name)
        if expected is None or not member.isreg():
            what = "is not a regular file" if expected is not None else "is not listed in its bundle.json"
            raise InvalidInputError(f"{self._where}: its member {name!r} {what}.", hint=_HINT)
        if name in self._seen:
            raise InvalidInputError(f"{self._where}: its member {name!r} is in it twice.", hint=_HINT)
        if member.size != expected[1].size:
            raise InvalidInputError(
                f"{self._where}: its member {name!r} has {member.size} bytes; "
                f"bundle.json says {expected[1].size}.",
                hint=_HINT,
            )
        return expected

    def check_complete(self) -> None:
        missing = sorted(set(self._expected) - self._seen)
        if missing:
            raise InvalidInputError(
                f"{self._where} lacks {len(missing)} of the files its bundle.json lists "
                f"(e.g. {missing[0]!r}): it is truncated or was changed.",
                hint=_HINT,
            )

    # --- publishing ----------------------------------------------------------------------------
    def publish(self) -> list[tuple[StoredRevision, str | None, int, int]]:
        """Every revision swapped into place: (stored, the commit it replaced, carried, linked)."""
        published = []
        for slot in self._slots:
            # A bundle cannot make anything public at this site: sharing is this site's own choice.
            metadata = slot.bundled.metadata.replace(public=False)
            previous = slot.store.get(slot.repo_id, metadata.revision)
            stored = slot.store.publish(slot.staging, metadata)
            published.append(
                (stored, previous.manifest.commit if previous else None, slot.carried, slot.linked)
            )
        return published


def _copy(stream: IO[bytes], target: Path, size: int, name: str, progress: ProgressListener) -> Digest:
    hasher = StreamHasher(size)
    with target.open("wb") as out:
        while chunk := stream.read(CHUNK_SIZE):
            hasher.update(chunk)
            out.write(chunk)
            progress.file_advanced(name, len(chunk))
        out.flush()
        os.fsync(out.fileno())
    return hasher.digest()


def _content_index(store: LocalStore) -> ContentIndex:
    """Every verified file of every complete revision of this store, by content."""
    index = ContentIndex()
    for stored in store.iter_revisions():
        for record in stored.manifest.files:
            index.add(stored.file_path(record.local_path), record)
    return index


def _lacking_base_files(where: str, needed: int, lacking: list[tuple[_Slot, FileRecord]]) -> NotFoundError:
    slot, record = lacking[0]
    return NotFoundError(
        f"{where} is incremental: it leaves out {needed} files it expects this store to have, and the "
        f"store lacks {len(lacking)} of them (e.g. '{record.path}' of {slot.bundled.label}).",
        hint="Nothing was imported. Import the bundle it builds on first, or ask for a full bundle "
        "(exported without --since).",
    )
