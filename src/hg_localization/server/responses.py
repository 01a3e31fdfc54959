"""Error answers in the Hub's dialect: a status, ``X-Error-Code`` and ``X-Error-Message``.

huggingface_hub reads ``X-Error-Code`` to raise the right exception (``RepoNotFound``,
``RevisionNotFound``, ``EntryNotFound``, ``GatedRepo``); a 404 ``EntryNotFound`` that carries
``X-Repo-Commit`` is cached by the client as a known miss.
"""

from __future__ import annotations

from starlette.responses import JSONResponse

from hg_localization.errors import (
    AuthenticationError,
    EntryNotFoundError,
    HGLocalizationError,
    InvalidInputError,
    NotFoundError,
    RepoNotFoundError,
    RevisionNotFoundError,
)

INVALID_CREDENTIALS = "Invalid credentials in Authorization header"


def hub_error(
    status: int, message: str, code: str | None = None, *, commit: str | None = None
) -> JSONResponse:
    headers = {"X-Error-Message": _header_safe(message)}
    if code:
        headers["X-Error-Code"] = code
    if commit:
        headers["X-Repo-Commit"] = commit
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def error_response(exc: HGLocalizationError, *, commit: str | None = None) -> JSONResponse:
    """The Hub's answer for one of our errors."""
    if isinstance(exc, RepoNotFoundError):
        return hub_error(404, exc.message, "RepoNotFound")
    if isinstance(exc, RevisionNotFoundError):
        return hub_error(404, exc.message, "RevisionNotFound")
    if isinstance(exc, EntryNotFoundError):
        return hub_error(404, exc.message, "EntryNotFound", commit=commit)
    if isinstance(exc, NotFoundError):
        return hub_error(404, exc.message)
    if isinstance(exc, AuthenticationError):
        return hub_error(401, exc.message, "RepoNotFound")
    if isinstance(exc, InvalidInputError):
        return hub_error(400, exc.message)
    return hub_error(500, exc.message)


def unauthorized(repo_id: str, *, bad_token: bool) -> JSONResponse:
    if bad_token:
        return hub_error(401, INVALID_CREDENTIALS)
    return hub_error(
        401,
        f"Repository '{repo_id}' is private: send a token with access (Authorization: Bearer ...).",
        "RepoNotFound",
    )


def _header_safe(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1").replace("\n", " ")[:500]
