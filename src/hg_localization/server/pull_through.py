"""``serve --upstream URL``: a :class:`Source` that fills the store from an upstream Hub on a miss.

It wraps the server's own source (the store's, or the bucket's) and answers as it does, except::

    repo or revision the inner source lacks  ─▶ allowed (--allow/--deny)?  no: 403 RepoDeniedError
      │ yes                                     upstream: its listing (commit, files, checksums),
      │                                          its card and config localized: metadata answers
      │                                          (info, tree, paths-info) come from the listing
      ▼
    a file not in the store                  ─▶ fetched when first asked for, streamed while it
                                                 arrives (:mod:`.pull_stream`); one fetch per file
                                                 in this process, the store's lock across processes,
                                                 the bucket's lease across replicas
    a branch last checked --revalidate s ago ─▶ one request upstream: moved? its new commit is
                                                 localized (card and config) and served; upstream
                                                 down: what is there is served, with a warning
    a commit id                              ─▶ never asked again

Over the bucket (``serve --source bucket --upstream``), ``inner`` is the bucket and ``local`` the
store a miss is staged in: it is pushed to the bucket before its fetch counts as done, and served
from the store until the bucket source sees it (its TTL), so no other replica needs this disk.

Listings live in memory (per commit: they never change); after a restart the first request
for a revision reads its listing again, and without upstream only the store's files are served.
A branch that moved is served from a folder named by its new commit (the branch's own folder
keeps the files clients asked for at the old one, so nothing waits for them to be fetched again).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from starlette.responses import Response

from hg_localization.errors import (
    HGLocalizationError,
    InvalidInputError,
    RepoNotFoundError,
    RevisionNotFoundError,
)
from hg_localization.hub.client import RemoteFile, RemoteRevision
from hg_localization.ids import RepoType, is_commit_sha, parse_repo_id
from hg_localization.server.pull_stream import InFlight, PendingFile, PulledFileResponse
from hg_localization.server.served import ServedFile, ServedRepo, ServedRevision, Source
from hg_localization.usecases.pull_through import RepoPolicy, Upstream

logger = logging.getLogger(__name__)

DEFAULT_REVALIDATE = 300.0
DEFAULT_BRANCH = "main"

_Key = tuple[RepoType, str, str]


class PullMetrics(Protocol):
    """What a pull-through server counts (``server.metrics.ServerMetrics`` is one)."""

    def hit(self) -> None: ...
    def miss(self) -> None: ...
    def upstream_fetch(self, nbytes: int = 0) -> None: ...
    def upstream_failure(self) -> None: ...


class _Uncounted:
    def hit(self) -> None: ...
    def miss(self) -> None: ...
    def upstream_fetch(self, nbytes: int = 0) -> None: ...
    def upstream_failure(self) -> None: ...


@dataclass(frozen=True)
class _Known:
    """An upstream listing, and the store folder its files go to."""

    listing: RemoteRevision
    folder: str


class PullThroughSource:
    """``inner`` (any :class:`Source`), filled from ``upstream`` on a miss."""

    def __init__(
        self,
        inner: Source,
        upstream: Upstream,
        *,
        policy: RepoPolicy | None = None,
        revalidate: float = DEFAULT_REVALIDATE,
        workers: int = 8,
        metrics: PullMetrics | None = None,
        local: Source | None = None,
    ) -> None:
        self.inner = inner
        #: Where pulled files land first when ``inner`` is the bucket (the staging store): served
        #: from there until the bucket source sees them (its TTL); None when ``inner`` is the store.
        self.local = local
        self._stored: tuple[Source, ...] = (inner,) if local is None else (inner, local)
        self.upstream = upstream
        self.policy = policy or RepoPolicy()
        self.revalidate = revalidate
        self._in_flight = InFlight(workers)
        self.metrics: PullMetrics = metrics or _Uncounted()
        self._known: dict[tuple[RepoType, str, str], _Known] = {}
        #: Branches that moved upstream: the commit they are served at now.
        self._moved: dict[_Key, str] = {}
        #: When each branch (or a failed listing) was last asked about upstream (time.time()).
        self._checked: dict[_Key, float] = {}
        self._lock = threading.Lock()

    # --- Source --------------------------------------------------------------------------------
    def repo(self, repo_type: RepoType, repo_id: str) -> ServedRepo:
        try:
            return self.inner.repo(repo_type, repo_id)
        except RepoNotFoundError:
            pass
        try:
            name = str(parse_repo_id(repo_id))
        except HGLocalizationError:
            raise RepoNotFoundError(repo_id, repo_type) from None
        self.policy.check(name)
        # Known upstream or not, resolve_in says (a repo is only ever looked up to be resolved).
        return ServedRepo(
            repo_type, name, private=False, default_branch=DEFAULT_BRANCH, revisions=(), path=Path()
        )

    def list_repos(self, repo_type: RepoType) -> list[ServedRepo]:
        return self.inner.list_repos(repo_type)

    def resolve_in(self, repo: ServedRepo, revision: str | None = None) -> ServedRevision:
        repo_type, repo_id = repo.repo_type, repo.repo_id
        wanted = revision or repo.default_branch
        key: _Key = (repo_type, repo_id, wanted)
        commit = self._moved.get(key)
        local = self._inner_at(repo_type, repo_id, commit or wanted)
        current = commit or (local.commit if local is not None else None)
        if current is not None and not is_commit_sha(wanted) and self._due(key, local):
            moved_to = self._revalidate(key, current)
            if moved_to is not None:
                commit, current = moved_to, moved_to
                local = self._inner_at(repo_type, repo_id, moved_to)
        if current is None:
            current = self._pull(key)
            local = self._inner_at(repo_type, repo_id, wanted)
        return self._view(repo_type, repo_id, wanted, local, current)

    def served_revisions(self, repo: ServedRepo) -> list[ServedRevision]:
        if repo.revisions:  # the inner source's repo
            return [self._moved_view(revision) for revision in self.inner.served_revisions(repo)]
        try:
            return [self.resolve_in(repo)]
        except HGLocalizationError:
            return []

    def file_response(
        self, revision: ServedRevision, served: ServedFile, headers: dict[str, str]
    ) -> Response | None:
        answer = self._local_answer(revision, served, headers)
        if answer is not None:
            self.metrics.hit()
            return answer
        known = self._known.get((revision.repo_type, revision.repo_id, revision.commit))
        remote = known.listing.file(served.path) if known is not None else None
        if known is None or remote is None:
            return None
        self.metrics.miss()
        folder = self._folder_for(known)
        pending = PendingFile(
            served=served,
            partial=self.upstream.partial_path(known.listing, folder, served.path),
            start=lambda: self._in_flight.start(
                ("file", revision.repo_type, revision.repo_id, revision.commit, served.path),
                lambda: self._counted(
                    lambda: self.upstream.localize_file(known.listing, folder, served.path)
                ),
            ),
            settled=lambda: self._local_answer(revision, served, dict(headers)),
        )
        return PulledFileResponse(pending, headers)

    def close(self) -> None:
        self._in_flight.close()

    # --- what the web catalog says of it -------------------------------------------------------
    @property
    def upstream_endpoint(self) -> str:
        """The Hub a repo the store lacks is pulled from."""
        return self.upstream.endpoint

    def pulls(self, repo_id: str) -> bool:
        """Whether a download of ``repo_id`` would be pulled from upstream (--allow/--deny)."""
        return self.policy.allows(repo_id)

    # --- the store's side ------------------------------------------------------------------------
    def _inner_at(self, repo_type: RepoType, repo_id: str, revision: str) -> ServedRevision | None:
        """What the inner source (else the staging store) has for ``revision`` (a name or a commit)."""
        return next((found for _, found in self._stored_at(repo_type, repo_id, revision)), None)

    def _stored_at(
        self, repo_type: RepoType, repo_id: str, revision: str
    ) -> Iterator[tuple[Source, ServedRevision]]:
        for source in self._stored:
            try:
                yield source, source.resolve_in(source.repo(repo_type, repo_id), revision)
            except (RepoNotFoundError, RevisionNotFoundError):
                continue

    def _local_answer(
        self, revision: ServedRevision, served: ServedFile, headers: dict[str, str]
    ) -> Response | None:
        """The file from the first source that has it at ``revision``'s commit (None: none has)."""
        for source, stored in self._stored_at(revision.repo_type, revision.repo_id, revision.commit):
            found = stored.file(served.path)
            if found is not None:
                return source.file_response(stored, found, headers)
        return None

    def _folder_for(self, known: _Known) -> str:
        """The store folder a file of ``known`` goes to: its own, unless that moved to another commit."""
        listing = known.listing
        there = self._inner_at(listing.repo_type, str(listing.repo_id), known.folder)
        if there is None or there.revision != known.folder or there.commit == listing.commit:
            return known.folder
        return listing.commit  # never move a branch's folder back to an older commit

    # --- upstream's side -------------------------------------------------------------------------
    def _pull(self, key: _Key) -> str:
        """Localize ``key``'s card and config from upstream; the commit it is at (NotFound: none)."""
        self.policy.check(key[1])
        self.metrics.miss()
        return str(
            self._in_flight.share(("revision", *key), lambda: self._counted(lambda: self._pull_now(key)))
        )

    def _counted(self, fetch: Callable[[], Any]) -> Any:
        """``fetch()``, counted as one upstream fetch (its bytes) or one failure."""
        try:
            result = fetch()
        except BaseException:
            self.metrics.upstream_failure()
            raise
        self.metrics.upstream_fetch(nbytes=getattr(result, "fetched_bytes", 0))
        return result

    def _pull_now(self, key: _Key) -> str:
        repo_type, repo_id, wanted = key
        listing = self.upstream.listing(repo_type, repo_id, wanted)
        self._localize_metadata(listing, wanted)
        if not is_commit_sha(wanted):
            self._checked[key] = time.time()
            if self._inner_at(repo_type, repo_id, wanted) is None:
                self._moved[key] = listing.commit  # nothing to store (no card, no config)
        return listing.commit

    def _localize_metadata(self, listing: RemoteRevision, folder: str) -> None:
        with contextlib.suppress(InvalidInputError):  # no card, no config: files come when asked for
            self.upstream.localize_metadata(listing, folder)
        self._known[(listing.repo_type, str(listing.repo_id), listing.commit)] = _Known(listing, folder)

    def _due(self, key: _Key, local: ServedRevision | None) -> bool:
        """Whether ``key`` (a branch) was last asked about upstream ``revalidate`` s ago (claims it)."""
        if not self.policy.allows(key[1]):
            return False
        now = time.time()
        with self._lock:
            last = self._checked.get(key)
            if last is None:
                last = local.last_modified.timestamp() if local is not None else now
            if now - last < self.revalidate:
                return False
            self._checked[key] = now  # one request per interval, whoever asks meanwhile
        return True

    def _revalidate(self, key: _Key, current: str) -> str | None:
        """The commit ``key`` moved to upstream (its card and config localized), or None."""
        repo_type, repo_id, branch = key
        try:
            commit = self.upstream.commit_of(repo_type, repo_id, branch)
            if commit == current:
                return None
            listing = self.upstream.listing(repo_type, repo_id, commit)
            self._localize_metadata(listing, commit)
        except HGLocalizationError as exc:
            logger.warning(
                "Could not check whether %s '%s' moved at '%s' upstream (%s); serving commit %s.",
                repo_type, repo_id, branch, exc.message, current[:12],
            )  # fmt: skip
            return None
        logger.info("%s '%s': '%s' moved upstream to %s", repo_type, repo_id, branch, commit[:12])
        self._moved[key] = commit
        return commit

    def _listing(self, repo_type: RepoType, repo_id: str, commit: str, folder: str) -> RemoteRevision | None:
        """The upstream listing at ``commit`` (remembered), or None when it cannot be had now."""
        known = self._known.get((repo_type, repo_id, commit))
        if known is not None:
            return known.listing
        if not self.policy.allows(repo_id):
            return None
        failed_at = self._checked.get((repo_type, repo_id, commit))
        if failed_at is not None and time.time() - failed_at < self.revalidate:
            return None
        try:
            listing: RemoteRevision = self._in_flight.share(
                ("listing", repo_type, repo_id, commit),
                lambda: self.upstream.listing(repo_type, repo_id, commit),
            )
        except HGLocalizationError as exc:
            logger.warning("Serving only the stored files of %s '%s': %s", repo_type, repo_id, exc.message)
            self._checked[(repo_type, repo_id, commit)] = time.time()
            return None
        self._known[(repo_type, repo_id, commit)] = _Known(listing, folder)
        return listing

    # --- what is served --------------------------------------------------------------------------
    def _view(
        self, repo_type: RepoType, repo_id: str, name: str, local: ServedRevision | None, commit: str
    ) -> ServedRevision:
        """The revision ``name`` at ``commit``: the stored files, and upstream's others to be fetched."""
        folder = local.revision if local is not None else name
        listing = self._listing(repo_type, repo_id, commit, folder)
        if listing is None:
            if local is None:
                raise RevisionNotFoundError(repo_id, name, repo_type)
            return local
        stored = {f.path: f for f in local.files} if local is not None else {}
        extra = tuple(_pending_file(f) for f in listing.files if f.path not in stored)
        return ServedRevision(
            repo_type=repo_type,
            repo_id=repo_id,
            revision=name,
            commit=commit,
            files=(*stored.values(), *extra),
            last_modified=local.last_modified if local is not None else datetime.now(UTC),
            private=listing.private or (local is not None and local.private),
            localized=local.localized if local is not None else None,
        )

    def _moved_view(self, revision: ServedRevision) -> ServedRevision:
        """A stored branch as refs should list it: at the commit it moved to upstream, if it did."""
        commit = self._moved.get((revision.repo_type, revision.repo_id, revision.revision))
        if commit is None:
            return revision
        return _with(revision, commit=commit)


def _pending_file(remote: RemoteFile) -> ServedFile:
    """A file upstream has and the store does not (yet): its bytes come through ``file_response``."""
    return ServedFile(
        path=remote.path,
        disk_path=Path(),
        size=remote.size,
        git_sha1=remote.git_sha1,
        sha256=remote.lfs_sha256 or "",
        lfs=remote.is_lfs,
        below=None,
    )


def _with(revision: ServedRevision, **changes: Any) -> ServedRevision:
    fields = {
        "repo_type": revision.repo_type,
        "repo_id": revision.repo_id,
        "revision": revision.revision,
        "commit": revision.commit,
        "files": revision.files,
        "last_modified": revision.last_modified,
        "private": revision.private,
        "localized": revision.localized,
    }
    return ServedRevision(**{**fields, **changes})
