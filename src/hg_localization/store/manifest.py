"""The revision manifest (stored as ``.hg_localization_bucket_metadata.json``), (de)serialised.

It is the proof that a revision folder (or a bucket prefix) is complete, and the record of
what is in it: each file's repo path, stored path, size, sha256 and git blob id. It never holds
a token or any other secret.

A metadata file is read back from a disk that may be damaged, and a metadata object from a
bucket anyone on the team can write: :meth:`RevisionManifest.from_json` takes any bytes and
returns a manifest whose every value can be used as it is (an id and revision that are valid,
a 40-hex commit, paths that stay inside the folder, hex checksums), or raises
:class:`~hg_localization.errors.InvalidInputError` saying what is wrong. Nothing else escapes it
(no UnicodeDecodeError, RecursionError, TypeError, KeyError or ValueError of its own).
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from hg_localization.errors import HGLocalizationError, InvalidInputError
from hg_localization.ids import RepoType, is_commit_sha, parse_repo_id, validate_repo_path, validate_revision
from hg_localization.store.layout import METADATA_FILENAME

MANIFEST_FORMAT = 1
#: The largest file size a metadata file may record (an int64, as S3 and every filesystem have).
MAX_FILE_SIZE = 2**63 - 1
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_GIT_SHA_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})?$")


class Selection(BaseModel):
    """What a localization asked for: the card and config only, or (filtered) every file."""

    full: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    config_name: str | None = None

    def covers(self, other: Selection) -> bool:
        """True when every file ``other`` selects is also selected by ``self``."""
        if self == other:
            return True
        if not other.full and other.config_name is None:
            return True  # metadata files are part of every selection
        return self.full and not self.include and not self.exclude and self.config_name is None


class FileRecord(BaseModel):
    path: str  # the path in the repository
    local_path: str  # the path in the revision folder
    size: int = Field(ge=0, le=MAX_FILE_SIZE)
    sha256: str
    git_sha1: str
    lfs: bool = False


class RevisionManifest(BaseModel):
    """The revision manifest: one revision's proof of completeness and its record of every file.

    One concept, one name in the code. On disk it is the revision folder's
    ``.hg_localization_bucket_metadata.json`` and in the bucket the object of that name under the
    revision's prefix. The file keeps the seed's name, written before there was a store without a
    bucket, because existing stores and buckets hold it under that name and other tools look for
    it; it describes the revision whether or not any bucket is configured.
    """

    format: int = MANIFEST_FORMAT
    repo_id: str
    repo_type: RepoType
    revision: str
    commit: str
    selections: list[Selection] = Field(default_factory=list)
    files: list[FileRecord] = Field(default_factory=list)
    #: Metadata files that were asked for but that the repository does not have.
    missing: list[str] = Field(default_factory=list)
    fetched_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    source: Literal["hub", "bucket", "upload"] = "hub"
    source_url: str | None = None
    public: bool = False
    #: The upstream repo is private or gated: the store's server serves it only with a token.
    private: bool = False
    card_data: dict[str, object] = Field(default_factory=dict)
    #: What ``revision`` was upstream when localized: a branch or a tag (None: a commit id, or unknown).
    ref_kind: Literal["branch", "tag"] | None = None

    @property
    def full(self) -> bool:
        return any(s.full for s in self.selections)

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    def covers(self, selection: Selection) -> bool:
        return any(s.covers(selection) for s in self.selections)

    def file(self, path: str) -> FileRecord | None:
        return next((f for f in self.files if f.path == path), None)

    def local_file(self, local_path: str) -> FileRecord | None:
        return next((f for f in self.files if f.local_path == local_path), None)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str | bytes, *, where: str = "metadata file") -> RevisionManifest:
        """The manifest ``text`` holds, checked; InvalidInputError for anything else whatever it is.

        ``where`` names the file or object in the message (``The <where> is not valid: …``).
        """
        try:
            manifest = cls.model_validate_json(text)
        except (ValueError, TypeError, RecursionError, UnicodeError) as exc:
            # ValidationError is a ValueError; pydantic parses with a depth limit of its own, and
            # refuses bytes that are not UTF-8 and strings with lone surrogates.
            raise InvalidInputError(f"The {where} is not valid: {_reason(exc)}") from None
        try:
            _check_values(manifest)
        except HGLocalizationError as exc:
            raise InvalidInputError(f"The {where} is not valid: {exc.message}") from None
        return manifest


# The checks below are pure functions of a string, and a store's metadata files repeat the same
# ids, revisions and paths (README.md, config.json...): listing 10,000 models checks each once.
_canonical_id = functools.lru_cache(maxsize=4096)(lambda value: str(parse_repo_id(value)))
_valid_revision = functools.lru_cache(maxsize=4096)(validate_revision)
_valid_path = functools.lru_cache(maxsize=16384)(validate_repo_path)


def _check_values(manifest: RevisionManifest) -> None:
    """Values a well-formed file may still get wrong; each is used as a path, a key or a header."""
    if _canonical_id(manifest.repo_id) != manifest.repo_id:
        raise InvalidInputError(f"the repository id {manifest.repo_id!r} is not in its canonical form")
    _valid_revision(manifest.revision)
    if not is_commit_sha(manifest.commit):
        raise InvalidInputError(f"the commit {manifest.commit[:80]!r} is not a 40-hex commit id")
    seen: set[str] = set()
    for record in manifest.files:  # a manifest from a bucket is outside input: check its paths
        _valid_path(record.path)
        _valid_path(record.local_path)
        if record.local_path == METADATA_FILENAME or record.local_path in seen:
            raise InvalidInputError(f"the file {record.local_path!r} is listed twice or has a reserved name")
        seen.add(record.local_path)
        if not _SHA256_RE.match(record.sha256) or not _GIT_SHA_RE.match(record.git_sha1):
            raise InvalidInputError(f"the checksums of {record.path!r} are not hex digests")


def _reason(exc: BaseException) -> str:
    """One line saying what is wrong (where pydantic says it: the field and the problem, no input)."""
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_url=False, include_input=False)
        if errors:
            first = errors[0]
            field = ".".join(str(part) for part in first.get("loc", ()))
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            return f"{field + ': ' if field else ''}{first.get('msg', 'invalid')}{more}"
    if isinstance(exc, RecursionError):
        return "it is nested too deeply"
    text = str(exc).splitlines()
    return text[0] if text else type(exc).__name__
