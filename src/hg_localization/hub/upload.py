"""Writing to a Hub repo through huggingface_hub: create it, send files in one commit, tag it.

What ``upload-weights`` needs from the client, with the client's errors translated here, at
``hub/``'s boundary, and nothing of huggingface_hub leaking out.

How the bytes travel. With ``hf_xet`` installed, huggingface_hub sends files given by path
through Xet, which only the Hub itself speaks; and whether Xet is off (``HF_HUB_DISABLE_XET``)
is read once, when huggingface_hub is imported. So:

- to huggingface.co, files are given by path: the client's own choice (Xet when available);
- to any other endpoint (a mirror, an hg-localization server), files are given as open file
  objects (``open_file``), for which huggingface_hub always uses the plain-HTTP LFS protocol
  that every Hub-compatible server speaks. No environment variable is needed for this.

The sha256 of each file is handed to the client, so no file is hashed twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx2
from huggingface_hub import CommitOperationAdd, get_token
from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

from hg_localization.config import DEFAULT_HF_ENDPOINT
from hg_localization.errors import AuthenticationError, HGLocalizationError, LocalFileError
from hg_localization.hub.client import HubClient
from hg_localization.hub.errors import translate
from hg_localization.ids import RepoId

#: What the client raises when talking to a Hub fails (its HfHubHTTPError is an httpx2.HTTPError).
_CLIENT_ERRORS = (httpx2.HTTPError, ConnectionError, TimeoutError)


@dataclass(frozen=True)
class FileToCommit:
    path_in_repo: str
    disk_path: Path
    sha256: str


@dataclass(frozen=True)
class CommitMade:
    oid: str
    commit_url: str
    pull_request_url: str | None


#: The file object a file is sent from over plain HTTP (e.g. one that reports progress).
OpenFile = Callable[[FileToCommit], BinaryIO]


def stored_token() -> str | None:
    """The token of ``hf auth login``, when there is one."""
    return get_token()


def plain_http(hub: HubClient) -> bool:
    """True for any endpoint but huggingface.co: files are then sent over plain-HTTP LFS."""
    return hub.endpoint != DEFAULT_HF_ENDPOINT


def create_repo(hub: HubClient, repo_id: RepoId, *, private: bool) -> None:
    """Create the model repo unless it exists (then its visibility is left as it is)."""
    with upload_errors(hub.endpoint, str(repo_id), None):
        hub.api.create_repo(str(repo_id), repo_type="model", private=True if private else None, exist_ok=True)


def commit_files(
    hub: HubClient,
    repo_id: RepoId,
    files: Sequence[FileToCommit],
    extra: Mapping[str, bytes],
    *,
    message: str,
    revision: str | None,
    create_pr: bool,
    open_file: OpenFile,
) -> CommitMade:
    """``files`` (from disk) and ``extra`` (from memory) in one commit.

    Over plain HTTP each file is sent from ``open_file(file)``, closed when the commit is done.
    When every file is already there as it is, the client makes no commit and answers with the
    branch's head.
    """
    with upload_errors(hub.endpoint, str(repo_id), revision), ExitStack() as stack:
        operations = [_operation(f, stack, open_file if plain_http(hub) else None) for f in files]
        operations += [CommitOperationAdd(path, data) for path, data in extra.items()]
        if plain_http(hub):
            stack.enter_context(_plain_http_quietly())
        info = hub.api.create_commit(
            str(repo_id),
            operations,
            commit_message=message,
            repo_type="model",
            revision=revision,
            create_pr=create_pr,
        )
    return CommitMade(info.oid, info.commit_url, info.pr_url)


def tags_of(hub: HubClient, repo_id: RepoId) -> dict[str, str]:
    """The repo's tags and the commit each names; RepoNotFoundError for a repo not there."""
    with upload_errors(hub.endpoint, str(repo_id), None):
        refs = hub.api.list_repo_refs(str(repo_id), repo_type="model")
    return {tag.name: tag.target_commit for tag in refs.tags}


def create_tag(hub: HubClient, repo_id: RepoId, tag: str, *, message: str | None, commit: str) -> None:
    with upload_errors(hub.endpoint, str(repo_id), commit):
        hub.api.create_tag(str(repo_id), tag=tag, tag_message=message, revision=commit, repo_type="model")


def _operation(file: FileToCommit, stack: ExitStack, open_file: OpenFile | None) -> CommitOperationAdd:
    """One file of the commit, with its sha256 already known.

    ``CommitOperationAdd`` given a path only reads a 512-byte sample; its ``upload_info.sha256``
    is a public setter. For plain HTTP the path is then swapped for a file object (the client
    picks LFS over HTTP for file objects), closed with ``stack``.
    """
    operation = CommitOperationAdd(path_in_repo=file.path_in_repo, path_or_fileobj=str(file.disk_path))
    operation.upload_info.sha256 = bytes.fromhex(file.sha256)
    if open_file is not None:
        handle = open_file(file)
        stack.callback(handle.close)
        operation.path_or_fileobj = handle
    return operation


class _ExpectedFallbackNotice(logging.Filter):
    """Drops the client's warning that file objects go over HTTP, not Xet: that is the intent."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "binary IO buffer is not supported by Xet" not in record.getMessage()


@contextmanager
def _plain_http_quietly() -> Iterator[None]:
    """huggingface_hub's own tqdm bars would fight ours, and its fallback notice is expected."""
    were_disabled = are_progress_bars_disabled()
    notice = _ExpectedFallbackNotice()
    client_logger = logging.getLogger("huggingface_hub._commit_api")
    disable_progress_bars()
    client_logger.addFilter(notice)
    try:
        yield
    finally:
        client_logger.removeFilter(notice)
        if not were_disabled:
            enable_progress_bars()


@contextmanager
def upload_errors(endpoint: str, repo_id: str, revision: str | None) -> Iterator[None]:
    """The client's errors as ours, with the upload's own words for a refused token.

    Only what the client is known to raise is translated: its HTTP and connection errors, a
    local file that cannot be read, and the RuntimeError it wraps a failed file upload in. Any
    other exception goes on as it is (a bug to see, not an upload failure to report).
    """
    try:
        yield
    except HGLocalizationError:
        raise
    except (*_CLIENT_ERRORS, OSError, RuntimeError) as exc:
        cause = _unwrapped(exc)
        if isinstance(cause, HGLocalizationError):  # ours, raised while the client read a file
            raise cause from exc
        if isinstance(cause, _CLIENT_ERRORS):
            raise _refused_upload(translate(cause, endpoint, repo_id, "model", revision), endpoint) from exc
        if isinstance(cause, OSError):
            raise LocalFileError.from_os_error(cause, action="read") from exc
        raise


def _unwrapped(exc: BaseException) -> BaseException:
    """The error under the client's RuntimeError("Error while uploading …") wrappers."""
    cause = exc
    while isinstance(cause, RuntimeError) and cause.__cause__ is not None:
        cause = cause.__cause__
    return cause


def _refused_upload(error: HGLocalizationError, endpoint: str) -> HGLocalizationError:
    if not isinstance(error, AuthenticationError):
        return error
    return AuthenticationError(
        error.repo_id,
        message=f"The Hub at {endpoint} refused the upload to '{error.repo_id}': the token is not "
        "valid or has no write access to it.",
        hint="Set HUGGING_FACE_HUB_TOKEN to a token with the 'write' role for this namespace.",
    )
