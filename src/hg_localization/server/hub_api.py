"""The Hub's read API over a served ``Source``: repo info, trees, paths-info, refs, commits, resolve.

Answers exactly what unmodified ``huggingface_hub``, ``transformers`` and ``datasets`` read
(see shared/HUB-PROTOCOL.md): a 40-hex ``sha``, ``X-Repo-Commit`` and ``ETag`` on every file,
``Range`` answered with ``206``, ``Link``-paged trees, and the Hub's ``X-Error-Code`` misses.
No ``X-Xet-*`` header and no ``xetHash`` field is ever sent: they would switch clients to Xet.

Nothing that grows with a repo runs on the event loop: each answer is looked up and built in
one worker thread (``run_in_threadpool``), so a large tree or paths-info request never delays
another client or ``/health``. The exception is the small answers of a revision already answered
(resolve, and info once its body is built) from a source with a cheap freshness check
(:class:`~.answered.AnswerSignatures`: a few ``lstat`` calls for the store and for a folder of
repos, whose freshness :mod:`.folder_signature` states; the ttl for the bucket): they are answered
on the event loop (:meth:`HubReadApi.from_memory`, called by :mod:`.fast_reads` before any
routing), which saves the thread hop and the router that were most of their time (bench/README.md).

A paths-info request names at most :data:`PATHS_INFO_MAX_PATHS` paths (the Hub's own clients
send at most 1,000 at a time).
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

from hg_localization.errors import EntryNotFoundError, HGLocalizationError
from hg_localization.server.access_log import audit_download
from hg_localization.server.answered import AnsweredRevisions, AnswerKey
from hg_localization.server.auth import ServerTokens
from hg_localization.server.hub_json import (
    card_data,
    commits_json,
    paths_info_entries,
    repo_info_json,
    summary_json,
    tree_entries,
)
from hg_localization.server.responses import error_response, header_value, hub_error, unauthorized
from hg_localization.server.routing import ApiRoute, ListRoute, ResolveRoute
from hg_localization.server.served import ServedFile, ServedRepo, ServedRevision, Source

#: The most paths one paths-info request may name; more is a 400 that says so.
PATHS_INFO_MAX_PATHS = 1000
PATHS_INFO_TOO_MANY = (
    f"A paths-info request takes at most {PATHS_INFO_MAX_PATHS} paths: send them in batches of "
    f"{PATHS_INFO_MAX_PATHS}."
)
#: The longest field of a paths-info form: a repo path (≤ 1024 characters), percent-encoded.
_FORM_FIELD_MAX_BYTES = 16 * 1024


@dataclass
class HubReadApi:
    """The Hub's read API over one :class:`Source`: what unmodified clients call through HF_ENDPOINT.

    Repo info (``/api/models/{id}[/revision/{rev}]``), file trees and paths-info, HEAD/GET of
    ``/{id}/resolve/{rev}/{path}`` with the headers huggingface_hub reads (``X-Repo-Commit``,
    ``ETag``, ``X-Linked-Size``/``X-Linked-Etag`` for LFS files; /work/shared/HUB-PROTOCOL.md).
    Every request passes the token guard first (private repos, scoped tokens). Answers for a
    revision it answered before come from memory while the source's answer signature holds
    (:class:`AnswerSignatures`), on the event loop; anything that reads a disk or a bucket runs in
    the thread pool.
    """

    source: Source
    tokens: ServerTokens
    tree_page_size: int = 1000
    #: The revisions answered, their info answers and file headers (see :mod:`.answered`).
    memory: AnsweredRevisions = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.memory = AnsweredRevisions(self.source)

    def from_memory(self, scope: Scope, route: ResolveRoute | ApiRoute) -> Response | None:
        """The answer to a resolve, or to an info request, of a revision answered before while the
        source says it still holds (the token checked again); None when it needs the source (then
        the request is routed as any other). Runs on the event loop: a few syscalls at most."""
        request = Request(scope)
        found = self._answered(request, (route.repo_type, route.repo_id, route.revision))
        if found is None or isinstance(found, Response):
            return found
        if isinstance(route, ResolveRoute):
            return self._resolve_in(request, route, *found)
        return self.memory.info(found[1], _with_blobs(request))

    def _answered(
        self, request: Request, key: AnswerKey
    ) -> tuple[ServedRepo, ServedRevision] | Response | None:
        """The revision answered last for ``key`` while the source says it still holds (the token
        checked again), else None: then the answer is looked up in a worker thread."""
        found = self.memory.lookup(key)
        return None if found is None else self._guarded(request, *found)

    # --- access (each runs in a worker thread) -------------------------------------------------
    def _guard(self, request: Request, repo: ServedRepo) -> Response | None:
        """None when the request may read ``repo``, else the 401 to send (token scopes apply)."""
        if not repo.private:
            # A token this server does not know is ignored for public repos: users often have an
            # HF_TOKEN for huggingface.co set, and refusing it would break their public downloads.
            return None
        caller = self.tokens.identify(request)
        if caller.may_read(repo.repo_id):
            return None
        # An unknown token is told so; a known one whose scope leaves this repo out, like no token.
        return unauthorized(repo.repo_id, bad_token=caller.sent_token and not caller.grants)

    def _open(
        self, request: Request, repo_type: Any, repo_id: str, revision: str | None
    ) -> ServedRevision | Response:
        opened = self._open_in_repo(request, repo_type, repo_id, revision)
        return opened if isinstance(opened, Response) else opened[1]

    def _open_in_repo(
        self, request: Request, repo_type: Any, repo_id: str, revision: str | None
    ) -> tuple[ServedRepo, ServedRevision] | Response:
        key: AnswerKey = (repo_type, repo_id, revision)
        signature = self.memory.signature(key)  # before reading: a change meanwhile fails the next check
        try:
            repo = self.source.repo(repo_type, repo_id)
        except HGLocalizationError as exc:
            return error_response(exc)
        denied = self._guard(request, repo)
        if denied is not None:
            return denied
        try:
            resolved = self.source.resolve_in(repo, revision)
        except HGLocalizationError as exc:
            return error_response(exc)
        if signature is not None:
            self.memory.remember(key, signature, repo, resolved)
        return self._guarded(request, repo, resolved)

    def _guarded(
        self, request: Request, repo: ServedRepo, resolved: ServedRevision
    ) -> tuple[ServedRepo, ServedRevision] | Response:
        if repo.private:
            denied = self._guard(request, repo)
        elif resolved.private:  # private upstream, localized with a token
            denied = self._guard(request, replace(repo, private=True))
        else:
            return repo, resolved
        return denied or (repo, resolved)

    # --- GET /api/{type}s/{repo}[/revision/{rev}] ------------------------------------------------
    async def info(self, request: Request, route: ApiRoute) -> Response:
        found = self._answered(request, (route.repo_type, route.repo_id, route.revision))
        if isinstance(found, Response):
            return found
        if found is None:
            return await run_in_threadpool(self._info, request, route)
        answer = self.memory.info(found[1], _with_blobs(request))
        if answer is not None:
            return answer
        return await run_in_threadpool(self._info_answer, request, found[1])  # reads the README

    def _info(self, request: Request, route: ApiRoute) -> Response:
        opened = self._open(request, route.repo_type, route.repo_id, route.revision)
        return opened if isinstance(opened, Response) else self._info_answer(request, opened)

    def _info_answer(self, request: Request, opened: ServedRevision) -> Response:
        """The info answer, built once per revision and query variant (a source hands out one
        object per unchanged revision), then sent as it is to every request for it."""
        with_blobs = _with_blobs(request)
        answer = self.memory.info(opened, with_blobs)
        if answer is None:
            body = JSONResponse(repo_info_json(opened, card_data(opened), with_blobs=with_blobs)).body
            answer = self.memory.keep_info(opened, with_blobs, bytes(body))
        return answer

    # --- GET /api/{type}s/{repo}/commits/{rev} ---------------------------------------------------
    async def commits(self, request: Request, route: ApiRoute) -> Response:
        return await run_in_threadpool(self._commits, request, route)

    def _commits(self, request: Request, route: ApiRoute) -> Response:
        opened = self._open(request, route.repo_type, route.repo_id, route.revision)
        if isinstance(opened, Response):
            return opened
        return JSONResponse(commits_json(opened))

    # --- GET /api/{type}s -----------------------------------------------------------------------
    async def list(self, request: Request, route: ListRoute) -> Response:
        return await run_in_threadpool(self._list, request, route)

    def _list(self, request: Request, route: ListRoute) -> Response:
        caller = self.tokens.identify(request)
        search = request.query_params.get("search", "").lower()
        author = request.query_params.get("author")
        result = []
        for repo in self.source.list_repos(route.repo_type):
            may_read = caller.may_read(repo.repo_id)  # token scopes: only the private repos it covers
            if repo.private and not may_read:
                continue
            if search and search not in repo.repo_id.lower():
                continue
            if author and repo.repo_id.split("/")[0] != author:
                continue
            try:
                revision = self.source.resolve_in(repo, None)
            except HGLocalizationError:
                continue
            if revision.private and not may_read:
                continue
            result.append(summary_json(revision))
        limit = _int(request.query_params.get("limit"), len(result))
        return JSONResponse(result[:limit])

    # --- GET /api/{type}s/{repo}/refs -------------------------------------------------------------
    async def refs(self, request: Request, route: ApiRoute) -> Response:
        return await run_in_threadpool(self._refs, request, route)

    def _refs(self, request: Request, route: ApiRoute) -> Response:
        try:
            repo = self.source.repo(route.repo_type, route.repo_id)
        except HGLocalizationError as exc:
            return error_response(exc)
        denied = self._guard(request, repo)
        if denied is not None:
            return denied
        branches: list[dict[str, str]] = []
        tags: list[dict[str, str]] = []
        pull_requests: list[dict[str, str]] = []
        for revision in self.source.served_revisions(repo):  # a damaged revision is left out
            name = revision.revision
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

    # --- GET /api/{type}s/{repo}/tree/{rev}[/{path}] ----------------------------------------------
    async def tree(self, request: Request, route: ApiRoute) -> Response:
        return await run_in_threadpool(self._tree, request, route)

    def _tree(self, request: Request, route: ApiRoute) -> Response:
        opened = self._open(request, route.repo_type, route.repo_id, route.revision)
        if isinstance(opened, Response):
            return opened
        recursive = request.query_params.get("recursive", "").lower() == "true"
        expand = request.query_params.get("expand", "").lower() == "true"
        base = route.path.strip("/")
        if base and not opened.is_directory(base):
            missing = EntryNotFoundError(opened.repo_id, base, route.revision)
            return error_response(missing, commit=opened.commit)
        entries = list(tree_entries(opened, base, recursive, expand))
        start = _int(request.query_params.get("cursor"), 0)
        size = min(_int(request.query_params.get("limit"), self.tree_page_size), self.tree_page_size)
        headers = {"X-Repo-Commit": header_value(opened.commit)}
        if start + size < len(entries):
            headers["Link"] = header_value(f'<{_next_page_url(request, start + size)}>; rel="next"')
        return JSONResponse(entries[start : start + size], headers=headers)

    # --- POST /api/{type}s/{repo}/paths-info/{rev} ------------------------------------------------
    async def paths_info(self, request: Request, route: ApiRoute) -> Response:
        opened = await run_in_threadpool(self._open, request, route.repo_type, route.repo_id, route.revision)
        if isinstance(opened, Response):
            return opened
        form = await _paths_form(request)
        if isinstance(form, Response):
            return form
        return await run_in_threadpool(_paths_info_answer, opened, *form)

    # --- HEAD/GET [/datasets]/{repo}/resolve/{rev}/{path} -----------------------------------------
    async def resolve(self, request: Request, route: ResolveRoute) -> Response:
        found = self._answered(request, (route.repo_type, route.repo_id, route.revision))
        if found is not None:  # the file is still opened and checked afresh: a few syscalls
            return found if isinstance(found, Response) else self._resolve_in(request, route, *found)
        return await run_in_threadpool(self._resolve, request, route)

    def _resolve(self, request: Request, route: ResolveRoute) -> Response:
        found = self._open_in_repo(request, route.repo_type, route.repo_id, route.revision)
        if isinstance(found, Response):
            return found
        return self._resolve_in(request, route, *found)

    def _resolve_in(
        self, request: Request, route: ResolveRoute, repo: ServedRepo, opened: ServedRevision
    ) -> Response:
        served = opened.file(route.path)
        answer = None
        if served is not None:
            headers = self._file_headers(opened, served, immutable=route.revision == opened.commit)
            answer = self.source.file_response(opened, served, dict(headers))
        if answer is None:  # not in the revision, gone, or a link out of the root
            missing = EntryNotFoundError(opened.repo_id, route.path, route.revision)
            return error_response(missing, commit=opened.commit)
        if request.method == "GET" and (repo.private or opened.private):
            client = request.client.host if request.client else "-"
            audit_download(self.tokens.identify(request).name, client, opened, route.revision, route.path)
        return answer

    def _file_headers(
        self, revision: ServedRevision, served: ServedFile, *, immutable: bool
    ) -> dict[str, str]:
        """:func:`file_headers`, built once per file of a loaded revision (callers copy it)."""
        headers = self.memory.headers(revision, served.path, immutable)
        if headers is None:
            headers = file_headers(revision, served, immutable=immutable)
            self.memory.keep_headers(revision, served.path, immutable, headers)
        return headers


def _with_blobs(request: Request) -> bool:
    if not request.scope.get("query_string"):  # the usual request: no query to parse
        return False
    return request.query_params.get("blobs", "").lower() == "true"


def file_headers(revision: ServedRevision, served: ServedFile, *, immutable: bool) -> dict[str, str]:
    """The Hub's headers for one file, whatever its bytes come from."""
    etag = header_value(f'"{served.etag}"')
    return {
        "X-Repo-Commit": header_value(revision.commit),
        "ETag": etag,
        "X-Linked-Etag": etag,
        "X-Linked-Size": str(served.size),
        "Accept-Ranges": "bytes",
        "Content-Disposition": header_value(
            f"inline; filename*=UTF-8''{quote(served.path.rsplit('/', 1)[-1])}"
        ),
        "Content-Type": mimetypes.guess_type(served.path)[0] or "application/octet-stream",
        "Cache-Control": "public, max-age=31536000, immutable" if immutable else "no-cache",
    }


async def _paths_form(request: Request) -> tuple[list[str], bool] | Response:
    """The ``paths`` and ``expand`` of a paths-info form, or the 400 to send (too many, too long)."""
    try:
        form = await request.form(
            max_files=0, max_fields=PATHS_INFO_MAX_PATHS + 8, max_part_size=_FORM_FIELD_MAX_BYTES
        )
    except (HTTPException, MultiPartException) as exc:
        detail = exc.detail if isinstance(exc, HTTPException) else exc.message
        if "Too many fields" in str(detail):
            return hub_error(400, PATHS_INFO_TOO_MANY)
        return hub_error(400, f"The paths-info form was refused: {detail}")
    paths = form.getlist("paths")
    if len(paths) > PATHS_INFO_MAX_PATHS:
        return hub_error(400, PATHS_INFO_TOO_MANY)
    expand = str(form.get("expand", "")).lower() == "true"
    return [str(p).strip("/") for p in paths], expand


def _paths_info_answer(revision: ServedRevision, paths: list[str], expand: bool) -> Response:
    entries = paths_info_entries(revision, paths, expand)
    return JSONResponse(entries, headers={"X-Repo-Commit": header_value(revision.commit)})


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
    """A non-negative query parameter (``limit``, ``cursor``); anything else is ``default``."""
    if value and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return default
