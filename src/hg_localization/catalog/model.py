"""What the catalog knows about a repo, whatever source it came from. Pure data.

A source (:mod:`.sources`) turns what it holds into these; the index, the pages and the JSON
API read nothing else. ``handle`` lets the source that made an entry read its files again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from hg_localization.ids import RepoType

#: What a revision holds: every file, the files some patterns chose, or the card and config only.
Kind = Literal["full", "filtered", "metadata"]
KINDS: tuple[Kind, ...] = ("full", "filtered", "metadata")
#: What a revision name is: a branch, a tag, a pull request (``refs/pr/N``) or a commit id.
RefKind = Literal["branch", "tag", "pr", "commit"]
#: Which private repos a visitor may see: every one (True: an unscoped token), none (False), or
#: those whose id a predicate accepts (a token scoped to globs such as ``acme/*``).
ReadScope = bool | Callable[[str], bool]


def may_see(scope: ReadScope, repo_id: str) -> bool:
    """Whether a visitor with ``scope`` may see ``repo_id`` if it is private."""
    return scope(repo_id) if callable(scope) else scope


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    sha256: str
    lfs: bool


@dataclass(frozen=True)
class RevisionEntry:
    """One served revision: its files and what its localization recorded."""

    repo_type: RepoType
    repo_id: str
    name: str
    commit: str
    ref: RefKind
    files: tuple[FileEntry, ...]
    last_modified: datetime
    private: bool
    kind: Kind
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    #: Published to the bucket's public prefix (the store's metadata file says so).
    public: bool = False
    #: Where the files came from: ``hub``, ``bucket``, ``upload`` (the store) or ``folder``.
    origin: str = "folder"
    #: The source's own handle on the revision (read its files with ``source.read_file``).
    handle: Any = field(default=None, compare=False, repr=False)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    def file(self, path: str) -> FileEntry | None:
        return next((f for f in self.files if f.path == path), None)


@dataclass(frozen=True)
class CardSummary:
    """What the index keeps of a card's front matter: enough to filter and to show a row."""

    tags: tuple[str, ...] = ()
    license: str | None = None
    pipeline_tag: str | None = None
    library_name: str | None = None
    pretty_name: str | None = None


@dataclass(frozen=True)
class RepoEntry:
    """One repo of one source, with the revision its default branch points at (None: unreadable)."""

    repo_type: RepoType
    repo_id: str
    source: str
    private: bool
    default_branch: str
    revision_names: tuple[str, ...]
    tags: tuple[str, ...]
    default: RevisionEntry | None
    card: CardSummary = CardSummary()
    #: Every revision that can be served (the index fills it in; empty until then).
    revisions: tuple[RevisionEntry, ...] = ()
    #: Other sources that hold the same id (the first source in the catalog's order is shown).
    also_in: tuple[str, ...] = ()

    @property
    def author(self) -> str | None:
        return self.repo_id.split("/", 1)[0] if "/" in self.repo_id else None

    @property
    def hidden(self) -> bool:
        """Private: shown only to a visitor with a read token."""
        return self.private or (self.default is not None and self.default.private)
