"""The catalog's JSON API (``/api/catalog/…``): what the pages show, for scripts.

Every parameter is checked as the OpenAPI description (:mod:`.openapi`) states it, and a value
it does not allow is a 400 that says which; a repo that is not there, or that the caller may not
read, is a 404. Answers are the pydantic models of :mod:`.schemas`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

import hg_localization.catalog.access as access
import hg_localization.catalog.web as web
from hg_localization.catalog.cards import CardRenderer
from hg_localization.catalog.collection_views import CatalogCollections, RepoIndex
from hg_localization.catalog.compare import compare_sides, load_side
from hg_localization.catalog.index import Catalog, Query
from hg_localization.catalog.model import KINDS
from hg_localization.catalog.openapi import openapi_document
from hg_localization.catalog.schemas import (
    CollectionListOut,
    CollectionOut,
    CollectionSummaryOut,
    CompareOut,
    CompareRowOut,
    FileOut,
    RepoDetailOut,
    RepoListOut,
    RepoOut,
    RevisionOut,
    SideOut,
    SnippetOut,
    StatsOut,
    jsonable,
)
from hg_localization.catalog.views import default_revision, repo_view
from hg_localization.errors import InvalidInputError, NotFoundError
from hg_localization.ids import RepoType
from hg_localization.server.auth import ServerTokens

MAX_LIMIT = 500
MAX_OFFSET = 1_000_000


class BadParameter(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class CatalogApi:
    catalog: Catalog
    tokens: ServerTokens
    cards: CardRenderer

    async def openapi(self, request: Request) -> Response:
        return web.json_answer(request, openapi_document())

    async def stats(self, request: Request) -> Response:
        return await self._run(request, self._stats)

    async def models(self, request: Request) -> Response:
        return await self._run(request, self._list, "model")

    async def datasets(self, request: Request) -> Response:
        return await self._run(request, self._list, "dataset")

    async def model(self, request: Request) -> Response:
        return await self._run(request, self._detail, "model")

    async def dataset(self, request: Request) -> Response:
        return await self._run(request, self._detail, "dataset")

    async def compare(self, request: Request) -> Response:
        return await self._run(request, self._compare)

    async def collections(self, request: Request) -> Response:
        return await self._run(request, self._collections)

    async def collection(self, request: Request) -> Response:
        return await self._run(request, self._collection)

    async def not_found(self, request: Request) -> Response:
        return web.error_json(request, 404, f"Not found: {request.url.path}")

    async def not_allowed(self, request: Request) -> Response:
        answer = web.error_json(request, 405, "The catalog API is read-only: use GET.")
        answer.headers["Allow"] = "GET, HEAD"
        return answer

    async def _run(self, request: Request, handler: Any, *args: Any) -> Response:
        web.mark_start(request)
        try:
            answer: BaseModel = await run_in_threadpool(handler, request, *args)
        except BadParameter as exc:
            return web.error_json(request, 400, exc.message)
        except NotFoundError as exc:
            return web.error_json(request, 404, exc.message)
        except InvalidInputError as exc:
            return web.error_json(request, 422, exc.message)
        return web.json_text(request, answer.model_dump_json())

    # --- handlers (worker threads) --------------------------------------------------------------
    def _stats(self, request: Request) -> StatsOut:
        found = self.catalog.stats(may_read=access.read_scope(request, self.tokens))
        return StatsOut(
            models=found.models,
            datasets=found.datasets,
            revisions=found.revisions,
            size=found.size,
            by_kind=found.by_kind,
            by_source=found.by_source,
            sources=list(self.catalog.labels),
        )

    def _list(self, request: Request, repo_type: RepoType) -> RepoListOut:
        query, limit, offset = list_params(request.query_params)
        found = self.catalog.search(repo_type, query, may_read=access.read_scope(request, self.tokens))
        items = [RepoOut.of(entry) for entry in found[offset : offset + limit]]
        return RepoListOut(items=items, total=len(found), offset=offset, limit=limit)

    def _detail(self, request: Request, repo_type: RepoType) -> RepoDetailOut:
        name = request.path_params["name"]
        namespace = request.path_params.get("namespace")
        repo_id = f"{namespace}/{name}" if namespace else name
        revision_name = _text(request.query_params, "revision")
        repo = self.catalog.find(repo_type, repo_id, may_read=access.read_scope(request, self.tokens))
        if revision_name is None:
            revision = default_revision(self.catalog, repo)
        else:
            revision = self.catalog.revision(repo, revision_name)
        view = repo_view(self.catalog, self.cards, repo, revision, str(request.base_url).rstrip("/"))
        return RepoDetailOut(
            repo=RepoOut.of(repo),
            revision=RevisionOut.of(revision),
            revisions=[RevisionOut.of(r) for r in repo.revisions],
            files=[FileOut(path=f.path, size=f.size, sha256=f.sha256, lfs=f.lfs) for f in revision.files],
            card_html=view.card.html,
            card_truncated=view.card.truncated,
            card_data=jsonable(view.card.front_matter),
            config=jsonable(view.config) if view.config is not None else None,
            config_problem=view.config_problem,
            snippets=[SnippetOut(title=s.title, code=s.code) for s in view.snippets],
        )

    def _collections(self, request: Request) -> CollectionListOut:
        shelf, index = self._shelf(request)
        return CollectionListOut(items=[CollectionSummaryOut.of(view) for view in shelf.views(index)])

    def _collection(self, request: Request) -> CollectionOut:
        shelf, index = self._shelf(request)
        return CollectionOut.of_view(shelf.view(str(request.path_params["name"]), index))

    def _shelf(self, request: Request) -> tuple[CatalogCollections, RepoIndex]:
        shelf = self.catalog.collections
        if shelf is None:
            hint = "Start it with: hg-localization serve --collections FILE"
            raise NotFoundError("This server shows no collections.", hint=hint)
        scope = access.read_scope(request, self.tokens)
        return shelf, lambda repo_type: self.catalog.by_id(repo_type, may_read=scope)

    def _compare(self, request: Request) -> CompareOut:
        a, b = _text(request.query_params, "a"), _text(request.query_params, "b")
        if a is None or b is None:
            raise BadParameter("Name two models: ?a=ORG/NAME[@REVISION]&b=ORG/NAME[@REVISION].")
        may_read = access.read_scope(request, self.tokens)
        left = load_side(self.catalog, a, may_read=may_read)
        right = load_side(self.catalog, b, may_read=may_read)
        rows = compare_sides(left, right)
        return CompareOut(
            a=SideOut(id=left.repo.repo_id, revision=left.revision.name, commit=left.revision.commit),
            b=SideOut(id=right.repo.repo_id, revision=right.revision.name, commit=right.revision.commit),
            differing=sum(1 for row in rows if row.differs),
            rows=[CompareRowOut(key=r.key, a=r.left, b=r.right, differs=r.differs) for r in rows],
        )


def list_params(params: Any) -> tuple[Query, int, int]:
    """The list filters, exactly as the OpenAPI description allows them; BadParameter otherwise."""
    kind = _text(params, "kind")
    if kind is not None and kind not in KINDS:
        raise BadParameter(f"kind must be one of {', '.join(KINDS)}.")
    sort = _text(params, "sort")
    if sort is None:
        sort = "id"
    elif sort not in ("id", "recent"):
        raise BadParameter("sort must be 'id' or 'recent'.")
    public = _text(params, "public")
    if public is not None and public not in ("true", "false"):
        raise BadParameter("public must be true or false.")
    query = Query(
        search=_text(params, "search") or "",
        author=_text(params, "author") or None,
        tag=_text(params, "tag") or None,
        kind=kind,  # checked above
        public=None if public is None else public == "true",
        source=_text(params, "source") or None,
        sort=sort,
    )
    limit = _integer(params, "limit", 50, 1, MAX_LIMIT)
    offset = _integer(params, "offset", 0, 0, MAX_OFFSET)
    return query, limit, offset


def _text(params: Any, name: str) -> str | None:
    value = params.get(name)
    return None if value is None else str(value)


def _integer(params: Any, name: str, default: int, low: int, high: int) -> int:
    value = _text(params, name)
    if value is None:
        return default
    if not (value.isascii() and value.isdigit() and len(value) <= 9) or not low <= int(value) <= high:
        raise BadParameter(f"{name} must be a whole number from {low} to {high}.")
    return int(value)
