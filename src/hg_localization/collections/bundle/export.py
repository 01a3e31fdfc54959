"""``bundle export``: the collections' localized revisions, from the store, into one streamed tar.

Which revision of an entry: the one the lock pins (found in the store by commit, wherever
``sync`` or ``sync --locked`` put it), else the store's copy of the entry's revision. Nothing is
fetched: an entry the store lacks is refused, saying how to localize it. In the bundle each
revision is named as the manifest names it (``main``), so the far site serves it under that name.

The tar is written front to back to a hidden file beside ``--output`` (renamed into place when
complete): no temporary copy of anything, and each file is hashed as it is copied in; a stored
file that no longer matches its metadata file stops the export (nothing is left behind).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from hg_localization.collections.bundle.format import (
    LOCK_MEMBER,
    MANIFEST_MEMBER,
    SIGNATURE_MEMBER,
    BundledRevision,
    BundleManifest,
    member_name,
)
from hg_localization.collections.lock import LockedEntry, LockFile, locked_entry, read_lock, read_lock_if_any
from hg_localization.collections.manifest import Collection, CollectionsManifest, Entry
from hg_localization.collections.selection import covers_entry
from hg_localization.collections.sync import check_locked_files
from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import IntegrityError, InvalidInputError, LocalFileError, NotFoundError
from hg_localization.ids import RepoType, parse_repo_id
from hg_localization.integrity.hashing import CHUNK_SIZE, StreamHasher
from hg_localization.progress import SILENT, ProgressListener
from hg_localization.store.local_store import LocalStore, StoredRevision
from hg_localization.store.manifest import FileRecord
from hg_localization.usecases.repos import local_store


@dataclass
class _Source:
    """One revision to bundle: where it is in the store, and how the bundle names it."""

    store: LocalStore
    stored: StoredRevision
    bundled: BundledRevision
    pinned: list[LockedEntry] = field(default_factory=list)


@dataclass(frozen=True)
class ExportReport:
    output: Path
    revisions: list[BundledRevision]
    carried_files: int
    carried_bytes: int
    left_out_files: int
    signed: bool
    lock: LockFile


def export_bundle(
    config: HGLocalizationConfig,
    manifest: CollectionsManifest,
    output: Path,
    names: Sequence[str] = (),
    *,
    since: Path | None = None,
    sign_key: Path | None = None,
    progress: ProgressListener = SILENT,
) -> ExportReport:
    """Write the named collections' revisions (all collections when none is named) to ``output``.

    ``since``: an older lock; files whose sha256 it lists are left out (an incremental bundle).
    ``sign_key``: an ed25519 private key (PEM) that signs the bundle's manifest.
    """
    base = read_lock(since).sha256s() if since is not None else set()
    sources = _sources(config, manifest.select(names), read_lock_if_any(manifest.lock_path))
    for source in sources:
        files = source.bundled.metadata.files
        source.bundled.carried = [r.local_path for r in files if r.sha256 not in base]
    lock = LockFile(entries=sorted((p for s in sources for p in s.pinned), key=lambda p: p.key))
    lock_bytes = lock.to_text().encode("utf-8")
    bundle = BundleManifest(
        incremental=any(s.bundled.base_files() for s in sources),
        lock_size=len(lock_bytes),
        lock_sha256=hashlib.sha256(lock_bytes).hexdigest(),
        revisions=[s.bundled for s in sources],
    )
    data = bundle.to_bytes()
    signature = None
    if sign_key is not None:
        from hg_localization.collections.bundle.signing import sign

        signature = sign(data, sign_key)
    _write(output, data, signature, lock_bytes, sources, progress)
    carried = [r for s in sources for r in s.bundled.metadata.files if r.local_path in set(s.bundled.carried)]
    return ExportReport(
        output=output,
        revisions=bundle.revisions,
        carried_files=len(carried),
        carried_bytes=sum(r.size for r in carried),
        left_out_files=sum(len(s.bundled.base_files()) for s in sources),
        signed=signature is not None,
        lock=lock,
    )


def _sources(
    config: HGLocalizationConfig, collections: Sequence[Collection], lock: LockFile | None
) -> list[_Source]:
    """Every revision to bundle, once, with the lock entries that pin it."""
    by_key: dict[tuple[RepoType, str, str], _Source] = {}
    for collection in collections:
        for entry in collection.entries:
            store = local_store(config, entry.repo_type)
            stored, pinned = _stored_for(store, collection.name, entry, lock)
            source = by_key.get(entry.key)
            if source is None:
                metadata = stored.manifest.replace(
                    revision=entry.revision,
                    public=False,
                    ref_kind=stored.manifest.ref_kind if stored.manifest.revision == entry.revision else None,
                )
                source = by_key[entry.key] = _Source(store, stored, BundledRevision(metadata=metadata))
            elif source.stored.manifest.commit != stored.manifest.commit:
                raise InvalidInputError(
                    f"Two collections want {entry.repo_type} {entry.label} at different commits "
                    f"({source.stored.manifest.commit[:12]} and {stored.manifest.commit[:12]}).",
                    hint="Export them in separate bundles (--collection), or lock them again.",
                )
            source.pinned.append(pinned)
    return [by_key[key] for key in sorted(by_key)]


def _stored_for(
    store: LocalStore, collection: str, entry: Entry, lock: LockFile | None
) -> tuple[StoredRevision, LockedEntry]:
    """The stored revision of ``entry`` to bundle (the locked commit when the lock pins it)."""
    repo_id = parse_repo_id(entry.repo_id)
    locked = lock.find(collection, entry) if lock is not None else None
    what = f"The {entry.repo_type} {entry.label} (collection {collection})"
    if locked is not None and locked.matches(entry):
        stored = store.get(repo_id, entry.revision)
        if stored is None or stored.manifest.commit != locked.commit:
            stored = store.find_by_commit(repo_id, locked.commit)
        if stored is None:
            raise NotFoundError(
                f"{what} is not in the local store at the locked commit {locked.commit[:12]}.",
                hint="Localize the locked commits first: hg-localization sync --locked",
            )
        check_locked_files(locked, stored)
        return stored, locked
    stored = store.get(repo_id, entry.revision)
    if stored is None or not covers_entry(entry, stored):
        partly = "" if stored is None else " with every file it selects"
        raise NotFoundError(
            f"{what} is not in the local store{partly}.", hint="Localize it first: hg-localization sync"
        )
    return stored, locked_entry(collection, entry, stored)


def _write(
    output: Path,
    manifest: bytes,
    signature: bytes | None,
    lock: bytes,
    sources: Sequence[_Source],
    progress: ProgressListener,
) -> None:
    partial = output.with_name(f".{output.name}.partial")
    try:
        with partial.open("wb") as raw:
            with tarfile.open(fileobj=raw, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                _add_bytes(tar, MANIFEST_MEMBER, manifest)
                if signature is not None:
                    _add_bytes(tar, SIGNATURE_MEMBER, signature)
                _add_bytes(tar, LOCK_MEMBER, lock)
                for source in sources:
                    _add_revision(tar, source, progress)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, output)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise LocalFileError.from_os_error(exc, action="write the bundle") from None
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    tar.addfile(_tar_info(name, len(data)), io.BytesIO(data))


def _add_revision(tar: tarfile.TarFile, source: _Source, progress: ProgressListener) -> None:
    stored = source.stored
    carried = set(source.bundled.carried)
    with source.store.lock(parse_repo_id(stored.manifest.repo_id), stored.manifest.revision):
        for record in stored.manifest.files:
            if record.local_path in carried:
                name = member_name(source.bundled.metadata, record.local_path)
                _add_file(tar, name, stored.file_path(record.local_path), record, progress)


def _add_file(
    tar: tarfile.TarFile, name: str, path: Path, record: FileRecord, progress: ProgressListener
) -> None:
    with path.open("rb") as handle:
        on_disk = os.fstat(handle.fileno()).st_size
        if on_disk != record.size:
            raise _damaged(path, f"{record.size} bytes", f"{on_disk} bytes", "size")
        reader = _HashingReader(handle, name, progress)
        progress.file_started(name, record.size)
        try:
            tar.addfile(_tar_info(name, record.size), reader)
        finally:
            progress.file_finished(name)
    actual = reader.hasher.digest().sha256
    if actual != record.sha256:
        raise _damaged(path, record.sha256, actual, "sha256")


def _damaged(path: Path, expected: str, actual: str, algorithm: str) -> IntegrityError:
    error = IntegrityError(str(path), expected, actual, algorithm=algorithm)
    error.hint = (
        "The store's copy is damaged; nothing was exported. Localize it again with --force, then export."
    )
    return error


def _tar_info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = 0  # what a file is, is its sha256: no times of the exporting machine
    return info


class _HashingReader:
    """A file read by tarfile, hashed (and reported) on the way."""

    def __init__(self, handle: BinaryIO, name: str, progress: ProgressListener) -> None:
        self._handle = handle
        self._name = name
        self._progress = progress
        self.hasher = StreamHasher()

    def read(self, size: int = CHUNK_SIZE) -> bytes:
        chunk = self._handle.read(size)
        self.hasher.update(chunk)
        if chunk:
            self._progress.file_advanced(self._name, len(chunk))
        return chunk
