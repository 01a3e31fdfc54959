"""The Hub's read API over a :class:`RepoSource`: repo info, trees, paths-info, refs, resolve.

Answers exactly what unmodified ``huggingface_hub``, ``transformers`` and ``datasets`` read
(see shared/HUB-PROTOCOL.md): a 40-hex ``sha``, ``X-Repo-Commit`` and ``ETag`` on every file,
``Range`` answered with ``206``, ``Link``-paged trees, and the Hub's ``X-Error-Code`` misses.
No ``X-Xet-*`` header and no ``xetHash`` field is ever sent: they would switch clients to Xet.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import yaml
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from hg_localization.errors import EntryNotFoundError, HGLocalizationError
from hg_localization.server.auth import ServerTokens
from hg_localization.server.repo_source import RepoSource, ServedFile, ServedRepo, ServedRevision
from hg_localization.server.responses import error_response, unauthorized
from hg_localization.server.routing import ApiRoute, ListRoute, ResolveRoute

CARD_MAX_BYTES = 1024 * 1024


@dataclass
class HubReadApi:
    source: RepoSource
    tokens: ServerTokens
    tree_page_size: int = 1000

    # --- access ------------------------------------------------------------------------------
    def _guard(self, request: Request, repo: ServedRepo) -> Response | None:
        """None when the request may read ``repo``, else the 401 to send."""
        sent, may_read, _ = self.tokens.check(request)
        # A token this server does not know is ignored for public repos: users often have an
        # HF_TOKEN for huggingface.co set, and refusing it would break their public downloads.
        if sent and not may_read and repo.private:
            return unauthorized(repo.repo_id, bad_token=True)
        if repo.private and not may_read:
            return unauthorized(repo.repo_id, bad_token=False)
        return None

    async def _open(
        self, request: Request, repo_type: Any, repo_id: str, revision: str | None
    ) -> ServedRevision | Response:
        try:
            repo = await run_in_threadpool(self.source.repo, repo_type, repo_id)
        except HGLocalizationError as exc:
            return error_response(exc)
        denied = self._guard(request, repo)
        if denied is not None:
            return denied
        try:
            resolved = await run_in_threadpool(self.source.resolve_in, repo, revision)
        except HGLocalizationError as exc:
            return error_response(exc)
        if resolved.private and not repo.private:  # private upstream, localized with a token
            denied = self._guard(request, replace(repo, private=True))
            if denied is not None:
                return denied
        return resolved

    # --- /api/{type}s/{repo}[/revision/{rev}] --------------------------------------------------
    async def info(self, request: Request, route: ApiRoute) -> Response:
        opened = await self._open(request, route.repo_type, route.repo_id, route.revision)
        if isinstance(opened, Response):
            return opened
        with_blobs = request.query_params.get("blobs", "").lower() == "true"
        card = await run_in_threadpool(card_data, opened)
        return JSONResponse(repo_info_json(opened, card, with_blobs=with_blobs))

    # --- /api/{type}s -----------------------------------------------------------------------
    async def list(self, request: Request, route: ListRoute) -> Response:
        _, may_read, _ = self.tokens.check(request)
        search = request.query_params.get("search", "").lower()
        author = request.query_params.get("author")
        repos = await run_in_threadpool(self.source.list_repos, route.repo_type)
        result = []
        for repo in repos:
            if repo.private and not may_read:
                continue
            if search and search not in repo.repo_id.lower():
                continue
            if author and repo.repo_id.split("/")[0] != author:
                continue
            try:
                revision = await run_in_threadpool(self.source.resolve_in, repo, None)
            except HGLocalizationError:
                continue
            if revision.private and not may_read:
                continue
            result.append(_summary_json(revision))
        limit = request.query_params.get("limit")
        if limit and limit.isdigit():
            result = result[: int(limit)]
        return JSONResponse(result)

    # --- /api/{type}s/{repo}/refs -------------------------------------------------------------
    async def refs(self, request: Request, route: ApiRoute) -> Response:
        try:
            repo = await run_in_threadpool(self.source.repo, route.repo_type, route.repo_id)
        except HGLocalizationError as exc:
            return error_response(exc)
        denied = self._guard(request, repo)
        if denied is not None:
            return denied
        branches: list[dict[str, str]] = []
        tags: list[dict[str, str]] = []
        pull_requests: list[dict[str, str]] = []
        for name in repo.revisions:
            revision = await run_in_threadpool(self.source.resolve, route.repo_type, route.repo_id, name)
            if name.startswith("refs/pr/"):
                pull_requests.append({"name": name, "ref": name, "targetCommit": revision.commit})
            elif name in repo.tags:
                tags.append({"name": name, "ref": f"refs/tags/{name}", "targetCommit": revision.commit})
            else:
                branches.append({"name": name, "ref": f"refs/heads/{name}", "targetCommit": revision.commit})
        answer: dict[str, Any] = {"branches": branches, "tags": tags, "converts": []}
        if request.query_params.get("include_prs", "").lower() in ("1", "true"):
            answer["pullRequests"] = pull_requests  # the Hub sends this key only when asked
        return JSONResponse(answer)

    # --- /api/{type}s/{repo}/tree/{rev}[/{path}] ------------------------------------------------
    async def tree(self, request: Request, route: ApiRoute) -> Response:
        opened = await self._open(request, route.repo_type, route.repo_id, route.revision)
        if isinstance(opened, Response):
            return opened
        recursive = request.query_params.get("recursive", "").lower() == "true"
        expand = request.query_params.get("expand", "").lower() == "true"
        base = route.path.strip("/")
        if base and not _is_directory(opened, base):
            missing = EntryNotFoundError(opened.repo_id, base, route.revision)
            return error_response(missing, commit=opened.commit)
        entries = list(_tree_entries(opened, base, recursive, expand))
        start = _int(request.query_params.get("cursor"), 0)
        size = min(_int(request.query_params.get("limit"), self.tree_page_size), self.tree_page_size)
        page = entries[start : start + size]
        headers = {"X-Repo-Commit": opened.commit}
        if start + size < len(entries):
            headers["Link"] = f'<{_next_page_url(request, start + size)}>; rel="next"'
        return JSONResponse(page, headers=headers)

    # --- POST /api/{type}s/{repo}/paths-info/{rev} ----------------------------------------------
    async def paths_info(self, request: Request, route: ApiRoute) -> Response:
        opened = await self._open(request, route.repo_type, route.repo_id, route.revision)
        if isinstance(opened, Response):
            return opened
        form = await request.form()
        expand = str(form.get("expand", "")).lower() == "true"
        wanted = [str(p).strip("/") for p in form.getlist("paths")]
        result = []
        for path in wanted:
            served = opened.file(path)
            if served is not None:
                result.append(_file_entry(served, opened, expand))
            elif path and _is_directory(opened, path):
                result.append(_dir_entry(path, opened, expand))
        return JSONResponse(result, headers={"X-Repo-Commit": opened.commit})

    # --- HEAD/GET [/datasets]/{repo}/resolve/{rev}/{path} ---------------------------------------
    async def resolve(self, request: Request, route: ResolveRoute) -> Response:
        opened = await self._open(request, route.repo_type, route.repo_id, route.revision)
        if isinstance(opened, Response):
            return opened
        served = opened.file(route.path)
        if served is None or not served.disk_path.is_file():
            return error_response(
                EntryNotFoundError(opened.repo_id, route.path, route.revision), commit=opened.commit
            )
        etag = f'"{served.etag}"'
        headers = {
            "X-Repo-Commit": opened.commit,
            "ETag": etag,
            "X-Linked-Etag": etag,
            "X-Linked-Size": str(served.size),
            "Accept-Ranges": "bytes",
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(served.path.rsplit('/', 1)[-1])}",
            "Cache-Control": "public, max-age=31536000, immutable"
            if route.revision == opened.commit
            else "no-cache",
        }
        media_type = mimetypes.guess_type(served.path)[0] or "application/octet-stream"
        return _RepoFileResponse(served.disk_path, headers=headers, media_type=media_type)


class _RepoFileResponse(FileResponse):
    """Starlette's Range-capable file answer, in 1 MiB chunks: 64 KiB chunks (one thread hop each)
    cap a large download at a fraction of what the disk and loopback can do (bench/README.md)."""

    chunk_size = 1024 * 1024


# --- JSON shapes ------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    """``2024-06-01T12:00:00.000Z``: huggingface_hub parses only this form (UTC, with a ``Z``)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _lfs_pointer_size(served: ServedFile) -> int:
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{served.sha256}\nsize {served.size}\n"
    return len(pointer)


def card_data(revision: ServedRevision) -> dict[str, Any]:
    """The YAML front matter of the repo's README.md, as the Hub's ``cardData``."""
    readme = revision.file("README.md")
    if readme is None or readme.size > CARD_MAX_BYTES:
        return {}
    try:
        text = readme.disk_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    return parse_front_matter(text)


def parse_front_matter(text: str) -> dict[str, Any]:
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end == -1:
        return {}
    try:
        data = yaml.safe_load(text[3:end])
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def repo_info_json(revision: ServedRevision, card: dict[str, Any], *, with_blobs: bool) -> dict[str, Any]:
    siblings = []
    for served in revision.files:
        sibling: dict[str, Any] = {"rfilename": served.path}
        if with_blobs:
            sibling["size"] = served.size
            sibling["blobId"] = served.git_sha1
            if served.lfs:
                sibling["lfs"] = {
                    "sha256": served.sha256,
                    "size": served.size,
                    "pointerSize": _lfs_pointer_size(served),
                }
        siblings.append(sibling)
    tags = card.get("tags") if isinstance(card.get("tags"), list) else []
    info: dict[str, Any] = {
        **_summary_json(revision),
        "disabled": False,
        "gated": False,
        "tags": tags,
        "siblings": siblings,
        "cardData": card,
        "createdAt": _iso(revision.last_modified),
        "usedStorage": sum(f.size for f in revision.files),
    }
    if revision.repo_type == "model":
        for key in ("library_name", "pipeline_tag"):
            if isinstance(card.get(key), str):
                info[key] = card[key]
    return info


def _summary_json(revision: ServedRevision) -> dict[str, Any]:
    namespace = revision.repo_id.split("/")[0] if "/" in revision.repo_id else None
    summary: dict[str, Any] = {
        "_id": revision.commit[:24],
        "id": revision.repo_id,
        "author": namespace,
        "sha": revision.commit,
        "lastModified": _iso(revision.last_modified),
        "private": revision.private,
        "downloads": 0,
        "likes": 0,
    }
    if revision.repo_type == "model":
        summary["modelId"] = revision.repo_id
    return summary


def _file_entry(served: ServedFile, revision: ServedRevision, expand: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "file", "oid": served.git_sha1, "size": served.size, "path": served.path}
    if served.lfs:
        entry["lfs"] = {"oid": served.sha256, "size": served.size, "pointerSize": _lfs_pointer_size(served)}
    if expand:
        entry["lastCommit"] = _last_commit(revision)
        entry["securityFileStatus"] = {"status": "safe"}
    return entry


def _dir_entry(path: str, revision: ServedRevision, expand: bool) -> dict[str, Any]:
    oid = hashlib.sha1(f"{revision.commit}:{path}".encode()).hexdigest()
    entry: dict[str, Any] = {"type": "directory", "oid": oid, "size": 0, "path": path}
    if expand:
        entry["lastCommit"] = _last_commit(revision)
    return entry


def _last_commit(revision: ServedRevision) -> dict[str, str]:
    return {
        "id": revision.commit,
        "title": f"Revision {revision.revision}",
        "date": _iso(revision.last_modified),
    }


def _directories(revision: ServedRevision) -> set[str]:
    folders = set()
    for served in revision.files:
        parts = served.path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            folders.add("/".join(parts[:depth]))
    return folders


def _is_directory(revision: ServedRevision, path: str) -> bool:
    return path in _directories(revision)


def _tree_entries(
    revision: ServedRevision, base: str, recursive: bool, expand: bool
) -> Iterable[dict[str, Any]]:
    prefix = f"{base}/" if base else ""
    depth = prefix.count("/")
    folders = sorted(d for d in _directories(revision) if d.startswith(prefix))
    files = sorted((f for f in revision.files if f.path.startswith(prefix)), key=lambda f: f.path)
    for folder in folders:
        if recursive or folder.count("/") == depth:
            yield _dir_entry(folder, revision, expand)
    for served in files:
        if recursive or served.path.count("/") == depth:
            yield _file_entry(served, revision, expand)


def _next_page_url(request: Request, cursor: int) -> str:
    """This request's URL with ``cursor`` set, keeping the path as it was sent (still encoded).

    ``request.url`` holds the decoded path, which would turn ``tree/refs%2Fpr%2F1`` into
    ``tree/refs/pr/1``: another revision and path altogether.
    """
    url = request.url.include_query_params(cursor=str(cursor))
    raw_path = request.scope.get("raw_path")
    if isinstance(raw_path, bytes) and raw_path:
        url = url.replace(path=raw_path.decode("latin-1").split("?", 1)[0])
    return str(url)


def _int(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() else default
