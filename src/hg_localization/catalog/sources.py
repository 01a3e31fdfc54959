"""Where the catalog's repos come from: a small protocol, and one adapter over any served source.

A source answers four questions: which repos it holds, one repo by id, one revision of it, and
the bytes of one file. :class:`SourceCatalog` answers them from whatever the server serves (a
:class:`~hg_localization.server.served.Source`): the store or a folder of repos
(:class:`~hg_localization.server.store_source.StoreSource`,
:class:`~hg_localization.server.folder_source.FolderSource`), the team bucket
(:class:`~hg_localization.server.bucket_source.BucketSource`), or the store filled from an
upstream Hub (:class:`~hg_localization.server.pull_through.PullThroughSource`). What each revision
holds (full, filtered, metadata only; public; where from) is the ``localized`` record its source
filled in; a card's front matter is the source's when it read it already.

A file with a disk copy is read as the Hub API reads it (:mod:`hg_localization.server.confine`):
below the source's root, without following a link; a file with none (the bucket's) through the
source's :class:`~hg_localization.server.served.ObjectReader`. A pull-through repo that is not
in the store yet is *not found* here: a catalog page never makes the server fetch from upstream
(the page says it will be pulled on first download, see :meth:`SourceCatalog.pulls`).
Nothing here raises but the not-found errors.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

from hg_localization.catalog.model import CardSummary, FileEntry, Kind, RefKind, RepoEntry, RevisionEntry
from hg_localization.errors import RepoNotFoundError
from hg_localization.ids import RepoType, is_commit_sha
from hg_localization.server import confine
from hg_localization.server.hub_json import parse_front_matter
from hg_localization.server.served import ObjectReader, ServedFile, ServedRepo, ServedRevision, Source
from hg_localization.store.manifest import Selection

#: How much of a README the index reads for its front matter (the card itself is read when shown).
FRONT_MATTER_MAX_BYTES = 64 * 1024


class CatalogSource(Protocol):
    """One place the server has repos: the store, a folder of repos, the bucket, pull-through."""

    @property
    def label(self) -> str:
        """A short name a person reads in the catalog (``store``, ``folder``, ``bucket``)."""

    def list_repos(self, repo_type: RepoType) -> list[RepoEntry]:
        """Every repo of ``repo_type``, each with its served revisions."""

    def repo(self, repo_type: RepoType, repo_id: str) -> RepoEntry:
        """One repo with its served revisions; raises RepoNotFoundError."""

    def read_file(self, revision: RevisionEntry, path: str, limit: int) -> bytes | None:
        """At most ``limit`` bytes of a file of ``revision`` (None: not there, or unreadable)."""


@runtime_checkable
class Pulling(Protocol):
    """A served source that pulls what it lacks from an upstream Hub (``serve --upstream``)."""

    @property
    def upstream_endpoint(self) -> str: ...

    def pulls(self, repo_id: str) -> bool: ...


def source_label(source: Source) -> str:
    """What the catalog calls a served source: ``store``, ``folder``, ``bucket`` (pull-through: its store)."""
    inner = getattr(source, "inner", None)
    if inner is not None and inner is not source:
        return source_label(inner)
    label = getattr(source, "label", None)
    return label if isinstance(label, str) and label else "server"


class SourceCatalog:
    """The catalog's view of any served :class:`Source`; front matter is read once per commit."""

    def __init__(self, source: Source, label: str | None = None) -> None:
        self.source = source
        self._label = label or source_label(source)
        #: The Hub this source pulls from on a miss (None: it serves what it has, no more).
        self.upstream = source.upstream_endpoint if isinstance(source, Pulling) else None
        self._lock = threading.Lock()
        self._cards: dict[tuple[str, str, str], CardSummary] = {}

    @property
    def label(self) -> str:
        return self._label

    def list_repos(self, repo_type: RepoType) -> list[RepoEntry]:
        return [self._entry(served) for served in self.source.list_repos(repo_type)]

    def repo(self, repo_type: RepoType, repo_id: str) -> RepoEntry:
        served = self.source.repo(repo_type, repo_id)
        if not served.revisions:  # nothing to serve yet (pull-through: asked of upstream only by a download)
            raise RepoNotFoundError(repo_id, repo_type)
        return self._entry(served)

    def pulls(self, repo_id: str) -> bool:
        """Whether a download of ``repo_id``, not here yet, would pull it from upstream."""
        return isinstance(self.source, Pulling) and self.source.pulls(repo_id)

    def read_file(self, revision: RevisionEntry, path: str, limit: int) -> bytes | None:
        served = revision.handle.file(path) if isinstance(revision.handle, ServedRevision) else None
        if served is None:
            return None
        if served.key is not None:
            return self.source.read_bytes(served, limit) if isinstance(self.source, ObjectReader) else None
        return _read_disk(served, limit)

    # --- building entries ----------------------------------------------------------------------
    def _entry(self, repo: ServedRepo) -> RepoEntry:
        served = self.source.served_revisions(repo) if repo.revisions else []
        revisions = tuple(self._revision(repo, revision) for revision in served)
        default = _default_of(revisions, repo.default_branch)
        return RepoEntry(
            repo_type=repo.repo_type,
            repo_id=repo.repo_id,
            source=self.label,
            private=repo.private,
            default_branch=repo.default_branch,
            revision_names=repo.revisions,
            tags=repo.tags,
            default=default,
            card=self._card(default) if default is not None else CardSummary(),
            revisions=revisions,
        )

    def _revision(self, repo: ServedRepo, served: ServedRevision) -> RevisionEntry:
        kind: Kind = "full"
        include: tuple[str, ...] = ()
        exclude: tuple[str, ...] = ()
        public, origin = False, "folder"
        if served.localized is not None:
            kind, include, exclude = selection_kind(list(served.localized.selections))
            public, origin = served.localized.public, served.localized.origin
        return RevisionEntry(
            repo_type=served.repo_type,
            repo_id=served.repo_id,
            name=served.revision,
            commit=served.commit,
            ref=ref_kind(served.revision, repo.tags),
            files=tuple(FileEntry(f.path, f.size, f.sha256, f.lfs) for f in served.files),
            last_modified=served.last_modified,
            private=served.private,
            kind=kind,
            include=include,
            exclude=exclude,
            public=public,
            origin=origin,
            handle=served,
        )

    def _card(self, revision: RevisionEntry) -> CardSummary:
        """The front matter the index filters on: the source's, else read once per commit."""
        if isinstance(revision.handle, ServedRevision) and revision.handle.card is not None:
            return card_summary(revision.handle.card)
        key = (revision.repo_type, revision.repo_id, revision.commit)
        with self._lock:
            cached = self._cards.get(key)
        if cached is not None:
            return cached
        data = self.read_file(revision, "README.md", FRONT_MATTER_MAX_BYTES) or b""
        summary = card_summary(parse_front_matter(data.decode("utf-8", errors="replace")))
        with self._lock:
            self._cards[key] = summary
        return summary


def _read_disk(served: ServedFile, limit: int) -> bytes | None:
    """At most ``limit`` bytes of a file on disk, opened below its root without following a link."""
    if served.disk_path is None or served.disk_path == Path():  # pull-through: not fetched yet
        return None
    try:
        with os.fdopen(confine.open_file(served.disk_path, served.below), "rb") as handle:
            data: bytes = handle.read(limit)
    except (OSError, ValueError):
        return None
    return data


def _default_of(revisions: tuple[RevisionEntry, ...], default_branch: str) -> RevisionEntry | None:
    """The revision the default branch names, as a source's ``resolve_in`` finds it (no reload)."""
    named = next((r for r in revisions if r.name == default_branch), None)
    if named is not None or not is_commit_sha(default_branch):
        return named
    matches = [r for r in revisions if r.commit == default_branch]
    return max(matches, key=lambda r: len(r.files)) if matches else None


def card_summary(front_matter: dict[str, object]) -> CardSummary:
    def text(key: str) -> str | None:
        value = front_matter.get(key)
        return value if isinstance(value, str) else None

    raw_tags = front_matter.get("tags")
    tags = (
        tuple(str(t) for t in raw_tags if isinstance(t, str | int | float))
        if isinstance(raw_tags, list)
        else ()
    )
    return CardSummary(
        tags=tags,
        license=text("license"),
        pipeline_tag=text("pipeline_tag"),
        library_name=text("library_name"),
        pretty_name=text("pretty_name"),
    )


def selection_kind(selections: list[Selection]) -> tuple[Kind, tuple[str, ...], tuple[str, ...]]:
    """Full, filtered (with its patterns) or metadata only, from what the localizations asked for."""
    if any(s.full and not s.include and not s.exclude and s.config_name is None for s in selections):
        return "full", (), ()
    chosen = [s for s in selections if s.full or s.config_name is not None]
    if not chosen:
        return "metadata", (), ()
    include = tuple(dict.fromkeys(p for s in chosen for p in (*s.include, *_config_pattern(s))))
    exclude = tuple(dict.fromkeys(p for s in chosen for p in s.exclude))
    return "filtered", include, exclude


def _config_pattern(selection: Selection) -> tuple[str, ...]:
    return (f"config {selection.config_name}",) if selection.config_name else ()


def ref_kind(name: str, tags: tuple[str, ...]) -> RefKind:
    if name.startswith("refs/pr/"):
        return "pr"
    if name in tags:
        return "tag"
    if is_commit_sha(name):
        return "commit"
    return "branch"
