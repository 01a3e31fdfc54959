"""The catalog's HTML pages: what a person opens in a browser, at the Hub's own URLs.

Each handler reads the catalog in a worker thread (files are read, cards rendered) and answers
with a page from ``server/templates``. A repo a visitor may not read is "not found", exactly
like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

import hg_localization.catalog.access as access
import hg_localization.catalog.web as web
from hg_localization.catalog.cards import CardRenderer
from hg_localization.catalog.compare import compare_sides, load_side
from hg_localization.catalog.index import Catalog, Query
from hg_localization.catalog.model import KINDS, ReadScope, RepoEntry
from hg_localization.catalog.paths import PageRoute
from hg_localization.catalog.views import PAGE_FILES, breadcrumbs, default_revision, repo_view, tree_listing
from hg_localization.errors import HGLocalizationError, InvalidInputError, NotFoundError, RepoNotFoundError
from hg_localization.ids import RepoType
from hg_localization.server.auth import ServerTokens

PAGE_SIZE = 50
RECENT = 10
TYPE_LABELS = {"model": "Models", "dataset": "Datasets"}


@dataclass
class Pages:
    catalog: Catalog
    tokens: ServerTokens
    cards: CardRenderer

    def _may_read(self, request: Request) -> bool:
        return access.may_read(request, self.tokens)

    def _scope(self, request: Request) -> ReadScope:
        return access.read_scope(request, self.tokens)

    def _page(self, request: Request, template: str, *, status: int = 200, **context: Any) -> Response:
        context.setdefault("may_read", self._may_read(request))
        context.setdefault("sources", self.catalog.labels)
        context.setdefault("upstream", self.catalog.upstream)
        context.setdefault("has_collections", self.catalog.collections is not None)
        return web.page(request, template, status=status, **context)

    def _error(self, request: Request, exc: HGLocalizationError, route: PageRoute | None = None) -> Response:
        status = 404 if isinstance(exc, NotFoundError) else 400 if isinstance(exc, InvalidInputError) else 500
        if isinstance(exc, RepoNotFoundError) and route is not None and self.catalog.pulls(route.repo_id):
            endpoint = str(request.base_url).rstrip("/")
            return self._page(request, "pending.html", status=404, route=route, endpoint=endpoint)
        hint = exc.hint
        if isinstance(exc, NotFoundError) and not self._may_read(request) and self.tokens.all_grants:
            hint = f"{hint + ' ' if hint else ''}A private repo is shown only after you enter a read token."
        return self._page(request, "error.html", status=status, message=exc.message, hint=hint)

    # --- / -----------------------------------------------------------------------------------
    async def home(self, request: Request) -> Response:
        web.mark_start(request)
        return await run_in_threadpool(self._home, request)

    def _home(self, request: Request) -> Response:
        may_read = self._scope(request)
        stats = self.catalog.stats(may_read=may_read)
        recent = self.catalog.recent(may_read=may_read, limit=RECENT)
        return self._page(request, "home.html", nav="home", stats=stats, recent=recent)

    # --- /models, /datasets ------------------------------------------------------------------------
    async def models(self, request: Request) -> Response:
        web.mark_start(request)
        return await run_in_threadpool(self._listing, request, "model")

    async def datasets(self, request: Request) -> Response:
        web.mark_start(request)
        return await run_in_threadpool(self._listing, request, "dataset")

    def _listing(self, request: Request, repo_type: RepoType) -> Response:
        may_read = self._scope(request)
        query = query_from(request.query_params)
        found = self.catalog.search(repo_type, query, may_read=may_read)
        page_number = _positive(request.query_params.get("page"), 1)
        start = (page_number - 1) * PAGE_SIZE
        authors, tags = self.catalog.facets(repo_type, may_read=may_read)
        return self._page(
            request,
            "list.html",
            nav=repo_type,
            repo_type=repo_type,
            title=TYPE_LABELS[repo_type],
            query=query,
            total=len(found),
            repos=found[start : start + PAGE_SIZE],
            page_number=page_number,
            pages=max(1, -(-len(found) // PAGE_SIZE)),
            authors=authors,
            tags=tags,
            kinds=KINDS,
            params=dict(request.query_params),
        )

    # --- /{id}, /{id}/tree/{rev}/{path} ------------------------------------------------------------
    async def repo(self, request: Request, route: PageRoute) -> Response:
        web.mark_start(request)
        handler = self._repo if route.view == "repo" else self._tree
        return await run_in_threadpool(handler, request, route)

    def _repo(self, request: Request, route: PageRoute) -> Response:
        try:
            repo = self.catalog.find(route.repo_type, route.repo_id, may_read=self._scope(request))
            revision = default_revision(self.catalog, repo)
        except HGLocalizationError as exc:
            return self._error(request, exc, route)
        endpoint = str(request.base_url).rstrip("/")
        view = repo_view(self.catalog, self.cards, repo, revision, endpoint)
        files = sorted(revision.files, key=lambda f: f.path)
        return self._page(
            request,
            "repo.html",
            nav=route.repo_type,
            view=view,
            repo=repo,
            revision=revision,
            files=files[:PAGE_FILES],
            more_files=max(0, len(files) - PAGE_FILES),
        )

    def _tree(self, request: Request, route: PageRoute) -> Response:
        try:
            repo = self.catalog.find(route.repo_type, route.repo_id, may_read=self._scope(request))
            revision = self.catalog.revision(repo, route.revision)
        except HGLocalizationError as exc:
            return self._error(request, exc, route)
        base = route.path.strip("/")
        single = revision.file(base) if base else None
        listing = None if single else tree_listing(revision, base)
        if single is None and listing is None:
            message = f"'{base}' is not a folder or a file of {repo.repo_id} at {route.revision}."
            return self._page(request, "error.html", status=404, message=message, hint=None)
        return self._page(
            request,
            "tree.html",
            nav=route.repo_type,
            repo=repo,
            revision=revision,
            shown_revision=route.revision,
            base=base,
            crumbs=breadcrumbs(base),
            listing=listing,
            single=single,
        )

    # --- /compare ---------------------------------------------------------------------------------
    async def compare(self, request: Request) -> Response:
        web.mark_start(request)
        return await run_in_threadpool(self._compare, request)

    def _compare(self, request: Request) -> Response:
        may_read = self._scope(request)
        a, b = request.query_params.get("a", "").strip(), request.query_params.get("b", "").strip()
        context: dict[str, Any] = {
            "nav": "compare",
            "a": a,
            "b": b,
            "only_diff": request.query_params.get("only") == "diff",
            "model_ids": [e.repo_id for e in self.catalog.visible("model", may_read=may_read)][:500],
        }
        if not a or not b:
            return self._page(request, "compare.html", **context)
        try:
            left = load_side(self.catalog, a, may_read=may_read)
            right = load_side(self.catalog, b, may_read=may_read)
        except HGLocalizationError as exc:
            status = 404 if isinstance(exc, NotFoundError) else 400
            return self._page(request, "compare.html", status=status, problem=exc.message, **context)
        rows = compare_sides(left, right)
        differing = sum(1 for row in rows if row.differs)
        return self._page(
            request, "compare.html", left=left, right=right, rows=rows, differing=differing, **context
        )

    # --- /collections, /collections/{name} ------------------------------------------------------
    async def collections(self, request: Request) -> Response:
        web.mark_start(request)
        return await run_in_threadpool(self._collections, request, None)

    async def collection(self, request: Request) -> Response:
        web.mark_start(request)
        return await run_in_threadpool(self._collections, request, str(request.path_params["name"]))

    def _collections(self, request: Request, name: str | None) -> Response:
        shelf = self.catalog.collections
        if shelf is None:
            return self._page(
                request, "error.html", status=404, nav="collections", message=NO_COLLECTIONS, hint=NO_MANIFEST
            )
        scope = self._scope(request)

        def index(repo_type: RepoType) -> dict[str, RepoEntry]:
            return self.catalog.by_id(repo_type, may_read=scope)

        if name is None:
            return self._page(request, "collections.html", nav="collections", views=shelf.views(index))
        try:
            view = shelf.view(name, index)
        except NotFoundError as exc:
            return self._error(request, exc)
        return self._page(request, "collection.html", nav="collections", view=view)

    # --- /login, /logout --------------------------------------------------------------------------
    async def login_form(self, request: Request) -> Response:
        web.mark_start(request)
        target = access.local_path(request.query_params.get("next"))
        return self._page(request, "login.html", nav="login", next=target)

    async def login(self, request: Request) -> Response:
        web.mark_start(request)
        if not access.same_origin(request):
            return self._page(request, "login.html", status=403, nav="login", next="/", problem=CROSS_SITE)
        form = await request.form(max_files=0, max_fields=4, max_part_size=access.TOKEN_MAX_CHARS * 4)
        token = str(form.get("token", "")).strip()
        target = access.local_path(str(form.get("next", "/")))
        if not token or not access.is_read_token(self.tokens, token):
            return self._page(request, "login.html", status=401, nav="login", next=target, problem=REFUSED)
        answer = RedirectResponse(target, status_code=303, headers=web.headers(request))
        access.set_token_cookie(answer, request, token)
        return answer

    async def logout(self, request: Request) -> Response:
        web.mark_start(request)
        if not access.same_origin(request):
            return self._page(request, "login.html", status=403, nav="login", next="/", problem=CROSS_SITE)
        answer = RedirectResponse("/", status_code=303, headers=web.headers(request))
        access.clear_token_cookie(answer, request)
        return answer


NO_COLLECTIONS = "This server shows no collections."
NO_MANIFEST = "Start it with: hg-localization serve --collections hg-localization.yaml"
CROSS_SITE = "This form was sent from another site, so it was refused. Open this server's page and try again."
REFUSED = "This server does not know that token. Check it with whoever runs this server."


def query_from(params: Any) -> Query:
    """The list filters from query parameters; a value that is not one of the choices filters nothing."""
    kind = params.get("kind")
    public = params.get("public")
    sort = params.get("sort")
    return Query(
        search=str(params.get("search", ""))[:200],
        author=params.get("author") or None,
        tag=params.get("tag") or None,
        kind=kind if kind in KINDS else None,
        public={"true": True, "false": False}.get(public or ""),
        source=params.get("source") or None,
        sort=sort if sort in ("id", "recent") else "id",
    )


def _positive(value: str | None, default: int) -> int:
    if value and value.isascii() and value.isdigit() and 0 < len(value) <= 6 and int(value) > 0:
        return int(value)
    return default
