"""The catalog's page URLs, the Hub's own: parsed from the raw request path, and built. Pure.

::

    /{id}                      /datasets/{id}                 the repo's page
    /{id}/tree/{rev}[/{path}]  /datasets/{id}/tree/{rev}[/…]  its files at a revision

``{id}`` is ``namespace/name`` or a bare ``name``; a revision is one encoded segment
(``refs%2Fpr%2F1``), as in the Hub API. Only GET and HEAD are pages, and no Hub API URL is one:
``/api/…``, ``…/resolve/…`` and ``….git/…`` are never parsed here. First segments the catalog
keeps for itself (``/models``, ``/compare``, …) are not ids without a namespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, unquote

from hg_localization.ids import RepoType

#: First path segments that are the catalog's or the server's own, never a bare repo id.
RESERVED = frozenset(
    {
        "api",
        "models",
        "datasets",
        "compare",
        "login",
        "logout",
        "static",
        "health",
        "metrics",
        "collections",
        "spaces",
    }
)


@dataclass(frozen=True)
class PageRoute:
    repo_type: RepoType
    repo_id: str
    view: Literal["repo", "tree"]
    revision: str | None = None
    path: str = ""


def parse_page(raw_path: str) -> PageRoute | None:
    """The repo page ``raw_path`` names, or None (another page, or one of the Hub API's URLs)."""
    segments = [s for s in raw_path.split("/") if s]
    if not segments or segments[0] == "api":
        return None
    repo_type: RepoType = "dataset" if segments[0] == "datasets" else "model"
    rest = segments[1:] if segments[0] in ("datasets", "models") else segments
    if not rest or (rest is segments and rest[0] in RESERVED):
        return None
    if len(rest) in (1, 2):
        return PageRoute(repo_type, "/".join(unquote(s) for s in rest), "repo")
    for id_length in (2, 1):
        if len(rest) > id_length + 1 and rest[id_length] == "tree":
            repo_id = "/".join(unquote(s) for s in rest[:id_length])
            path = unquote("/".join(rest[id_length + 2 :]))
            return PageRoute(repo_type, repo_id, "tree", unquote(rest[id_length + 1]), path)
    return None


def repo_url(repo_type: RepoType, repo_id: str) -> str:
    prefix = "/datasets/" if repo_type == "dataset" else "/"
    return prefix + quote(repo_id)


def tree_url(repo_type: RepoType, repo_id: str, revision: str, path: str = "") -> str:
    url = f"{repo_url(repo_type, repo_id)}/tree/{quote(revision, safe='')}"
    return f"{url}/{quote(path)}" if path else url


def resolve_url(repo_type: RepoType, repo_id: str, revision: str, path: str) -> str:
    return f"{repo_url(repo_type, repo_id)}/resolve/{quote(revision, safe='')}/{quote(path)}"
