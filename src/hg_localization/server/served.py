"""What the server serves, whatever it comes from: a repo, its revisions, their files. Pure data.

Every source (a folder of repos, the local store, the bucket, an upstream pulled through) answers
with these; the Hub API and the catalog read nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from starlette.responses import Response

from hg_localization.ids import RepoType
from hg_localization.store.manifest import RevisionManifest, Selection


@dataclass(frozen=True)
class ServedFile:
    """One file: where its bytes are is the source's business (a disk path, or an object key)."""

    path: str
    #: The file on disk (None: the source has no disk copy, e.g. the bucket; see ``key``).
    disk_path: Path | None
    size: int
    git_sha1: str
    sha256: str
    lfs: bool
    #: The root the file must be opened below without following a link (None: links are followed).
    below: Path | None
    #: The object that holds the bytes, for a source without a disk copy (the bucket).
    key: str | None = None

    @property
    def etag(self) -> str:
        """What the Hub sends as ETag: the sha256 of LFS files, the git blob id of others."""
        return self.sha256 if self.lfs else self.git_sha1


@dataclass(frozen=True)
class Localized:
    """What a revision's localization recorded: the files asked for, published or not, from where.

    Filled by a source that has the record (the store's metadata file, the bucket's metadata
    object); a folder of repos has none. The catalog shows it (full / filtered / metadata only).
    """

    selections: tuple[Selection, ...]
    #: Published to the bucket's public prefix.
    public: bool
    #: Where the files came from: ``hub``, ``bucket`` or ``upload``.
    origin: str

    @classmethod
    def of(cls, manifest: RevisionManifest) -> Localized:
        return cls(tuple(manifest.selections), manifest.public, manifest.source)


@dataclass(frozen=True)
class ServedRevision:
    repo_type: RepoType
    repo_id: str
    revision: str
    commit: str
    files: tuple[ServedFile, ...]
    last_modified: datetime
    private: bool
    #: The card's front matter, when the source read it already (None: read README.md from disk).
    card: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    #: What its localization recorded (None: the source keeps no record, e.g. a folder of repos).
    localized: Localized | None = field(default=None, compare=False, repr=False)
    _by_path: dict[str, ServedFile] = field(default_factory=dict, compare=False, repr=False)
    #: Every folder of the revision, sorted: computed once per loaded revision, never per request.
    directories: tuple[str, ...] = field(init=False, default=(), compare=False, repr=False)
    _directory_set: frozenset[str] = field(init=False, default=frozenset(), compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_path.update({f.path: f for f in self.files})
        folders = {
            "/".join(parts[:depth])
            for parts in (f.path.split("/")[:-1] for f in self.files)
            for depth in range(1, len(parts) + 1)
        }
        object.__setattr__(self, "directories", tuple(sorted(folders)))
        object.__setattr__(self, "_directory_set", frozenset(folders))

    def file(self, path: str) -> ServedFile | None:
        return self._by_path.get(path)

    def is_directory(self, path: str) -> bool:
        return path in self._directory_set


@dataclass(frozen=True)
class ServedRepo:
    repo_type: RepoType
    repo_id: str
    private: bool
    default_branch: str
    revisions: tuple[str, ...]
    #: The repo's folder on disk; for the bucket, its key prefix (never opened: no disk source's).
    path: Path
    tags: tuple[str, ...] = ()


@runtime_checkable
class ObjectReader(Protocol):
    """A source whose files have no disk copy (``ServedFile.key``) reads a small one's bytes here."""

    def read_bytes(self, served: ServedFile, limit: int) -> bytes | None:
        """At most ``limit`` bytes of ``served`` (None: it cannot be read now, or is not as recorded)."""


class Source(Protocol):
    """Where served repos come from. Lookups raise the project's ``NotFoundError`` kinds."""

    def repo(self, repo_type: RepoType, repo_id: str) -> ServedRepo:
        """One repo, with the names of its revisions (``RepoNotFoundError`` when there is none)."""

    def list_repos(self, repo_type: RepoType) -> list[ServedRepo]:
        """Every repo of a type."""

    def resolve_in(self, repo: ServedRepo, revision: str | None = None) -> ServedRevision:
        """The revision a branch, tag or commit names (the default branch for None)."""

    def served_revisions(self, repo: ServedRepo) -> list[ServedRevision]:
        """Every revision of the repo that can be served (damaged ones are left out)."""

    def file_response(
        self, revision: ServedRevision, served: ServedFile, headers: dict[str, str]
    ) -> Response | None:
        """The answer carrying one file's bytes with ``headers`` (the Hub's: ETag, X-Repo-Commit,
        Content-Type…; Range is the response's business); None when the file is gone."""
