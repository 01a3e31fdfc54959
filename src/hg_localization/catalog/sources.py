"""Where the catalog's repos come from: a small protocol, and the one source there is today.

A source answers four questions: which repos it holds, one repo by id, one revision of it, and
the bytes of one file. :class:`RepoSourceCatalog` answers them from the server's
:class:`~hg_localization.server.repo_source.RepoSource` (the store, or a folder of repos); the
team bucket and pull-through repos plug in as more sources of the same shape.

Every file is read as the Hub API reads it (:mod:`hg_localization.server.confine`): below the
source's root, without following a link. Nothing here raises but the not-found errors.
"""

from __future__ import annotations

import os
import threading
from typing import Protocol

from hg_localization.catalog.model import CardSummary, FileEntry, Kind, RefKind, RepoEntry, RevisionEntry
from hg_localization.errors import HGLocalizationError
from hg_localization.ids import RepoType, is_commit_sha, revision_folder
from hg_localization.server import confine
from hg_localization.server.hub_json import parse_front_matter
from hg_localization.server.repo_source import RepoSource, ServedRepo, ServedRevision
from hg_localization.store.layout import METADATA_FILENAME
from hg_localization.store.manifest import RevisionManifest, Selection

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


class RepoSourceCatalog:
    """The catalog's view of a :class:`RepoSource`; what it reads again is cached by signature."""

    def __init__(self, source: RepoSource, label: str | None = None) -> None:
        self.source = source
        self._label = label or ("store" if source.manifests_only else "folder")
        self._lock = threading.Lock()
        self._cards: dict[tuple[str, str, str], CardSummary] = {}
        self._manifests: dict[str, tuple[tuple[int, int, int], RevisionManifest | None]] = {}

    @property
    def label(self) -> str:
        return self._label

    def list_repos(self, repo_type: RepoType) -> list[RepoEntry]:
        return [self._entry(served) for served in self.source.list_repos(repo_type)]

    def repo(self, repo_type: RepoType, repo_id: str) -> RepoEntry:
        return self._entry(self.source.repo(repo_type, repo_id))

    def read_file(self, revision: RevisionEntry, path: str, limit: int) -> bytes | None:
        served = revision.handle.file(path) if isinstance(revision.handle, ServedRevision) else None
        if served is None or served.disk_path is None:
            return None
        try:
            with os.fdopen(confine.open_file(served.disk_path, served.below), "rb") as handle:
                data: bytes = handle.read(limit)
        except (OSError, ValueError):
            return None
        return data

    # --- building entries ----------------------------------------------------------------------
    def _entry(self, repo: ServedRepo) -> RepoEntry:
        revisions = tuple(self._revision(repo, served) for served in self.source.served_revisions(repo))
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
        manifest = self._manifest(repo, served.revision) if self.source.manifests_only else None
        if manifest is not None:
            kind, include, exclude = selection_kind(manifest.selections)
            public, origin = manifest.public, manifest.source
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

    def _manifest(self, repo: ServedRepo, revision: str) -> RevisionManifest | None:
        """The store's metadata file of ``revision``: what was asked for, and where it came from."""
        path = repo.path / revision_folder(revision) / METADATA_FILENAME
        found = confine.regular_lstat(path)
        if found is None:
            return None
        signature = (found.st_mtime_ns, found.st_size, found.st_ino)
        with self._lock:
            cached = self._manifests.get(str(path))
        if cached is not None and cached[0] == signature:
            return cached[1]
        try:
            manifest: RevisionManifest | None = RevisionManifest.from_json(
                confine.read_file(path, self.source.below(repo.repo_type))
            )
        except (OSError, ValueError, HGLocalizationError):  # the loader skips such a revision too
            manifest = None
        with self._lock:
            self._manifests[str(path)] = (signature, manifest)
        return manifest

    def _card(self, revision: RevisionEntry) -> CardSummary:
        """The front matter the index filters on, read once per commit."""
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


def _default_of(revisions: tuple[RevisionEntry, ...], default_branch: str) -> RevisionEntry | None:
    """The revision the default branch names, as ``RepoSource.resolve_in`` finds it (no reload)."""
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
