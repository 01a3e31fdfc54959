"""The one place where huggingface_hub's and httpx's errors become ours.

Only the errors these libraries raise on purpose are translated (:func:`foreign_errors`): an
answer the Hub gave (huggingface_hub's typed HTTP errors), a connection that failed or timed out
(httpx, the OS), offline mode, and retries that ran out. Anything else (a ``TypeError``, a
``KeyError``...) is a bug in this program, not the Hub being unreachable: it goes through
untouched, to the CLI's one "Unexpected error" presenter (``cli/app.py``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from hg_localization.errors import (
    AuthenticationError,
    EntryNotFoundError,
    HGLocalizationError,
    RepoNotFoundError,
    RevisionNotFoundError,
    UpstreamError,
)
from hg_localization.hub.http import RetriesExhausted


def foreign_errors() -> tuple[type[Exception], ...]:
    """What talking to a Hub raises on purpose.

    ``HfHubHTTPError`` covers every answer with an error status (not found, gated, 5xx...),
    ``httpx2.HTTPError`` every transport failure and timeout, ``ConnectionError``/``TimeoutError``
    the OS's (``OfflineModeIsEnabled`` is a ConnectionError). The libraries' classes are only
    looked up once they are imported: before that, nothing raised can be one of them (and a
    command that never needed them does not import them for an error).
    """
    found: list[type[Exception]] = [RetriesExhausted, ConnectionError, TimeoutError]
    if "huggingface_hub.errors" in sys.modules:
        from huggingface_hub import errors as hf_errors

        found += [hf_errors.HfHubHTTPError, hf_errors.OfflineModeIsEnabled]
    if "httpx2" in sys.modules:
        import httpx2

        found.append(httpx2.HTTPError)
    return tuple(found)


@contextmanager
def hub_errors(
    endpoint: str,
    repo_id: str | None = None,
    repo_type: str = "model",
    revision: str | None = None,
    path: str | None = None,
) -> Iterator[None]:
    """Translate the Hub client's errors raised inside the block (:func:`foreign_errors`) into ours."""
    try:
        yield
    except HGLocalizationError:
        raise
    except Exception as exc:
        if not isinstance(exc, foreign_errors()):
            raise  # not one of the libraries' on purpose: a bug, shown as such
        raise translate(exc, endpoint, repo_id, repo_type, revision, path) from exc


def translate(
    exc: BaseException,
    endpoint: str,
    repo_id: str | None = None,
    repo_type: str = "model",
    revision: str | None = None,
    path: str | None = None,
) -> HGLocalizationError:
    """Ours for one of :func:`foreign_errors` (what the Hub answered, or why it could not)."""
    import httpx2  # for an error only (and mostly imported already, by the request that failed)
    from huggingface_hub import errors as hf_errors

    if isinstance(exc, RetriesExhausted):  # the last failure, and why trying again stopped
        error = translate(exc.cause, endpoint, repo_id, repo_type, revision, path)
        error.message = f"{error.message} ({exc.reason})"
        error.args = (error.message,)
        return error
    status = _status_of(exc)
    refused = _refused(exc, status, repo_id)
    if refused is not None:
        return refused
    if isinstance(exc, hf_errors.RevisionNotFoundError) and repo_id:
        return RevisionNotFoundError(repo_id, revision or "main", repo_type)
    if isinstance(exc, hf_errors.RemoteEntryNotFoundError) and repo_id:
        return EntryNotFoundError(repo_id, path or "?", revision)
    if isinstance(exc, hf_errors.RepositoryNotFoundError) or (status == 404 and repo_id):
        return RepoNotFoundError(repo_id or "?", repo_type)
    if isinstance(exc, hf_errors.OfflineModeIsEnabled):
        return UpstreamError(
            "The Hub cannot be reached: offline mode is on (HF_HUB_OFFLINE=1).",
            hint="Unset HF_HUB_OFFLINE, or use what is already in the local store.",
        )
    if isinstance(exc, (httpx2.TimeoutException, TimeoutError)):
        what = f"the download of '{path}'" if path else "its answer"
        return UpstreamError(
            f"The Hub at {endpoint} stopped sending {what}: nothing arrived within the read timeout.",
            hint="Retry later, or allow more time with HGLOC_DOWNLOAD_TIMEOUT (seconds); a download "
            "that was cut off continues from where it stopped on the next run.",
        )
    if isinstance(exc, (httpx2.TransportError, ConnectionError)):
        return UpstreamError(
            f"Could not reach the Hub at {endpoint}: {_first_line(exc)}",
            hint="Check the network and HF_ENDPOINT; nothing in the local store was changed.",
        )
    if status is not None:
        return UpstreamError(
            f"The Hub at {endpoint} answered {status}: {_first_line(exc)}",
            hint="Retry later; nothing in the local store was changed.",
        )
    return UpstreamError(f"Talking to the Hub at {endpoint} failed: {_first_line(exc)}")


def _refused(exc: BaseException, status: int | None, repo_id: str | None) -> AuthenticationError | None:
    """The error for an answer that refused access (gated, a bad token, 401/403), else None."""
    from huggingface_hub import errors as hf_errors

    if isinstance(exc, hf_errors.GatedRepoError):
        return AuthenticationError(
            repo_id,
            message=f"'{repo_id}' is a gated repository and this token has not been granted access.",
            hint="Request access on the repository page, then set HF_TOKEN to a token of that account.",
        )
    if status == 401 and _invalid_token(exc):
        return AuthenticationError(
            repo_id,
            message="The Hub refused the token (invalid or expired).",
            hint="Set HF_TOKEN (or HUGGING_FACE_HUB_TOKEN) to a valid token.",
        )
    if status in (401, 403):
        return AuthenticationError(repo_id)
    return None


def _status_of(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _invalid_token(exc: BaseException) -> bool:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    return "Invalid credentials" in str(headers.get("X-Error-Message", ""))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
