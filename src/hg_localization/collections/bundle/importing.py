"""``bundle import``: a bundle into the store, verified whole before anything is published. No network.

::

    read bundle.json (first member), check it; with --verify-key, check its signature
    read the lock, check its sha256
    lock every revision it holds; clear each one's staging folder
    base files (an incremental bundle): found in the store by sha256, hard-linked (or copied)
        into staging and hashed again ── the store lacks one? refuse, before reading any file
    each member, in stream order: a safe name, listed in bundle.json, once, a regular file of
        the listed size ── streamed into staging, hashed on the way, sha256 and git id checked
    every listed file arrived? ── publish each revision (metadata file last, swapped into place)
    push each to the team bucket, when one is configured

Any failure before the publishing (a flipped byte, a truncated tar, a member that is not listed
or whose name would leave the store, a missing base file) drops every staging folder: nothing
is imported. The tar is read as a stream (``r|``) and never extracted by tarfile: only files
this module writes itself, under names it has checked, land anywhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hg_localization.collections.bundle.format import (
    LOCK_MEMBER,
    MANIFEST_MEMBER,
    MAX_MANIFEST_BYTES,
    MAX_SIGNATURE_BYTES,
    SIGNATURE_MEMBER,
    BundleManifest,
)
from hg_localization.collections.bundle.unpack import Unpacking
from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import IntegrityError, InvalidInputError, NotFoundError, StorageError
from hg_localization.progress import SILENT, ProgressListener
from hg_localization.store.local_store import StoredRevision
from hg_localization.usecases.localize import TeamCache
from hg_localization.usecases.repos import team_cache

_DAMAGED_HINT = "Nothing was imported. Copy the bundle again (compare its size with the original)."


@dataclass
class ImportedRevision:
    stored: StoredRevision
    #: The commit the store had for this revision before, if any.
    previous_commit: str | None
    carried_files: int
    linked_files: int
    upload_error: StorageError | None = None


@dataclass
class ImportReport:
    bundle: Path
    revisions: list[ImportedRevision]
    signed: bool
    verified: bool
    lock_text: str
    warnings: list[str] = field(default_factory=list)

    @property
    def upload_errors(self) -> list[ImportedRevision]:
        return [r for r in self.revisions if r.upload_error is not None]


@dataclass(frozen=True)
class _Head:
    manifest: BundleManifest
    signature: bytes | None
    lock_text: str


def import_bundle(
    config: HGLocalizationConfig,
    bundle: Path,
    *,
    verify_key: Path | None = None,
    progress: ProgressListener = SILENT,
) -> ImportReport:
    """Verify ``bundle`` whole, then publish its revisions into the store (and push them)."""
    bucket = team_cache(config)  # a bad bucket setting is refused before anything is read
    where = str(bundle)
    try:
        with _open(bundle) as tar:
            members = iter(tar)
            head = _read_head(tar, members, where, verify_key)
            with Unpacking(config, head.manifest, where) as unpacking:
                unpacking.adopt_base_files()
                for member in members:
                    unpacking.receive(tar, member, progress)
                unpacking.check_complete()
                revisions = [ImportedRevision(*published) for published in unpacking.publish()]
                if bucket is not None:  # under the revisions' locks, as a download's push is
                    _push(bucket, revisions, progress)
    except (tarfile.TarError, EOFError) as exc:
        raise InvalidInputError(f"{where} is damaged or truncated ({exc}).", hint=_DAMAGED_HINT) from None
    warnings = []
    if head.signature is not None and verify_key is None:
        warnings.append(
            f"{where} is signed, but it was not verified: pass --verify-key PUBLIC_KEY to check it."
        )
    return ImportReport(
        bundle=bundle,
        revisions=revisions,
        signed=head.signature is not None,
        verified=verify_key is not None,
        lock_text=head.lock_text,
        warnings=warnings,
    )


@contextlib.contextmanager
def _open(bundle: Path) -> Iterator[tarfile.TarFile]:
    try:
        handle = bundle.open("rb")
    except (FileNotFoundError, NotADirectoryError):
        raise NotFoundError(f"There is no bundle at {bundle}.", hint="Check the path.") from None
    with handle, tarfile.open(fileobj=handle, mode="r|") as tar:
        yield tar


def _read_head(
    tar: tarfile.TarFile, members: Iterator[tarfile.TarInfo], where: str, verify_key: Path | None
) -> _Head:
    """bundle.json (checked, and its signature), then the lock (checked against bundle.json)."""
    first = next(members, None)
    if first is None or first.name != MANIFEST_MEMBER:
        raise InvalidInputError(
            f"{where} is not an hg-localization bundle: it does not begin with {MANIFEST_MEMBER}.",
            hint=_DAMAGED_HINT,
        )
    data = _read_small(tar, first, MAX_MANIFEST_BYTES, where)
    manifest = BundleManifest.from_bytes(data, where=where)
    member = next(members, None)
    signature = None
    if member is not None and member.name == SIGNATURE_MEMBER:
        signature = _read_small(tar, member, MAX_SIGNATURE_BYTES, where)
        member = next(members, None)
    if verify_key is not None:
        from hg_localization.collections.bundle.signing import verify

        verify(data, signature, verify_key, where=where)
    if member is None or member.name != LOCK_MEMBER:
        raise InvalidInputError(
            f"{where} has no {LOCK_MEMBER} after its {MANIFEST_MEMBER}.", hint=_DAMAGED_HINT
        )
    lock = _read_small(tar, member, MAX_MANIFEST_BYTES, where)
    actual = hashlib.sha256(lock).hexdigest()
    if actual != manifest.lock_sha256 or len(lock) != manifest.lock_size:
        error = IntegrityError(f"{where}: {LOCK_MEMBER}", manifest.lock_sha256, actual)
        error.hint = _DAMAGED_HINT
        raise error
    return _Head(manifest, signature, lock.decode("utf-8", errors="replace"))


def _read_small(tar: tarfile.TarFile, member: tarfile.TarInfo, limit: int, where: str) -> bytes:
    if not member.isreg() or member.size > limit:
        raise InvalidInputError(
            f"{where}: its {member.name} is not a regular file of at most {limit} bytes.", hint=_DAMAGED_HINT
        )
    stream = tar.extractfile(member)
    data = stream.read() if stream is not None else b""
    if len(data) != member.size:
        raise InvalidInputError(f"{where} is truncated (in {member.name}).", hint=_DAMAGED_HINT)
    return data


def _push(bucket: TeamCache, revisions: list[ImportedRevision], progress: ProgressListener) -> None:
    for imported in revisions:
        try:
            bucket.push(imported.stored, make_public=False, progress=progress)
        except StorageError as exc:
            imported.upload_error = exc
