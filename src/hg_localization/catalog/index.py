"""The catalog: every source's repos in one index, searched and filtered per visitor.

The index (what the list pages and the home page read) is rebuilt from the sources at most once
per ``ttl`` seconds, in a background thread, so a page costs a filter over memory, never a walk
over every repo folder (but the very first); a repo's own pages read its source afresh. A
private repo, or a revision localized from a private upstream, is in the index but only ever
shown to a visitor who may read private repos.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from hg_localization.catalog.collection_views import CatalogCollections
from hg_localization.catalog.model import Kind, ReadScope, RepoEntry, RevisionEntry, may_see
from hg_localization.catalog.sources import CatalogSource, SourceCatalog
from hg_localization.errors import HGLocalizationError, RepoNotFoundError, RevisionNotFoundError
from hg_localization.ids import REPO_TYPES, RepoType, is_commit_sha

DEFAULT_TTL = 10.0

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Query:
    """What a visitor asked the list pages for; empty fields filter nothing."""

    search: str = ""
    author: str | None = None
    tag: str | None = None
    kind: Kind | None = None
    public: bool | None = None
    source: str | None = None
    sort: str = "id"


@dataclass(frozen=True)
class Stats:
    models: int
    datasets: int
    revisions: int
    size: int
    by_kind: dict[str, int]
    by_source: dict[str, int]


class Catalog:
    """Repos of every source, first source first; an id several sources hold is shown once."""

    def __init__(
        self,
        sources: Sequence[CatalogSource],
        *,
        collections: CatalogCollections | None = None,
        ttl: float = DEFAULT_TTL,
        background: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sources = tuple(sources)
        #: The team's collections manifest, when the server was given one (``serve --collections``).
        self.collections = collections
        self.ttl = ttl
        self.background = background
        self._clock = clock
        self._lock = threading.Lock()
        self._index: dict[RepoType, list[RepoEntry]] | None = None
        self._built_at = 0.0
        self._refreshing = False

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(source.label for source in self.sources)

    @property
    def upstream(self) -> str | None:
        """The Hub a pull-through source fetches what it lacks from (None: no such source)."""
        return next((s.upstream for s in self.sources if isinstance(s, SourceCatalog) and s.upstream), None)

    def pulls(self, repo_id: str) -> bool:
        """Whether a download of ``repo_id`` (not here yet) would pull it from upstream."""
        return any(isinstance(s, SourceCatalog) and s.pulls(repo_id) for s in self.sources)

    # --- the index --------------------------------------------------------------------------------
    def _entries(self, repo_type: RepoType) -> list[RepoEntry]:
        """The index: built on first use; once older than ``ttl``, rebuilt in a background thread
        while pages keep reading the previous one (``background=False``: rebuilt there and then)."""
        with self._lock:
            index = self._index
            if index is not None and self._clock() - self._built_at < self.ttl:
                return index[repo_type]
            if index is not None and self.background:
                if not self._refreshing:
                    self._refreshing = True
                    threading.Thread(target=self._refresh, name="catalog-index", daemon=True).start()
                return index[repo_type]
            self._index = {kind: self._build(kind) for kind in REPO_TYPES}  # one build at a time
            self._built_at = self._clock()
            return self._index[repo_type]

    def _refresh(self) -> None:
        try:
            index = {kind: self._build(kind) for kind in REPO_TYPES}
        except Exception:  # the previous index stays; the next page tries again
            logger.warning("The catalog's index could not be rebuilt.", exc_info=True)
            index = None
        with self._lock:
            if index is not None:
                self._index, self._built_at = index, self._clock()
            self._refreshing = False

    def _build(self, repo_type: RepoType) -> list[RepoEntry]:
        merged: dict[str, RepoEntry] = {}
        for source in self.sources:
            try:
                found = source.list_repos(repo_type)
            except HGLocalizationError:
                continue  # one unreadable source leaves the others listed
            for entry in found:
                first = merged.get(entry.repo_id)
                if first is None:
                    merged[entry.repo_id] = entry
                else:
                    merged[entry.repo_id] = replace(first, also_in=(*first.also_in, entry.source))
        return sorted(merged.values(), key=lambda e: e.repo_id.lower())

    def refresh(self) -> None:
        """Forget the index: the next page rebuilds it."""
        with self._lock:
            self._index = None

    # --- what a visitor sees ---------------------------------------------------------------------
    def visible(self, repo_type: RepoType, *, may_read: ReadScope) -> list[RepoEntry]:
        return [e for e in self._entries(repo_type) if not e.hidden or may_see(may_read, e.repo_id)]

    def by_id(self, repo_type: RepoType, *, may_read: ReadScope) -> dict[str, RepoEntry]:
        """The visible repos by id, each with its visible revisions only."""
        return {
            e.repo_id: replace(e, revisions=tuple(visible_revisions(e, may_read=may_read)))
            for e in self.visible(repo_type, may_read=may_read)
        }

    def search(self, repo_type: RepoType, query: Query, *, may_read: ReadScope) -> list[RepoEntry]:
        terms = query.search.lower().split()
        found = [
            entry
            for entry in self.visible(repo_type, may_read=may_read)
            if _matches(entry, query) and all(term in _haystack(entry) for term in terms)
        ]
        if query.sort == "recent":
            found.sort(key=lambda e: e.default.last_modified.timestamp() if e.default else 0.0, reverse=True)
        return found

    def find(self, repo_type: RepoType, repo_id: str, *, may_read: ReadScope) -> RepoEntry:
        """One repo, read afresh from the first source that has it; hidden ones are not found."""
        for source in self.sources:
            try:
                entry = source.repo(repo_type, repo_id)
            except HGLocalizationError:
                continue
            if entry.hidden and not may_see(may_read, entry.repo_id):
                break
            return replace(entry, revisions=tuple(visible_revisions(entry, may_read=may_read)))
        raise RepoNotFoundError(repo_id, repo_type)

    def revision(self, entry: RepoEntry, name: str | None) -> RevisionEntry:
        """The revision ``name`` (a branch, tag or commit; None: the default) of a found repo."""
        wanted = name or entry.default_branch
        named = next((r for r in entry.revisions if r.name == wanted), None)
        if named is not None:
            return named
        if is_commit_sha(wanted):
            matches = [r for r in entry.revisions if r.commit == wanted]
            if matches:
                return max(matches, key=lambda r: len(r.files))
        raise RevisionNotFoundError(entry.repo_id, wanted, entry.repo_type)

    def read_file(self, revision: RevisionEntry, source: str, path: str, limit: int) -> bytes | None:
        for candidate in self.sources:
            if candidate.label == source:
                return candidate.read_file(revision, path, limit)
        return None

    def stats(self, *, may_read: ReadScope) -> Stats:
        models = self.visible("model", may_read=may_read)
        datasets = self.visible("dataset", may_read=may_read)
        revisions = [r for e in (*models, *datasets) for r in visible_revisions(e, may_read=may_read)]
        return Stats(
            models=len(models),
            datasets=len(datasets),
            revisions=len(revisions),
            size=sum(r.size for r in revisions),
            by_kind=dict(Counter(e.default.kind for e in (*models, *datasets) if e.default)),
            by_source=dict(Counter(e.source for e in (*models, *datasets))),
        )

    def recent(self, *, may_read: ReadScope, limit: int = 10) -> list[RevisionEntry]:
        """The revisions localized (or changed) last, newest first."""
        revisions = [
            revision
            for repo_type in REPO_TYPES
            for entry in self.visible(repo_type, may_read=may_read)
            for revision in visible_revisions(entry, may_read=may_read)
        ]
        revisions.sort(key=lambda r: r.last_modified, reverse=True)
        return revisions[:limit]

    def facets(self, repo_type: RepoType, *, may_read: ReadScope) -> tuple[list[str], list[str]]:
        """The authors and the tags of the visible repos, most frequent first (for the filters)."""
        entries = self.visible(repo_type, may_read=may_read)
        authors = Counter(e.author for e in entries if e.author)
        tags = Counter(tag for e in entries for tag in e.card.tags)
        return [a for a, _ in authors.most_common(50)], [t for t, _ in tags.most_common(50)]


def visible_revisions(entry: RepoEntry, *, may_read: ReadScope) -> list[RevisionEntry]:
    return [r for r in entry.revisions if not r.private or may_see(may_read, entry.repo_id)]


def _matches(entry: RepoEntry, query: Query) -> bool:
    default = entry.default
    return (
        (query.author is None or entry.author == query.author)
        and (query.tag is None or query.tag in entry.card.tags)
        and (query.kind is None or (default is not None and default.kind == query.kind))
        and (query.public is None or (default is not None and default.public == query.public))
        and (query.source is None or query.source in (entry.source, *entry.also_in))
    )


def _haystack(entry: RepoEntry) -> str:
    card = entry.card
    words = (
        entry.repo_id,
        card.pretty_name or "",
        card.pipeline_tag or "",
        card.library_name or "",
        *card.tags,
    )
    return " ".join(words).lower()
