"""An offline bundle: one uncompressed tar (POSIX pax), written and read front to back.

::

    bundle.json                   the bundle's manifest (always first): every revision, its
                                  metadata file (each file's size, sha256, git blob id), and
                                  which of its files are carried; the lock's size and sha256
    bundle.sig                    optional: ed25519 signature of bundle.json's bytes
    hg-localization.lock          the lock of the exported entries
    files/<type>s/<namespace>/<name>/<revision folder>/<stored path>     each carried file

A file the bundle does not carry (an incremental bundle, ``--since OLD.lock``) is one the
importing store must already have: it is found there by sha256. Nothing else may be in the tar:
a reader refuses any other member, a member listed twice or not at all, and anything but a
regular file. Every name is checked (:func:`hg_localization.ids.validate_repo_path`) before it
is looked up, so ``../`` and absolute names are refused as such.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hg_localization.errors import HGLocalizationError, InvalidInputError
from hg_localization.ids import RepoType, parse_repo_id, revision_folder
from hg_localization.store.layout import reserved_name_check
from hg_localization.store.manifest import FileRecord, RevisionManifest

BUNDLE_FORMAT = 1
BUNDLE_KIND: Literal["hg-localization-bundle"] = "hg-localization-bundle"
MANIFEST_MEMBER = "bundle.json"
SIGNATURE_MEMBER = "bundle.sig"
LOCK_MEMBER = "hg-localization.lock"
FILES_FOLDER = "files"
#: bundle.json and the lock are read into memory: larger ones are refused unread.
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
MAX_SIGNATURE_BYTES = 1024


class BundledRevision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: The revision's metadata file as the importing store will have it.
    metadata: RevisionManifest
    #: Stored paths of the files in the tar; every other file comes from the importing store.
    carried: list[str] = Field(default_factory=list)

    @property
    def key(self) -> tuple[RepoType, str, str]:
        return (self.metadata.repo_type, self.metadata.repo_id, self.metadata.revision)

    @property
    def label(self) -> str:
        return f"{self.metadata.repo_id}@{self.metadata.revision}"

    def base_files(self) -> list[FileRecord]:
        """The files the importing store must already have."""
        carried = set(self.carried)
        return [record for record in self.metadata.files if record.local_path not in carried]


class BundleManifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: int = BUNDLE_FORMAT
    kind: Literal["hg-localization-bundle"] = BUNDLE_KIND
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    #: True when some files are left out (the importing store must have them).
    incremental: bool = False
    lock_size: int = Field(ge=0)
    lock_sha256: str
    revisions: list[BundledRevision] = Field(default_factory=list)

    def to_bytes(self) -> bytes:
        return json.dumps(self.model_dump(mode="json"), indent=1, sort_keys=True).encode("utf-8")

    def members(self) -> dict[str, tuple[int, FileRecord]]:
        """Every carried file's member name, with its revision (an index) and its record."""
        found: dict[str, tuple[int, FileRecord]] = {}
        for index, bundled in enumerate(self.revisions):
            by_local = {record.local_path: record for record in bundled.metadata.files}
            for local_path in bundled.carried:
                record = by_local[local_path]
                found[member_name(bundled.metadata, local_path)] = (index, record)
        return found

    @classmethod
    def from_bytes(cls, data: bytes, *, where: str) -> BundleManifest:
        """bundle.json read back, every value checked; InvalidInputError naming ``where`` otherwise."""
        try:
            manifest = cls.model_validate_json(data)
        except (ValueError, TypeError, RecursionError, UnicodeError) as exc:
            first = " ".join(str(exc).splitlines()[:3])
            raise InvalidInputError(
                f"{where}: its bundle.json is not valid: {first}", hint=_NOT_A_BUNDLE
            ) from None
        try:
            _check(manifest)
        except HGLocalizationError as exc:
            raise InvalidInputError(
                f"{where}: its bundle.json is not valid: {exc.message}", hint=_NOT_A_BUNDLE
            ) from None
        return manifest


_NOT_A_BUNDLE = "Nothing was imported. Export the bundle again (hg-localization bundle export)."


def _check(manifest: BundleManifest) -> None:
    if manifest.format != BUNDLE_FORMAT:
        raise InvalidInputError(
            f"its format {manifest.format} is not {BUNDLE_FORMAT} (a newer hg-localization?)"
        )
    if len(manifest.lock_sha256) != 64:
        raise InvalidInputError("the lock's sha256 is not a hex digest")
    seen: set[tuple[RepoType, str, str]] = set()
    for bundled in manifest.revisions:
        # The same checks as a metadata file read from a bucket: ids, revision, paths, checksums.
        checked = RevisionManifest.from_json(bundled.metadata.to_json(), where=f"metadata of {bundled.label}")
        for record in checked.files:
            reserved_name_check(record.local_path, checked.repo_id)
        if bundled.key in seen:
            raise InvalidInputError(f"{bundled.label} is in it twice")
        seen.add(bundled.key)
        local_paths = {record.local_path for record in checked.files}
        if len(set(bundled.carried)) != len(bundled.carried) or not set(bundled.carried) <= local_paths:
            raise InvalidInputError(f"the files carried for {bundled.label} are not files of that revision")


def member_name(metadata: RevisionManifest, local_path: str) -> str:
    """Where a stored file of ``metadata``'s revision is in the tar."""
    namespace, name = parse_repo_id(metadata.repo_id).folder_parts
    folder = revision_folder(metadata.revision)
    return f"{FILES_FOLDER}/{metadata.repo_type}s/{namespace}/{name}/{folder}/{local_path}"
