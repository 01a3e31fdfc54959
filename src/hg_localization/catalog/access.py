"""Who is visiting: a read token in the ``Authorization`` header, or in the catalog's cookie.

The cookie is set by the token form (``POST /login``): ``HttpOnly`` (no script reads it),
``SameSite=Strict`` (no other site's page sends it), ``Path=/``, ``Secure`` over HTTPS. The form
is refused when the browser says it was sent from another origin (``Origin``, else
``Sec-Fetch-Site``): with SameSite, that is the CSRF defence. The token is never logged or shown.

A token scoped to some repos (``read:TOKEN:acme/*`` in the tokens file) shows exactly the
private repos its globs cover (:func:`read_scope`), in the pages, the search and the JSON API.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response

from hg_localization.catalog.model import ReadScope
from hg_localization.server.auth import ServerTokens, TokenGrant, bearer_token

COOKIE_NAME = "hgloc_catalog_token"
#: A token longer than this is no token this server issued (and is not compared).
TOKEN_MAX_CHARS = 4096


def visitor_token(request: Request) -> str | None:
    """The token the visitor sent: the ``Authorization`` header first, else the catalog's cookie."""
    token = bearer_token(request) or request.cookies.get(COOKIE_NAME) or None
    return token if token is not None and len(token) <= TOKEN_MAX_CHARS else None


def grants_of(tokens: ServerTokens, token: str | None) -> tuple[TokenGrant, ...]:
    """The grants of ``token`` (every line of the tokens file it is on), compared in constant time."""
    if token is None:
        return ()
    candidate = token.encode("utf-8", "surrogateescape")
    found = []
    for grant in tokens.all_grants:  # compare with every token, whatever matched before
        if hmac.compare_digest(grant.token.encode("utf-8", "surrogateescape"), candidate):
            found.append(grant)
    return tuple(found)


def is_read_token(tokens: ServerTokens, token: str) -> bool:
    """True when ``token`` may read some private repos (a read or a write token, scoped or not)."""
    return bool(grants_of(tokens, token))


def may_read(request: Request, tokens: ServerTokens) -> bool:
    """Whether the visitor sent a token this server knows (the pages say so: "Token ✓")."""
    return bool(grants_of(tokens, visitor_token(request)))


def read_scope(request: Request, tokens: ServerTokens) -> ReadScope:
    """Which private repos the visitor may see: all (an unscoped token), none, or those its globs cover."""
    grants = grants_of(tokens, visitor_token(request))
    if any(not grant.repos for grant in grants):
        return True
    if not grants:
        return False
    return lambda repo_id: any(grant.covers(repo_id) for grant in grants)


def same_origin(request: Request) -> bool:
    """False when the browser says the form came from another site (the CSRF check)."""
    origin = request.headers.get("origin")
    if origin is not None:
        own = f"{request.url.scheme}://{request.url.netloc}"
        return origin == own
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


def set_token_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        COOKIE_NAME,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_token_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE_NAME, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/"
    )


def local_path(target: str | None) -> str:
    """Where to go after the form: a path on this server, never another site (``//evil``, ``/\\evil``)."""
    if not target or not target.startswith("/") or target[1:2] in ("/", "\\"):
        return "/"
    if any(ord(char) < 0x20 or char == "\\" for char in target):
        return "/"
    return target
