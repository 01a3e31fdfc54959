"""The local store as a served source (``hg-localization serve``): read through :class:`LocalStore`.

Each revision folder has its metadata file, which names the upstream commit and every file's
checksums; a folder without one is incomplete and not served. A revision that was a tag upstream
(the metadata file's ``ref_kind``) is listed as a tag. Every scope given is served (the store's
``by_bucket/<bucket id>/`` and unscoped folders): when two hold the same revision of a repo, the
first scope wins (``serve`` gives them in :func:`~hg_localization.store.local_store.store_scopes`
order: the configured bucket's, then the unscoped store, then the other buckets').

Nothing outside the store's root is read: a namespace, repo or revision folder that is a
symbolic link is not served, and every metadata file and served file is opened from the root
down without following a link (:mod:`.confine`). A revision whose metadata file is damaged or
unreadable is skipped, with one warning, and the rest served.

A loaded revision is cached with its metadata file's stat, so a request costs a few ``lstat``
calls; with one scope, :meth:`StoreSource.answer_signature` lets the Hub API answer a revision it
answered before on the event loop (:class:`~.folder_signature.StoreSignatures`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path

from starlette.responses import Response

from hg_localization.errors import HGLocalizationError, RepoNotFoundError, RevisionNotFoundError
from hg_localization.ids import RepoId, RepoType, is_commit_prefix, parse_repo_id
from hg_localization.server import confine
from hg_localization.server.disk_repos import DEFAULT_BRANCH, loadable, read_settings, resolve_named
from hg_localization.server.file_response import disk_file_response
from hg_localization.server.folder_signature import StoreSignatures
from hg_localization.server.served import Localized, ServedFile, ServedRepo, ServedRevision
from hg_localization.store.damaged import DamagedRevision
from hg_localization.store.layout import METADATA_FILENAME
from hg_localization.store.local_store import LocalStore, StoredRevision

logger = logging.getLogger(__name__)

_Signature = tuple[int, int, int]


class StoreSource:
    """The revisions of the store's scopes, per repo type, in precedence order."""

    label = "store"

    def __init__(self, stores: Mapping[RepoType, Sequence[LocalStore]]) -> None:
        self.stores: dict[RepoType, tuple[LocalStore, ...]] = {t: tuple(s) for t, s in stores.items()}
        #: What each metadata file held at its stat (a damaged one is warned about once).
        self._read: dict[str, tuple[_Signature, StoredRevision | DamagedRevision | None]] = {}
        self._revisions: dict[tuple[str, bool], tuple[_Signature, ServedRevision]] = {}
        self._lock = threading.Lock()
        self._signatures = StoreSignatures(METADATA_FILENAME)

    @classmethod
    def for_store(cls, models_root: Path, datasets_root: Path) -> StoreSource:
        """The unscoped store of each type (the CLI serves every scope: ``cli/serve.py``)."""
        return cls(
            {"model": [LocalStore(models_root, "model")], "dataset": [LocalStore(datasets_root, "dataset")]}
        )

    # --- repos -------------------------------------------------------------------------------
    def repo(self, repo_type: RepoType, repo_id: str) -> ServedRepo:
        try:
            parsed = parse_repo_id(repo_id)
        except HGLocalizationError:
            raise RepoNotFoundError(repo_id, repo_type) from None
        found = []
        for store in self.stores.get(repo_type, ()):
            if confine.links_below(store.layout.repo_dir(parsed), store.layout.root):
                continue  # a namespace or repo folder that is a link is not served
            names = store.revision_names(parsed)
            if names:
                found.append((store, names))
        if not found:
            raise RepoNotFoundError(repo_id, repo_type)
        first = found[0][0]
        path = first.layout.repo_dir(parsed)
        settings = read_settings(path, first.layout.root)
        tags = (name for store, names in found for name in names if self._is_tag(store, parsed, name))
        return ServedRepo(
            repo_type=repo_type,
            repo_id=str(parsed),
            private=bool(settings.get("private", False)),
            default_branch=str(settings.get("default_branch", DEFAULT_BRANCH)),
            revisions=tuple(dict.fromkeys(name for _, names in found for name in names)),
            path=path,
            tags=tuple(dict.fromkeys(tags)),
        )

    def list_repos(self, repo_type: RepoType) -> list[ServedRepo]:
        ids = dict.fromkeys(
            str(repo_id) for store in self.stores.get(repo_type, ()) for repo_id in store.repo_ids()
        )
        found = []
        for repo_id in ids:
            try:
                found.append(self.repo(repo_type, repo_id))
            except HGLocalizationError:
                continue
        return found

    # --- revisions ---------------------------------------------------------------------------
    def answer_signature(self, repo_type: RepoType, repo_id: str, revision: str | None) -> object | None:
        """What :meth:`repo` and :meth:`resolve_in` answer for ``revision`` (a branch or tag name)
        depends on, in a few ``lstat`` calls; None when no cheap check exists (several scopes, no
        revision or a commit id): then there is nothing to reuse."""
        stores = self.stores.get(repo_type, ())
        if len(stores) != 1 or not revision or is_commit_prefix(revision):
            return None
        layout = stores[0].layout
        return self._signatures.of(layout.base, layout.root, repo_type, repo_id, revision)

    def resolve(self, repo_type: RepoType, repo_id: str, revision: str | None = None) -> ServedRevision:
        """The revision a branch, tag or commit name points at; raises the Hub's kinds of miss."""
        return self.resolve_in(self.repo(repo_type, repo_id), revision)

    def resolve_in(self, repo: ServedRepo, revision: str | None = None) -> ServedRevision:
        return resolve_named(repo, revision, self._load)

    def served_revisions(self, repo: ServedRepo) -> list[ServedRevision]:
        return loadable(repo, self._load)

    def file_response(
        self, revision: ServedRevision, served: ServedFile, headers: dict[str, str]
    ) -> Response | None:
        return disk_file_response(served, headers)

    def _load(self, repo: ServedRepo, revision: str) -> ServedRevision:
        """``revision`` from the first scope that has it complete, from the cache while its metadata
        file is unchanged; RevisionNotFoundError when none has it, or it is damaged."""
        parsed = parse_repo_id(repo.repo_id)
        for store in self.stores.get(repo.repo_type, ()):
            read = self._read_revision(store, parsed, revision)
            if read is None:
                continue
            signature, stored = read
            if not isinstance(stored, StoredRevision):
                break  # damaged: the first scope that has the folder answers, as for a good one
            key = (str(stored.path), repo.private)
            with self._lock:
                cached = self._revisions.get(key)
            if cached is not None and cached[0] == signature:
                return cached[1]
            loaded = _served(repo, stored, store.layout.root)
            with self._lock:
                self._revisions[key] = (signature, loaded)
            return loaded
        raise RevisionNotFoundError(repo.repo_id, revision, repo.repo_type)

    def _read_revision(
        self, store: LocalStore, repo_id: RepoId, revision: str
    ) -> tuple[_Signature, StoredRevision | DamagedRevision] | None:
        """What ``store`` holds for ``revision`` (read once per metadata file stat), or None when
        it has no metadata file there that is a regular file below no link."""
        root = store.layout.root
        folder = store.layout.revision_dir(repo_id, revision)
        found = confine.regular_lstat(folder / METADATA_FILENAME)
        if found is None or confine.links_below(folder, root):
            return None
        signature = (found.st_mtime_ns, found.st_size, found.st_ino)
        with self._lock:
            cached = self._read.get(str(folder))
        if cached is None or cached[0] != signature:
            read = store.read(repo_id, revision, partial(confine.read_file, below=root))
            if isinstance(read, DamagedRevision):
                logger.warning("Not serving %s: %s.", folder, read.reason)
            cached = (signature, read)
            with self._lock:
                self._read[str(folder)] = cached
        return None if cached[1] is None else (signature, cached[1])

    def _is_tag(self, store: LocalStore, repo_id: RepoId, revision: str) -> bool:
        """Whether the metadata file says the revision was a tag upstream (damaged: never a tag)."""
        read = self._read_revision(store, repo_id, revision)
        return read is not None and isinstance(read[1], StoredRevision) and read[1].manifest.ref_kind == "tag"


def _served(repo: ServedRepo, stored: StoredRevision, root: Path) -> ServedRevision:
    manifest = stored.manifest
    files = tuple(
        ServedFile(
            path=r.path,
            disk_path=stored.file_path(r.local_path),
            size=r.size,
            git_sha1=r.git_sha1,
            sha256=r.sha256,
            lfs=r.lfs,
            below=root,
        )
        for r in manifest.files
    )
    return ServedRevision(
        repo_type=repo.repo_type,
        repo_id=repo.repo_id,
        revision=manifest.revision,
        commit=manifest.commit,
        files=files,
        last_modified=manifest.fetched_at,
        private=repo.private or manifest.private,
        localized=Localized.of(manifest),
    )
