"""Error answers in the Hub's dialect: a status, ``X-Error-Code`` and ``X-Error-Message``.

huggingface_hub reads ``X-Error-Code`` to raise the right exception (``RepoNotFound``,
``RevisionNotFound``, ``EntryNotFound``, ``GatedRepo``); a 404 ``EntryNotFound`` that carries
``X-Repo-Commit`` is cached by the client as a known miss.

Every header value built from input (a path, a file name, a commit, a URL) goes through
:func:`header_value`: a CR, LF or NUL in a request path must never reach the HTTP layer, which
would refuse the header and leave the request without any answer.
"""

from __future__ import annotations

import logging
import re

from starlette.requests import Request
from starlette.responses import JSONResponse

from hg_localization.errors import (
    AuthenticationError,
    EntryNotFoundError,
    HGLocalizationError,
    InvalidInputError,
    NotFoundError,
    RepoDeniedError,
    RepoNotFoundError,
    RevisionNotFoundError,
)
from hg_localization.redact import redact

INVALID_CREDENTIALS = "Invalid credentials in Authorization header"
#: What a client reads when the server failed unexpectedly (the details go to the server's log only).
INTERNAL_ERROR = "The server failed to answer this request; its log says why."
#: The longest ``X-Error-Message`` sent (the JSON body has the whole message).
MESSAGE_HEADER_LIMIT = 500
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")

logger = logging.getLogger(__name__)


def header_value(text: str, *, limit: int | None = None) -> str:
    """``text`` as a valid HTTP header value: the one function every header built from input uses.

    Tabs and line breaks become spaces, other control characters (CR, NUL, …) ``%XX``,
    characters outside Latin-1 ``?``; no leading or trailing space; at most ``limit`` characters.
    """
    text = text.replace("\t", " ").replace("\n", " ")
    text = _CONTROL_RE.sub(lambda match: f"%{ord(match.group()):02X}", text)
    text = text.encode("latin-1", "replace").decode("latin-1")
    return (text[:limit] if limit is not None else text).strip()


def hub_error(
    status: int, message: str, code: str | None = None, *, commit: str | None = None
) -> JSONResponse:
    message = redact(message)  # every error answer: no URL's password, no configured secret
    headers = {"X-Error-Message": header_value(message, limit=MESSAGE_HEADER_LIMIT)}
    if code:
        headers["X-Error-Code"] = code
    if commit:
        headers["X-Repo-Commit"] = header_value(commit)
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
    if isinstance(exc, RepoDeniedError):  # refused by this server's lists, whatever the token
        return hub_error(403, exc.message)
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


async def not_found(request: Request, exc: Exception) -> JSONResponse:
    """A path no route matches (one with a line break, say), answered in the Hub's dialect."""
    return hub_error(404, f"Not found: {request.url.path}")


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    """The last resort: an unexpected exception is logged here and answered with a generic 500."""
    path = header_value(request.url.path, limit=MESSAGE_HEADER_LIMIT)
    logger.error("%s %s failed", request.method, path, exc_info=exc)
    return hub_error(500, INTERNAL_ERROR)
