"""``serve --source bucket``: every revision the team bucket holds, served with no local copy.

What a revision is comes from its metadata object (``.hg_localization_bucket_metadata.json``, the
only thing trusted to say a revision exists, as for ``download-model``); its file bodies are
streamed from S3 with the client's Range, or with ``redirect`` answered by a 302 to a presigned
URL that carries the Hub's headers itself (``X-Repo-Commit``, ``ETag``, ``X-Linked-Size``…), so
the bytes go from S3 to the client directly.

Nothing is kept but in memory, so any number of replicas (and ``--workers N``) over one bucket
give the same answers. Each listing and each metadata object is used for ``ttl`` seconds, then
checked again: the folders listed again, the metadata object asked for with ``If-None-Match``
(unchanged: a 304 with no body). A revision pushed while the server runs is served within
``ttl``. A metadata object that cannot be used (not JSON, about another revision, a path
climbing out) is skipped with one warning, and the rest served. When the bucket cannot be
reached, what was loaded before is served as it was, and the failure logged.

While a repo's listing and every one of its metadata objects are within ``ttl``,
:meth:`BucketSource.answer_signature` says so without any request, and the Hub API answers a
revision it answered before on the event loop (the same promise: once any of them is older than
``ttl``, the answer is read again, as it would have been).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.responses import Response

from hg_localization.errors import (
    EntryNotFoundError,
    HGLocalizationError,
    RepoNotFoundError,
    RevisionNotFoundError,
    StorageError,
)
from hg_localization.ids import RepoId, RepoType, is_commit_sha, parse_repo_id
from hg_localization.s3.catalog import parse_manifest
from hg_localization.s3.serving import ServingBucket, missing_object
from hg_localization.server.file_response import StreamedFileResponse
from hg_localization.server.hub_json import CARD_MAX_BYTES, parse_front_matter
from hg_localization.server.responses import error_response, header_value, hub_error
from hg_localization.server.served import Localized, ServedFile, ServedRepo, ServedRevision
from hg_localization.store.manifest import RevisionManifest

logger = logging.getLogger(__name__)

DEFAULT_BRANCH = "main"
#: Seconds a listing or a metadata object is used before it is checked again.
DEFAULT_TTL = 5.0
#: Seconds a presigned URL of a redirect stays valid.
DEFAULT_PRESIGN_EXPIRY = 3600
#: Repo ids as asked -> as the bucket's caches key them (None: not a repo id); cleared when full.
_IDS_CACHE_SIZE = 4096


@dataclass(frozen=True)
class _Loaded:
    """One revision as last read: when it was checked, its metadata object's ETag, what it said."""

    checked: float
    etag: str
    revision: ServedRevision | None  # None: the metadata object is damaged (skipped)
    tag: bool = False


class BucketSource:
    """The bucket's revisions as a :class:`~hg_localization.server.served.Source`."""

    label = "bucket"

    def __init__(
        self,
        bucket: ServingBucket,
        *,
        ttl: float = DEFAULT_TTL,
        redirect: bool = False,
        presign_expiry: int = DEFAULT_PRESIGN_EXPIRY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bucket = bucket
        self.ttl = ttl
        self.redirect = redirect
        self.presign_expiry = presign_expiry
        self._clock = clock
        self._lock = threading.Lock()
        self._folders: dict[tuple[RepoType, str], tuple[float, tuple[str, ...]]] = {}
        self._repos: dict[RepoType, tuple[float, tuple[RepoId, ...]]] = {}
        self._loaded: dict[tuple[RepoType, str, str], _Loaded] = {}
        self._ids: dict[str, str | None] = {}

    # --- repos ---------------------------------------------------------------------------------
    def repo(self, repo_type: RepoType, repo_id: str) -> ServedRepo:
        try:
            parsed = parse_repo_id(repo_id)
        except HGLocalizationError:
            raise RepoNotFoundError(repo_id, repo_type) from None
        loaded = [
            (name, found)
            for name in self._revision_names(repo_type, parsed)
            if (found := self._load(repo_type, parsed, name)) is not None and found.revision is not None
        ]
        if not loaded:
            raise RepoNotFoundError(str(parsed), repo_type)
        namespace, folder = parsed.folder_parts
        return ServedRepo(
            repo_type=repo_type,
            repo_id=str(parsed),
            private=False,  # each revision says whether it is private (its metadata object)
            default_branch=DEFAULT_BRANCH,
            revisions=tuple(name for name, _ in loaded),
            path=Path(f"{self.bucket.space.type_prefix(repo_type)}{namespace}/{folder}"),
            tags=tuple(name for name, found in loaded if found.tag),
        )

    def list_repos(self, repo_type: RepoType) -> list[ServedRepo]:
        found = []
        for repo_id in self._cached_repos(repo_type):
            try:
                found.append(self.repo(repo_type, str(repo_id)))
            except HGLocalizationError:
                continue
        return found

    # --- revisions -----------------------------------------------------------------------------
    def answer_signature(self, repo_type: RepoType, repo_id: str, revision: str | None) -> object | None:
        """When each listing and metadata object that :meth:`repo` and :meth:`resolve_in` read for
        ``revision`` (a branch or tag name) was last read, while all are within ``ttl``; None when
        one must be read again (or for a commit id, which is looked up among every revision)."""
        if not revision or is_commit_sha(revision):
            return None
        name = self._id(repo_id)
        if name is None:
            return None
        with self._lock:
            listed = self._folders.get((repo_type, name))
            if listed is None or not self._fresh(listed[0]):
                return None
            loaded = [self._loaded.get((repo_type, name, folder)) for folder in listed[1]]
        checked = [found.checked for found in loaded if found is not None and self._fresh(found.checked)]
        if len(checked) != len(loaded):  # one is missing (not pushed yet) or old: read again
            return None
        return listed[0], tuple(checked)

    def _id(self, repo_id: str) -> str | None:
        try:
            return self._ids[repo_id]
        except KeyError:
            pass
        try:
            name: str | None = str(parse_repo_id(repo_id))
        except HGLocalizationError:
            name = None
        if len(self._ids) >= _IDS_CACHE_SIZE:
            self._ids.clear()
        self._ids[repo_id] = name
        return name

    def resolve_in(self, repo: ServedRepo, revision: str | None = None) -> ServedRevision:
        wanted = revision or repo.default_branch
        if is_commit_sha(wanted):
            matches = [candidate for candidate in self.served_revisions(repo) if candidate.commit == wanted]
            if matches:  # several revisions at one commit: the fullest answers
                return max(matches, key=lambda candidate: len(candidate.files))
        if wanted in repo.revisions:
            found = self._load(repo.repo_type, parse_repo_id(repo.repo_id), wanted)
            if found is not None and found.revision is not None:
                return found.revision
        raise RevisionNotFoundError(repo.repo_id, wanted, repo.repo_type)

    def served_revisions(self, repo: ServedRepo) -> list[ServedRevision]:
        repo_id = parse_repo_id(repo.repo_id)
        loaded = (self._load(repo.repo_type, repo_id, name) for name in repo.revisions)
        return [found.revision for found in loaded if found is not None and found.revision is not None]

    def file_response(
        self, revision: ServedRevision, served: ServedFile, headers: dict[str, str]
    ) -> Response | None:
        key = served.key
        if key is None:
            return None
        if self.redirect:
            return self._redirect(key, headers)

        def failed(exc: HGLocalizationError) -> Response:
            if missing_object(exc):
                missing = EntryNotFoundError(revision.repo_id, served.path, revision.revision)
                return error_response(missing, commit=revision.commit)
            logger.warning("Could not serve '%s' of %s: %s", served.path, revision.repo_id, exc.message)
            return hub_error(502, exc.message)

        def opener(start: int, end: int) -> Generator[bytes, None, None]:
            return self.bucket.open_range(key, start, end, served.size)

        return StreamedFileResponse(served, headers, opener, failed)

    def read_bytes(self, served: ServedFile, limit: int) -> bytes | None:
        """At most ``limit`` bytes of a small file (the catalog's card and config); a whole file is
        checked against its sha256. None when the bucket cannot be read or the bytes are not as recorded."""
        if served.key is None or limit <= 0:
            return None
        end = min(served.size, limit) - 1
        try:
            data = b"".join(self.bucket.open_range(served.key, 0, end, served.size))
        except StorageError as exc:
            logger.warning("Could not read '%s' of the bucket: %s", served.path, exc.message)
            return None
        if served.size <= limit and hashlib.sha256(data).hexdigest() != served.sha256:
            return None
        return data

    def _redirect(self, key: str, headers: dict[str, str]) -> Response:
        """A 302 to a presigned URL, with the Hub's headers on the redirect itself (as huggingface.co)."""
        try:
            url = self.bucket.presign(key, self.presign_expiry)
        except StorageError as exc:
            return hub_error(502, exc.message)
        headers = {k: v for k, v in headers.items() if k not in ("Content-Type", "Accept-Ranges")}
        # the URL expires: a cache must not keep the redirect (the file's own ETag still identifies it)
        headers.update({"Location": header_value(url), "Cache-Control": "no-store"})
        return Response(status_code=302, headers=headers)

    # --- the bucket, read again after ttl ------------------------------------------------------
    def _fresh(self, checked: float) -> bool:
        return self._clock() - checked < self.ttl

    def _cached_repos(self, repo_type: RepoType) -> tuple[RepoId, ...]:
        with self._lock:
            cached = self._repos.get(repo_type)
        if cached is not None and self._fresh(cached[0]):
            return cached[1]
        try:
            found = tuple(self.bucket.repos(repo_type))
        except StorageError as exc:
            if cached is None:
                raise
            logger.warning("Serving the last listing of %ss: %s", repo_type, exc.message)
            return cached[1]
        with self._lock:
            self._repos[repo_type] = (self._clock(), found)
        return found

    def _revision_names(self, repo_type: RepoType, repo_id: RepoId) -> tuple[str, ...]:
        key = (repo_type, str(repo_id))
        with self._lock:
            cached = self._folders.get(key)
        if cached is not None and self._fresh(cached[0]):
            return cached[1]
        try:
            names = tuple(self.bucket.revisions(repo_type, repo_id))
        except StorageError as exc:
            if cached is None:
                raise
            logger.warning("Serving the last listing of %s: %s", repo_id, exc.message)
            return cached[1]
        with self._lock:
            self._folders[key] = (self._clock(), names)
        return names

    def _load(self, repo_type: RepoType, repo_id: RepoId, revision: str) -> _Loaded | None:
        """The revision as its metadata object says now (None: it has none), checked after ttl."""
        key = (repo_type, str(repo_id), revision)
        with self._lock:
            cached = self._loaded.get(key)
        if cached is not None and self._fresh(cached.checked):
            return cached
        try:
            got = self.bucket.metadata(repo_type, repo_id, revision, cached.etag if cached else None)
        except StorageError as exc:
            if cached is None:
                raise
            logger.warning("Serving %s at %s as last read: %s", repo_id, revision, exc.message)
            return cached
        now = self._clock()
        if got is None:  # removed (or still being pushed: its metadata object comes last)
            with self._lock:
                self._loaded.pop(key, None)
            return None
        if got.data is None and cached is not None:  # 304: unchanged
            loaded = _Loaded(now, cached.etag, cached.revision, cached.tag)
        else:
            loaded = self._build(repo_type, repo_id, revision, got.data or b"", got.etag, now)
        with self._lock:
            self._loaded[key] = loaded
        return loaded

    def _build(
        self, repo_type: RepoType, repo_id: RepoId, revision: str, data: bytes, etag: str, now: float
    ) -> _Loaded:
        where = f"metadata object of '{repo_id}' at '{revision}' in {self.bucket.describe()}"
        try:
            manifest = parse_manifest(data, repo_type, repo_id, revision, where=where)
        except HGLocalizationError as exc:
            logger.warning("Not serving %s at %s: %s", repo_id, revision, exc.message)
            return _Loaded(now, etag, None)
        files = tuple(
            ServedFile(
                path=record.path,
                disk_path=None,
                size=record.size,
                git_sha1=record.git_sha1,
                sha256=record.sha256,
                lfs=record.lfs,
                below=None,
                key=self.bucket.object_key(repo_type, repo_id, revision, record.local_path),
            )
            for record in manifest.files
        )
        served = ServedRevision(
            repo_type=repo_type,
            repo_id=str(repo_id),
            revision=revision,
            commit=manifest.commit,
            files=files,
            last_modified=manifest.fetched_at,
            private=manifest.private,
            card=self._card(manifest, files),
            localized=Localized.of(manifest),
        )
        return _Loaded(now, etag, served, tag=manifest.ref_kind == "tag")

    def _card(self, manifest: RevisionManifest, files: tuple[ServedFile, ...]) -> dict[str, Any]:
        """The front matter of the revision's README.md, read once per metadata object ({} if none)."""
        readme = next((f for f in files if f.path == "README.md"), None)
        if readme is None or readme.key is None or readme.size > CARD_MAX_BYTES:
            return {}
        try:
            data = b"".join(self.bucket.open_range(readme.key, 0, readme.size - 1, readme.size))
        except StorageError as exc:
            logger.warning("Could not read the card of %s: %s", manifest.repo_id, exc.message)
            return {}
        if hashlib.sha256(data).hexdigest() != readme.sha256:
            return {}
        return parse_front_matter(data.decode("utf-8", errors="replace"))
