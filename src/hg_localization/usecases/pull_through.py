"""Pull through: localize from an upstream Hub what a server is asked for and its store lacks.

The server (``serve --upstream URL``, :mod:`hg_localization.server.pull_through`) asks here for
three things, each done by the same use case as ``download-model``/``download-dataset``
(:func:`~hg_localization.usecases.localize.localize`: verified, published atomically, pushed to
the bucket when one is configured, under the store's per-revision lock)::

    listing(repo, revision)          the commit and every file upstream, with sizes and checksums
    localize_metadata(listing, folder)   the card and config only (a metadata request)
    localize_file(listing, folder, path) one more file; the store keeps the union of what was asked

A file is fetched on its own (:mod:`.pull_file`: several of one revision at once, the revision's
lock held only to publish), by the full use case when the folder is not yet at the listing's
commit. With a bucket, one replica fetches a file upstream while holding the bucket's lease on it
(:mod:`hg_localization.s3.lease`); the others wait for it to be pushed and take the bucket's copy.

Both localizations are *pinned* to the listing they are given: the store's folder is filled at
the commit that listing names, even when the branch moved upstream meanwhile, so what a client
was told (tree, sha) is what it gets. The upstream token is the server's own
(``HGLOC_UPSTREAM_TOKEN``, else ``HF_TOKEN``); a client's is never sent upstream.
"""

from __future__ import annotations

import glob
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import RepoDeniedError
from hg_localization.hub.client import HubClient, RemoteRevision
from hg_localization.ids import RepoId, RepoType, parse_repo_id
from hg_localization.store.layout import METADATA_FILES
from hg_localization.store.local_store import LocalStore
from hg_localization.store.manifest import Selection
from hg_localization.usecases.localize import LocalizeOutcome, LocalizeRequest, TeamCache, localize
from hg_localization.usecases.pull_file import FilePuller
from hg_localization.usecases.repos import local_store, team_cache

if TYPE_CHECKING:
    from hg_localization.s3.lease import BucketLeases

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RepoPolicy:
    """Which repo ids may be pulled: every one, unless ``allow`` globs narrow it; ``deny`` wins.

    Globs match whole ids, case-insensitively (the Hub finds ``Google-BERT/x`` as ``google-bert/x``,
    so a deny list must too).
    """

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    def check(self, repo_id: str) -> None:
        """Raise :class:`RepoDeniedError` when ``repo_id`` may not be pulled."""
        wanted = repo_id.lower()
        for pattern in self.deny:
            if fnmatchcase(wanted, pattern.lower()):
                raise RepoDeniedError(repo_id, pattern=pattern)
        if self.allow and not any(fnmatchcase(wanted, pattern.lower()) for pattern in self.allow):
            raise RepoDeniedError(repo_id)

    def allows(self, repo_id: str) -> bool:
        try:
            self.check(repo_id)
        except RepoDeniedError:
            return False
        return True


class _PinnedHub(HubClient):
    """A Hub client that, inside :meth:`pinned`, answers a revision's name with a given listing.

    The pin is per thread: the localization that runs in this thread sees the pinned commit
    (one listing, no second look upstream); every other thread sees the Hub as it is.
    """

    def __init__(self, endpoint: str, token: str | None, *, timeout: float) -> None:
        super().__init__(endpoint, token, timeout=timeout)
        self._pins = threading.local()

    @contextmanager
    def pinned(self, revision: str, listing: RemoteRevision) -> Iterator[None]:
        self._pins.value = (revision, listing)
        try:
            yield
        finally:
            self._pins.value = None

    def _pin(self, repo_type: RepoType, repo_id: RepoId, revision: str) -> RemoteRevision | None:
        pin: tuple[str, RemoteRevision] | None = getattr(self._pins, "value", None)
        if pin is None:
            return None
        name, listing = pin
        same_repo = (listing.repo_type, str(listing.repo_id)) == (repo_type, str(repo_id))
        return replace(listing, revision=revision) if same_repo and name == revision else None

    def resolve(self, repo_type: RepoType, repo_id: RepoId, revision: str) -> RemoteRevision:
        pinned = self._pin(repo_type, repo_id, revision)
        return pinned if pinned is not None else super().resolve(repo_type, repo_id, revision)

    def commit_of(self, repo_type: RepoType, repo_id: RepoId, revision: str) -> str:
        pinned = self._pin(repo_type, repo_id, revision)
        return pinned.commit if pinned is not None else super().commit_of(repo_type, repo_id, revision)


class Upstream:
    """The upstream Hub a pull-through server fills its store from (and its bucket, if any)."""

    def __init__(self, config: HGLocalizationConfig, endpoint: str) -> None:
        self._config = config
        self._hub = _PinnedHub(endpoint, config.server_upstream_token, timeout=config.download_timeout)
        self._bucket: TeamCache | None = team_cache(config)
        self._stores: dict[RepoType, LocalStore] = {t: local_store(config, t) for t in ("model", "dataset")}
        self._leases = _bucket_leases(config) if self._bucket is not None else None
        self._pullers = {t: FilePuller(store, self._hub, self._bucket) for t, store in self._stores.items()}

    @property
    def endpoint(self) -> str:
        """Where upstream is, as it may be shown (no user:password)."""
        return self._hub.endpoint

    def listing(self, repo_type: RepoType, repo_id: str, revision: str) -> RemoteRevision:
        """The commit ``revision`` names upstream and its files (two requests)."""
        return self._hub.resolve(repo_type, parse_repo_id(repo_id), revision)

    def commit_of(self, repo_type: RepoType, repo_id: str, revision: str) -> str:
        """Where ``revision`` points upstream now (one request)."""
        return self._hub.commit_of(repo_type, parse_repo_id(repo_id), revision)

    def localize_metadata(self, listing: RemoteRevision, folder: str) -> LocalizeOutcome:
        """The card and config of ``listing`` into the store's ``folder`` (InvalidInputError: none)."""
        return self._localize(listing, folder, Selection())

    def localize_file(self, listing: RemoteRevision, folder: str, path: str) -> LocalizeOutcome:
        """``path`` of ``listing`` into the store's ``folder``, with what the folder already has.

        With a bucket, one replica fetches it upstream (it holds the bucket's lease on the file)
        while the others wait for it to be pushed, then take it from the bucket.
        """
        leases = self._leases
        if leases is None:
            return self._pull_file(listing, folder, path)
        from hg_localization.s3.lease import file_in_bucket

        repo_type, repo_id = listing.repo_type, str(listing.repo_id)

        def arrived() -> bool:
            return file_in_bucket(leases.bucket, repo_type, repo_id, folder, listing.commit, path)

        with leases.held_unless(f"{repo_type}/{repo_id}@{listing.commit}/{path}", arrived) as held:
            if held:
                return self._pull_file(listing, folder, path)
            return self._localize(listing, folder, _only(path))  # pushed by another: the bucket's copy

    def partial_path(self, listing: RemoteRevision, folder: str, path: str) -> Path:
        """Where :meth:`localize_file` writes ``path`` while it arrives (``<name>.incomplete``)."""
        return self._pullers[listing.repo_type].partial_path(listing, folder, path)

    def _pull_file(self, listing: RemoteRevision, folder: str, path: str) -> LocalizeOutcome:
        """``path`` fetched on its own (several at once) into the folder, else by the full use case."""
        outcome = self._pullers[listing.repo_type].pull(listing, folder, path)
        if outcome is None:
            return self._localize(listing, folder, _only(path))
        self._warn_unpushed(listing, folder, outcome)
        return outcome

    def _localize(self, listing: RemoteRevision, folder: str, selection: Selection) -> LocalizeOutcome:
        request = LocalizeRequest(
            repo_type=listing.repo_type,
            repo_id=listing.repo_id,
            revision=folder,
            selection=selection,
            metadata_files=METADATA_FILES[listing.repo_type],
        )
        with self._hub.pinned(folder, listing):
            outcome = localize(
                request,
                store=self._stores[listing.repo_type],
                hub=self._hub,
                bucket=self._bucket,
                max_workers=self._config.max_workers,
            )
        self._warn_unpushed(listing, folder, outcome)
        return outcome

    @staticmethod
    def _warn_unpushed(listing: RemoteRevision, folder: str, outcome: LocalizeOutcome) -> None:
        if outcome.upload_error is not None:  # served from here; other replicas go upstream again
            logger.warning(
                "Pulled %s '%s' at '%s' but could not push it to the bucket: %s",
                listing.repo_type, listing.repo_id, folder, outcome.upload_error.message,
            )  # fmt: skip


def _only(path: str) -> Selection:
    """The selection of one repo file (its name taken literally, not as a pattern)."""
    return Selection(full=True, include=(glob.escape(path),))


def _bucket_leases(config: HGLocalizationConfig) -> BucketLeases | None:
    """The bucket's leases (one upstream fetch of a file across replicas); None without a bucket."""
    if not config.s3_bucket_name:
        return None  # only a public URL: nothing can be written, not even a lease
    from hg_localization.s3.lease import BucketLeases

    return BucketLeases.from_config(config)
