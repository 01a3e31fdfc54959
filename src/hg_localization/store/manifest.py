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

These are plain frozen dataclasses, not pydantic models: every CLI command reads manifests, and
importing pydantic costs more than the rest of a warm run. The JSON (:mod:`.manifest_json`) is
byte for byte what the pydantic models wrote, so stores and buckets written before read the same.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar, Literal, TypedDict, Unpack

from hg_localization.errors import HGLocalizationError, InvalidInputError
from hg_localization.ids import (
    REPO_TYPES,
    RepoType,
    is_commit_sha,
    parse_repo_id,
    validate_repo_path,
    validate_revision,
)
from hg_localization.store import manifest_json
from hg_localization.store.layout import METADATA_FILENAME

MANIFEST_FORMAT = 1
#: The largest file size a metadata file may record (an int64, as S3 and every filesystem have).
MAX_FILE_SIZE = manifest_json.MAX_FILE_SIZE
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_GIT_SHA_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})?$")

Source = Literal["hub", "bucket", "upload"]
SOURCES: tuple[Source, ...] = ("hub", "bucket", "upload")
RefKind = Literal["branch", "tag"]
REF_KINDS: tuple[RefKind, ...] = ("branch", "tag")


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """What a localization asked for: the card and config only, or (filtered) every file."""

    full: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    config_name: str | None = None

    def __post_init__(self) -> None:
        # Callers may hand over lists (pydantic used to turn them into tuples): equality and
        # hashing need the tuples.
        if type(self.include) is not tuple:
            object.__setattr__(self, "include", tuple(self.include))
        if type(self.exclude) is not tuple:
            object.__setattr__(self, "exclude", tuple(self.exclude))

    def covers(self, other: Selection) -> bool:
        """True when every file ``other`` selects is also selected by ``self``."""
        if self == other:
            return True
        if not other.full and other.config_name is None:
            return True  # metadata files are part of every selection
        return self.full and not self.include and not self.exclude and self.config_name is None

    def to_dict(self) -> dict[str, object]:
        return {
            "full": self.full,
            "include": self.include,
            "exclude": self.exclude,
            "config_name": self.config_name,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class FileRecord:
    path: str  # the path in the repository
    local_path: str  # the path in the revision folder
    size: int  # 0..MAX_FILE_SIZE, checked when read
    sha256: str
    git_sha1: str
    lfs: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "local_path": self.local_path,
            "size": self.size,
            "sha256": self.sha256,
            "git_sha1": self.git_sha1,
            "lfs": self.lfs,
        }


class ManifestChanges(TypedDict, total=False):
    """The fields :meth:`RevisionManifest.replace` may change (all of them), for the type checker."""

    format: int
    repo_id: str
    repo_type: RepoType
    revision: str
    commit: str
    selections: list[Selection]
    files: list[FileRecord]
    missing: list[str]
    fetched_at: datetime
    source: Source
    source_url: str | None
    public: bool
    private: bool
    card_data: dict[str, object]
    ref_kind: RefKind | None


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class RevisionManifest:
    """The revision manifest: one revision's proof of completeness and its record of every file.

    One concept, one name in the code. On disk it is the revision folder's
    ``.hg_localization_bucket_metadata.json`` and in the bucket the object of that name under the
    revision's prefix. The file keeps the seed's name, written before there was a store without a
    bucket, because existing stores and buckets hold it under that name and other tools look for
    it; it describes the revision whether or not any bucket is configured.

    The fields are in the order the JSON has them.
    """

    #: A bundle's manifest (collections/bundle/format.py) is a pydantic model holding manifests;
    #: there, as when this was a pydantic model, keys a manifest does not know are ignored.
    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "ignore"}

    format: int = MANIFEST_FORMAT
    repo_id: str
    repo_type: RepoType
    revision: str
    commit: str
    selections: list[Selection] = field(default_factory=list)
    files: list[FileRecord] = field(default_factory=list)
    #: Metadata files that were asked for but that the repository does not have.
    missing: list[str] = field(default_factory=list)
    fetched_at: datetime = field(default_factory=_now)
    source: Source = "hub"
    source_url: str | None = None
    public: bool = False
    #: The upstream repo is private or gated: the store's server serves it only with a token.
    private: bool = False
    card_data: dict[str, object] = field(default_factory=dict)
    #: What ``revision`` was upstream when localized: a branch or a tag (None: a commit id, or unknown).
    ref_kind: RefKind | None = None

    def __post_init__(self) -> None:
        # Callers may hand over any sequence (pydantic used to make lists of them): equality and
        # the JSON need lists.
        for name in ("selections", "files", "missing"):
            if type(getattr(self, name)) is not list:
                object.__setattr__(self, name, list(getattr(self, name)))

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

    def replace(self, **changes: Unpack[ManifestChanges]) -> RevisionManifest:
        """A copy with ``changes`` (this one is frozen)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, object]:
        """The manifest as JSON values, in the file's key order (``fetched_at`` as its text)."""
        return {
            "format": self.format,
            "repo_id": self.repo_id,
            "repo_type": self.repo_type,
            "revision": self.revision,
            "commit": self.commit,
            "selections": [selection.to_dict() for selection in self.selections],
            "files": [record.to_dict() for record in self.files],
            "missing": self.missing,
            "fetched_at": manifest_json.datetime_text(self.fetched_at),
            "source": self.source,
            "source_url": self.source_url,
            "public": self.public,
            "private": self.private,
            "card_data": self.card_data,
            "ref_kind": self.ref_kind,
        }

    def to_json(self) -> str:
        return manifest_json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | bytes, *, where: str = "metadata file") -> RevisionManifest:
        """The manifest ``text`` holds, checked; InvalidInputError for anything else whatever it is.

        ``where`` names the file or object in the message (``The <where> is not valid: …``).
        """
        try:
            manifest = _manifest_of(manifest_json.loads(text))
            _check_values(manifest)
        except HGLocalizationError as exc:
            raise InvalidInputError(f"The {where} is not valid: {exc.message}") from None
        return manifest


def _manifest_of(data: object) -> RevisionManifest:
    """The manifest a parsed JSON document describes; InvalidInputError naming the first bad field."""
    fields = manifest_json.Fields(data, "", level=1)
    manifest = RevisionManifest(
        format=fields.integer("format", MANIFEST_FORMAT),
        repo_id=fields.text("repo_id"),
        repo_type=fields.choice("repo_type", REPO_TYPES),
        revision=fields.text("revision"),
        commit=fields.text("commit"),
        selections=fields.each("selections", _selection_of),
        files=fields.each("files", _record_of),
        missing=fields.texts("missing"),
        fetched_at=fields.timestamp("fetched_at", _now),
        source=fields.choice("source", SOURCES, "hub"),
        source_url=fields.optional_text("source_url"),
        public=fields.boolean("public", False),
        private=fields.boolean("private", False),
        card_data=fields.mapping("card_data"),
        ref_kind=fields.optional_choice("ref_kind", REF_KINDS),
    )
    fields.check_others(_MANIFEST_KEYS)
    return manifest


def _selection_of(data: object, where: str, index: int) -> Selection:
    if type(data) is dict and data.keys() == _SELECTION_KEYS:  # the shape this module writes
        full, include, exclude, config_name = (
            data["full"],
            data["include"],
            data["exclude"],
            data["config_name"],
        )
        if (
            type(full) is bool
            and type(include) is list
            and type(exclude) is list
            and (config_name is None or type(config_name) is str)
            and all(type(pattern) is str for pattern in include + exclude)
        ):
            return Selection(
                full=full, include=tuple(include), exclude=tuple(exclude), config_name=config_name
            )
    fields = manifest_json.Fields(data, where, level=3, index=index)
    selection = Selection(
        full=fields.boolean("full", False),
        include=tuple(fields.texts("include")),
        exclude=tuple(fields.texts("exclude")),
        config_name=fields.optional_text("config_name"),
    )
    fields.check_others(_SELECTION_KEYS)
    return selection


def _record_of(data: object, where: str, index: int) -> FileRecord:
    # A manifest lists up to thousands of files, each in the shape this module writes: take that
    # shape in one go, and leave anything else to the field by field reading that says what is wrong.
    if type(data) is dict and data.keys() == _RECORD_KEYS:
        path, local_path, size = data["path"], data["local_path"], data["size"]
        sha256, git_sha1, lfs = data["sha256"], data["git_sha1"], data["lfs"]
        if (
            type(path) is str
            and type(local_path) is str
            and type(size) is int
            and 0 <= size <= MAX_FILE_SIZE
            and type(sha256) is str
            and type(git_sha1) is str
            and type(lfs) is bool
        ):
            return FileRecord(
                path=path, local_path=local_path, size=size, sha256=sha256, git_sha1=git_sha1, lfs=lfs
            )
    fields = manifest_json.Fields(data, where, level=3, index=index)
    record = FileRecord(
        path=fields.text("path"),
        local_path=fields.text("local_path"),
        size=fields.size("size"),
        sha256=fields.text("sha256"),
        git_sha1=fields.text("git_sha1"),
        lfs=fields.boolean("lfs", False),
    )
    fields.check_others(_RECORD_KEYS)
    return record


_MANIFEST_KEYS = frozenset(item.name for item in dataclasses.fields(RevisionManifest))
_SELECTION_KEYS = frozenset(item.name for item in dataclasses.fields(Selection))
_RECORD_KEYS = frozenset(item.name for item in dataclasses.fields(FileRecord))

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
