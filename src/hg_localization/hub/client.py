"""The upstream Hub: revisions, file lists and verified downloads, none of them unbounded.

Requests go through huggingface_hub's HTTP session, headers (auth, user agent) and typed errors
(:mod:`.http`); metadata and files are checked before use (:mod:`.listing`), and each file is
streamed, hashed as it arrives and verified against the Hub's own checksums (:mod:`.download`).
Every read has a timeout, every answer a size bound, every retry a limit (:mod:`.retry`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from hg_localization._version import __version__
from hg_localization.errors import EntryNotFoundError, HGLocalizationError, UpstreamError
from hg_localization.hub.download import FileTransfer, ProgressCallback, verify_digest
from hg_localization.hub.errors import hub_errors
from hg_localization.hub.headers import hub_headers
from hg_localization.hub.http import DEFAULT_TIMEOUT, HubHttp
from hg_localization.hub.listing import (
    ListingLimits,
    RemoteFile,
    checked_commit,
    info_url,
    list_files,
    tree_url,
)
from hg_localization.hub.retry import RetryPolicy
from hg_localization.ids import RepoId, RepoType
from hg_localization.integrity.hashing import Digest
from hg_localization.redact import url_without_userinfo

if TYPE_CHECKING:
    from huggingface_hub import HfApi

logger = logging.getLogger(__name__)

__all__ = [
    "HubClient",
    "ListingLimits",
    "ProgressCallback",
    "RemoteFile",
    "RemoteRevision",
    "RetryPolicy",
    "require_file",
    "verify_digest",
]


@dataclass(frozen=True)
class RemoteRevision:
    repo_id: RepoId
    repo_type: RepoType
    revision: str
    commit: str
    files: tuple[RemoteFile, ...] = field(default=())
    private: bool = False

    def file(self, path: str) -> RemoteFile | None:
        return next((f for f in self.files if f.path == path), None)


class HubClient:
    """A Hub (huggingface.co, a mirror, or an hg-localization server) seen through huggingface_hub.

    ``timeout``: seconds without a byte before a request fails (``download_timeout``);
    ``retry``: how 429/5xx answers and dropped or stalled connections are retried;
    ``listing``: where a revision's file listing stops.
    """

    def __init__(
        self,
        endpoint: str,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        listing: ListingLimits | None = None,
    ) -> None:
        self._endpoint = endpoint.rstrip("/")
        #: The endpoint as it may be shown or stored: without any user:password in it.
        self.endpoint = url_without_userinfo(self._endpoint)
        self._token = token
        self._listing = listing or ListingLimits()
        self._http = HubHttp(self.endpoint, self._headers, timeout=timeout, retry=retry)
        self._api: HfApi | None = None

    @property
    def api(self) -> HfApi:
        """huggingface_hub's API object for this Hub (writes: repos, commits, tags), made on first use.

        Imported then, not with this module: ``huggingface_hub.hf_api`` takes about a second to
        import, and most commands (every read, every bucket sync) never need it.
        """
        if self._api is None:
            from huggingface_hub import HfApi

            self._api = HfApi(
                endpoint=self._endpoint,
                token=self._token,
                library_name="hg-localization",
                library_version=__version__,
            )
        return self._api

    def commit_of(self, repo_type: RepoType, repo_id: RepoId, revision: str) -> str:
        """The commit a branch, tag or commit name points at: one request."""
        with hub_errors(self.endpoint, str(repo_id), repo_type, revision):
            info = self._info(repo_type, repo_id, revision)
        return checked_commit(info.get("sha"), self.endpoint, repo_id, revision)

    def resolve(self, repo_type: RepoType, repo_id: RepoId, revision: str) -> RemoteRevision:
        """The commit ``revision`` points at and every file in it, with sizes and checksums."""
        with hub_errors(self.endpoint, str(repo_id), repo_type, revision):
            info = self._info(repo_type, repo_id, revision)
            commit = checked_commit(info.get("sha"), self.endpoint, repo_id, revision)
            url = tree_url(self._endpoint, repo_type, repo_id, commit)
            files = list_files(self._http, url, repo_id, self._listing)
        return RemoteRevision(
            repo_id=repo_id,
            repo_type=repo_type,
            revision=revision,
            commit=commit,
            files=files,
            # Gated ("auto"/"manual") counts as private: both keep the public out (anything but False does).
            private=info.get("private") is True or info.get("gated", False) not in (False, None),
        )

    def ref_kind(
        self, repo_type: RepoType, repo_id: RepoId, revision: str
    ) -> Literal["branch", "tag"] | None:
        """Whether ``revision`` is a branch or a tag upstream; None if neither or the Hub cannot say."""
        url = f"{self._endpoint}/api/{repo_type}s/{repo_id}/refs"
        try:
            with hub_errors(self.endpoint, str(repo_id), repo_type, revision):
                refs, _ = self._http.get_json(url)
        except HGLocalizationError as exc:
            logger.info("Could not read the refs of %s: %s", repo_id, exc.message)
            return None
        if not isinstance(refs, dict):
            return None
        for kind, key in (("branch", "branches"), ("tag", "tags")):
            names = refs.get(key)
            if isinstance(names, list) and any(
                isinstance(r, dict) and r.get("name") == revision for r in names
            ):
                return "branch" if kind == "branch" else "tag"
        return None

    def _info(self, repo_type: RepoType, repo_id: RepoId, revision: str) -> dict[str, Any]:
        info, _ = self._http.get_json(info_url(self._endpoint, repo_type, repo_id, revision))
        if not isinstance(info, dict):
            raise UpstreamError(
                f"The Hub at {self.endpoint} described '{repo_id}' with something not an object."
            )
        return info

    def read_file(self, repo_type: RepoType, repo_id: RepoId, revision: str, path: str) -> bytes:
        """A small file's bytes, straight from the Hub (nothing is cached; at most 64 MiB)."""
        url = _file_url(self._endpoint, repo_type, repo_id, revision, path)
        with hub_errors(self.endpoint, str(repo_id), repo_type, revision, path):
            body, _ = self._http.get_bytes(url)
        return body

    def download(
        self,
        repo_type: RepoType,
        repo_id: RepoId,
        commit: str,
        remote: RemoteFile,
        destination: Path,
        on_progress: ProgressCallback | None = None,
    ) -> Digest:
        """Stream ``remote`` into ``destination``, hashing as it goes; verify (see :mod:`.download`).

        Bytes already in ``destination`` (an interrupted run's) are kept and the rest is asked for
        with a Range request. On a checksum mismatch the file is deleted and :class:`IntegrityError`
        names it; on a full disk it is deleted too. Any other failure keeps it for the next run.
        """
        url = _file_url(self._endpoint, repo_type, repo_id, commit, remote.path)
        transfer = FileTransfer(self._http, url, remote, destination, on_progress)
        with hub_errors(self.endpoint, str(repo_id), repo_type, commit, remote.path):
            return transfer.run()

    def _headers(self) -> dict[str, str]:
        # huggingface_hub's headers, built without importing its HTTP stack when possible (:mod:`.headers`).
        return hub_headers(self._token)


def require_file(revision: RemoteRevision, path: str) -> RemoteFile:
    remote = revision.file(path)
    if remote is None:
        raise EntryNotFoundError(str(revision.repo_id), path, revision.revision)
    return remote


def _file_url(endpoint: str, repo_type: RepoType, repo_id: RepoId, revision: str, path: str) -> str:
    """huggingface_hub's URL of a file at a revision (its own function, so its quoting is the Hub's)."""
    # Imported here: huggingface_hub.file_download is slow to import and only a download needs it.
    from huggingface_hub import hf_hub_url

    return hf_hub_url(str(repo_id), path, repo_type=repo_type, revision=revision, endpoint=endpoint)
