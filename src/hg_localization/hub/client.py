"""The upstream Hub, through huggingface_hub: revisions, file lists and verified downloads.

Metadata comes from ``HfApi`` (auth, paging, retries and error codes handled by the library).
File bytes are streamed with the library's HTTP session and hashed as they arrive, so every
file is verified against the Hub's own checksums without a second read.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import httpx2
from huggingface_hub import HfApi, hf_hub_url
from huggingface_hub.hf_api import RepoFile
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

from hg_localization._version import __version__
from hg_localization.errors import (
    EntryNotFoundError,
    HGLocalizationError,
    IntegrityError,
    InvalidInputError,
    LocalFileError,
    UpstreamError,
)
from hg_localization.hub.errors import hub_errors, translate
from hg_localization.ids import RepoId, RepoType, validate_repo_path
from hg_localization.integrity.hashing import CHUNK_SIZE, Digest, StreamHasher
from hg_localization.redact import url_without_userinfo

logger = logging.getLogger(__name__)

#: How often a broken download stream is resumed (with a Range request) before giving up.
MAX_RESUMES = 5

ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    git_sha1: str
    lfs_sha256: str | None = None

    @property
    def is_lfs(self) -> bool:
        return self.lfs_sha256 is not None


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
    """A Hub (huggingface.co, a mirror, or an hg-localization server) seen through huggingface_hub."""

    def __init__(self, endpoint: str, token: str | None = None) -> None:
        self._endpoint = endpoint.rstrip("/")
        #: The endpoint as it may be shown or stored: without any user:password in it.
        self.endpoint = url_without_userinfo(self._endpoint)
        self._token = token
        self._api = HfApi(
            endpoint=self._endpoint,
            token=token,
            library_name="hg-localization",
            library_version=__version__,
        )

    @property
    def api(self) -> HfApi:
        return self._api

    def commit_of(self, repo_type: RepoType, repo_id: RepoId, revision: str) -> str:
        """The commit a branch, tag or commit name points at: one request."""
        with hub_errors(self.endpoint, str(repo_id), repo_type, revision):
            info = self._api.repo_info(str(repo_id), repo_type=repo_type, revision=revision)
        if not info.sha:
            raise UpstreamError(f"The Hub at {self.endpoint} did not say which commit '{revision}' is.")
        return info.sha

    def resolve(self, repo_type: RepoType, repo_id: RepoId, revision: str) -> RemoteRevision:
        """The commit ``revision`` points at and every file in it, with sizes and checksums."""
        with hub_errors(self.endpoint, str(repo_id), repo_type, revision):
            info = self._api.repo_info(str(repo_id), repo_type=repo_type, revision=revision)
            commit = info.sha
            if not commit:
                raise UpstreamError(f"The Hub at {self.endpoint} did not say which commit '{revision}' is.")
            entries = self._api.list_repo_tree(
                str(repo_id), repo_type=repo_type, revision=commit, recursive=True
            )
            files = tuple(
                RemoteFile(
                    path=self._checked_path(entry.path, repo_id),
                    size=entry.size,
                    git_sha1=entry.blob_id,
                    lfs_sha256=entry.lfs.sha256 if entry.lfs else None,
                )
                for entry in entries
                if isinstance(entry, RepoFile)
            )
        return RemoteRevision(
            repo_id=repo_id,
            repo_type=repo_type,
            revision=revision,
            commit=commit,
            files=files,
            private=bool(getattr(info, "private", False)),
        )

    def _checked_path(self, path: str, repo_id: RepoId) -> str:
        """A file path the Hub listed, refused if it could leave the folder it is written to."""
        try:
            return validate_repo_path(path)
        except InvalidInputError as exc:
            raise UpstreamError(
                f"The Hub at {self.endpoint} listed an unsafe file path in '{repo_id}': {exc.message}",
                hint="Nothing was written. The upstream server is broken or hostile; do not use it.",
            ) from None

    def read_file(self, repo_type: RepoType, repo_id: RepoId, revision: str, path: str) -> bytes:
        """A small file's bytes, straight from the Hub (nothing is cached)."""
        url = hf_hub_url(str(repo_id), path, repo_type=repo_type, revision=revision, endpoint=self._endpoint)
        with hub_errors(self.endpoint, str(repo_id), repo_type, revision, path):
            response = get_session().get(url, headers=self._headers(), follow_redirects=True)
            hf_raise_for_status(response)
            return response.content

    def download(
        self,
        repo_type: RepoType,
        repo_id: RepoId,
        commit: str,
        remote: RemoteFile,
        destination: Path,
        on_progress: ProgressCallback | None = None,
    ) -> Digest:
        """Stream ``remote`` into ``destination``, hashing as it goes; verify; resume on a broken stream.

        On a checksum mismatch the file is deleted and :class:`IntegrityError` names it.
        """
        url = hf_hub_url(
            str(repo_id), remote.path, repo_type=repo_type, revision=commit, endpoint=self._endpoint
        )
        # An LFS file is checked by its sha256; the git id of its content would be computed for nothing.
        hasher = StreamHasher(None if remote.is_lfs else remote.size)
        resumes = 0
        with _local_file_errors():
            destination.parent.mkdir(parents=True, exist_ok=True)
            sink = destination.open("wb")
        with sink:
            while True:
                headers = self._headers()
                if hasher.size:
                    headers["Range"] = f"bytes={hasher.size}-"
                try:
                    self._stream_into(url, headers, sink, hasher, on_progress, remote.path)
                    break
                except httpx2.TransportError as exc:
                    resumes += 1
                    if resumes > MAX_RESUMES:
                        raise translate(
                            exc, self.endpoint, str(repo_id), repo_type, commit, remote.path
                        ) from exc
                    logger.info("Resuming %s at byte %d after: %s", remote.path, hasher.size, exc)
                except HGLocalizationError:
                    raise
                except Exception as exc:
                    raise translate(exc, self.endpoint, str(repo_id), repo_type, commit, remote.path) from exc
            with _local_file_errors():
                sink.flush()
                os.fsync(sink.fileno())
        digest = hasher.digest()
        try:
            verify_digest(remote, digest)
        except IntegrityError:
            with contextlib.suppress(FileNotFoundError):
                destination.unlink()
            raise
        return digest

    def _stream_into(
        self,
        url: str,
        headers: dict[str, str],
        sink: BinaryIO,
        hasher: StreamHasher,
        on_progress: ProgressCallback | None,
        path: str,
    ) -> None:
        with get_session().stream("GET", url, headers=headers, follow_redirects=True) as response:
            if response.status_code >= 400:
                response.read()
            hf_raise_for_status(response)
            if "Range" in headers and response.status_code != 206:
                raise UpstreamError(f"The Hub did not resume the download of '{path}' (no Range support).")
            for chunk in response.iter_bytes(CHUNK_SIZE):
                with _local_file_errors():  # a full disk is not the Hub's fault
                    sink.write(chunk)
                hasher.update(chunk)
                if on_progress is not None:
                    on_progress(len(chunk))

    def _headers(self) -> dict[str, str]:
        return dict(
            build_hf_headers(token=self._token, library_name="hg-localization", library_version=__version__)
        )


@contextlib.contextmanager
def _local_file_errors() -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise LocalFileError.from_os_error(exc) from exc


def verify_digest(remote: RemoteFile, digest: Digest) -> None:
    """Check a streamed file against what the Hub promised: size, LFS sha256, git blob id."""
    if digest.size != remote.size:
        raise IntegrityError(remote.path, f"{remote.size} bytes", f"{digest.size} bytes", algorithm="size")
    if remote.lfs_sha256:
        if digest.sha256 != remote.lfs_sha256:
            raise IntegrityError(remote.path, remote.lfs_sha256, digest.sha256)
    elif remote.git_sha1 and digest.git_sha1 != remote.git_sha1:
        raise IntegrityError(remote.path, remote.git_sha1, digest.git_sha1, algorithm="git blob sha1")


def require_file(revision: RemoteRevision, path: str) -> RemoteFile:
    remote = revision.file(path)
    if remote is None:
        raise EntryNotFoundError(str(revision.repo_id), path, revision.revision)
    return remote
