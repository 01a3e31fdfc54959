"""What the Hub says a revision is: its commit id and its files, each checked before it is used.

The upstream is not trusted: a commit id must be 40 lowercase hex characters (it becomes a
folder's metadata and the ``X-Repo-Commit`` this project serves), a file entry must have a safe
path, a size and well-formed checksums, and a listing must end (``Link``-paged trees are
followed to at most :data:`MAX_TREE_PAGES` pages and :data:`MAX_TREE_ENTRIES` entries, never in
a loop, never to another server).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from hg_localization.errors import InvalidInputError, UpstreamError
from hg_localization.hub.http import HubHttp, ResponseHeaders
from hg_localization.ids import RepoId, RepoType, validate_repo_path

#: At most this many entries in one revision's file listing (the Hub's largest repos have ~10^5).
MAX_TREE_ENTRIES = 1_000_000
#: At most this many pages of a file listing (the Hub sends up to 1000 entries a page).
MAX_TREE_PAGES = 10_000

_COMMIT = re.compile(r"[0-9a-f]{40}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_HOSTILE = "Nothing was written. The upstream server is broken or hostile; do not use it."


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
class ListingLimits:
    """Where a file listing stops (an endless ``Link`` chain ends here with an error)."""

    entries: int = MAX_TREE_ENTRIES
    pages: int = MAX_TREE_PAGES


def info_url(endpoint: str, repo_type: RepoType, repo_id: RepoId, revision: str) -> str:
    return f"{endpoint}/api/{repo_type}s/{repo_id}/revision/{quote(revision, safe='')}"


def tree_url(endpoint: str, repo_type: RepoType, repo_id: RepoId, commit: str) -> str:
    return f"{endpoint}/api/{repo_type}s/{repo_id}/tree/{quote(commit, safe='')}"


def checked_commit(value: object, endpoint: str, repo_id: RepoId, revision: str) -> str:
    """The commit id the Hub gave for ``revision``, refused unless it is 40 lowercase hex characters."""
    if isinstance(value, str) and _COMMIT.fullmatch(value):
        return value
    if not value:
        raise UpstreamError(f"The Hub at {endpoint} did not say which commit '{revision}' is.")
    shown = repr(value)
    shown = shown if len(shown) <= 80 else f"{shown[:77]}..."
    raise UpstreamError(
        f"The Hub at {endpoint} gave an invalid commit id for '{revision}' of '{repo_id}': {shown} "
        "(a commit id is 40 lowercase hex characters).",
        hint=_HOSTILE,
    )


def list_files(
    http: HubHttp, url: str, repo_id: RepoId, limits: ListingLimits | None = None
) -> tuple[RemoteFile, ...]:
    """Every file of a revision, following the listing's pages within ``limits``."""
    limits = limits or ListingLimits()
    files: dict[str, RemoteFile] = {}
    seen = {url}
    next_url: str | None = url
    params: Mapping[str, str] | None = {"recursive": "true", "expand": "false"}
    pages = entries = 0
    while next_url is not None:
        pages += 1
        if pages > limits.pages:
            raise _endless(http.endpoint, repo_id, f"more than {limits.pages} pages")
        page, headers = http.get_json(next_url, params)
        if not isinstance(page, list):
            raise UpstreamError(
                f"The Hub at {http.endpoint} sent a file listing of '{repo_id}' that is not a list."
            )
        entries += len(page)
        if entries > limits.entries:
            raise _endless(http.endpoint, repo_id, f"more than {limits.entries} entries")
        for entry in page:
            remote = parse_entry(entry, http.endpoint, repo_id)
            if remote is not None:
                if remote.path in files:
                    raise UpstreamError(
                        f"The Hub at {http.endpoint} listed '{remote.path}' twice in '{repo_id}'.",
                        hint=_HOSTILE,
                    )
                files[remote.path] = remote
        next_url, params = _next_page(headers, next_url, url, seen, http.endpoint, repo_id), None
    return tuple(files.values())


def _next_page(
    headers: ResponseHeaders, current: str, first: str, seen: set[str], endpoint: str, repo_id: RepoId
) -> str | None:
    """The next page's URL from a ``Link`` header; never one already read, never another server."""
    if not any(name == "link" for name, _ in headers):
        return None
    import httpx2  # its Link parser; only for a listing in pages

    response = httpx2.Response(200, headers=headers)
    link = response.links.get("next", {}).get("url")
    if not link:
        return None
    target = urljoin(current, link)
    if _origin(target) != _origin(first):
        raise UpstreamError(
            f"The Hub at {endpoint} sent the file listing of '{repo_id}' on to another server "
            f"({_origin(target)[1]}); it was not followed.",
            hint=_HOSTILE,
        )
    if target in seen:
        raise _endless(endpoint, repo_id, "pages that lead back to each other")
    seen.add(target)
    return target


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.rsplit("@", 1)[-1].lower()


def _endless(endpoint: str, repo_id: RepoId, what: str) -> UpstreamError:
    return UpstreamError(
        f"The Hub at {endpoint} listed the files of '{repo_id}' in {what}; the listing was stopped.",
        hint=_HOSTILE,
    )


def parse_entry(entry: object, endpoint: str, repo_id: RepoId) -> RemoteFile | None:
    """A file entry of a listing, checked; None for a folder."""
    if not isinstance(entry, dict):
        raise UpstreamError(
            f"The Hub at {endpoint} sent a malformed file listing of '{repo_id}'.", hint=_HOSTILE
        )
    if entry.get("type") != "file":
        return None
    path = _checked_path(entry.get("path"), endpoint, repo_id)
    size, oid, lfs = entry.get("size"), entry.get("oid"), entry.get("lfs")
    lfs_oid = lfs.get("oid") if isinstance(lfs, dict) else None
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _unverifiable(endpoint, repo_id, path, "no size")
    if not isinstance(oid, str) or not _COMMIT.fullmatch(oid):
        raise _unverifiable(endpoint, repo_id, path, "no git blob id")
    if lfs is not None and not (isinstance(lfs_oid, str) and _SHA256.fullmatch(lfs_oid)):
        raise _unverifiable(endpoint, repo_id, path, "a malformed LFS sha256")
    return RemoteFile(path=path, size=size, git_sha1=oid, lfs_sha256=lfs_oid if lfs is not None else None)


def _unverifiable(endpoint: str, repo_id: RepoId, path: str, problem: str) -> UpstreamError:
    return UpstreamError(
        f"The Hub at {endpoint} listed '{path}' of '{repo_id}' with {problem}: it cannot be verified.",
        hint=_HOSTILE,
    )


def _checked_path(path: object, endpoint: str, repo_id: RepoId) -> str:
    """A file path the Hub listed, refused if it could leave the folder it is written to."""
    try:
        return validate_repo_path(path)
    except InvalidInputError as exc:
        raise UpstreamError(
            f"The Hub at {endpoint} listed an unsafe file path in '{repo_id}': {exc.message}",
            hint=_HOSTILE,
        ) from None
