"""The catalog's routes, mounted before the Hub API's catch-all (:func:`catalog_app`).

Nothing here takes a URL from the Hub API: the pages are GET/HEAD only, and a repo page is
matched by :func:`~hg_localization.catalog.paths.parse_page`, which never matches ``/api/…``,
``…/resolve/…`` or ``….git/…``. Any other method on a page's URL falls through to the Hub API.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.datastructures import URLPath
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound, Route
from starlette.types import Receive, Scope, Send

from hg_localization.catalog.api import CatalogApi
from hg_localization.catalog.cards import CardRenderer
from hg_localization.catalog.collection_views import CatalogCollections
from hg_localization.catalog.index import Catalog
from hg_localization.catalog.pages import Pages
from hg_localization.catalog.paths import PageRoute, parse_page
from hg_localization.catalog.sources import SourceCatalog
from hg_localization.catalog.web import static
from hg_localization.server.app import WriteApi, create_app
from hg_localization.server.auth import ServerTokens
from hg_localization.server.metrics import ServerMetrics
from hg_localization.server.served import Source

PAGE_METHODS = ("GET", "HEAD")
#: Every method but GET and HEAD: the API answers 405 to them, the Hub API never sees them.
OTHER_METHODS = ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


class RepoPages(BaseRoute):
    """``/{id}``, ``/datasets/{id}`` and their ``/tree/{rev}/{path}``, parsed from the raw path."""

    def __init__(self, endpoint: Callable[[Request, PageRoute], Awaitable[Response]]) -> None:
        self.endpoint = endpoint

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope["method"] not in PAGE_METHODS:
            return Match.NONE, {}
        raw_path = scope.get("raw_path") or scope["path"].encode()
        page = parse_page(raw_path.decode("latin-1").split("?", 1)[0])
        return (Match.NONE, {}) if page is None else (Match.FULL, {"catalog_page": page})

    def url_path_for(self, name: str, /, **path_params: object) -> URLPath:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.endpoint(request, scope["catalog_page"])
        await response(scope, receive, send)


def default_catalog(source: Source, *, collections: Path | None = None) -> Catalog:
    """The catalog of what a server serves: its store, folder of repos, bucket, or pull-through
    store (with its upstream); with the collections of the manifest at ``collections``."""
    shelf = CatalogCollections(collections) if collections is not None else None
    return Catalog([SourceCatalog(source)], collections=shelf)


def catalog_app(
    source: Source,
    *,
    tokens: ServerTokens | None = None,
    catalog: Catalog | None = None,
    write_api: WriteApi | None = None,
    metrics: ServerMetrics | None = None,
    tree_page_size: int = 1000,
) -> Starlette:
    """The server of ``source`` (:func:`~hg_localization.server.app.create_app`) with the web
    catalog's pages and JSON API: of ``catalog``, by default of ``source`` alone."""
    tokens = tokens or ServerTokens()
    pages = catalog_routes(catalog or default_catalog(source), tokens)
    return create_app(
        source,
        tokens=tokens,
        write_api=write_api,
        pages=pages,
        metrics=metrics,
        tree_page_size=tree_page_size,
    )


def catalog_routes(catalog: Catalog, tokens: ServerTokens) -> list[BaseRoute]:
    cards = CardRenderer()
    pages = Pages(catalog=catalog, tokens=tokens, cards=cards)
    api = CatalogApi(catalog=catalog, tokens=tokens, cards=cards)
    get = ["GET"]
    return [
        Route("/", pages.home, methods=get),
        Route("/models", pages.models, methods=get),
        Route("/datasets", pages.datasets, methods=get),
        Route("/compare", pages.compare, methods=get),
        Route("/collections", pages.collections, methods=get),
        Route("/collections/{name}", pages.collection, methods=get),
        Route("/login", pages.login_form, methods=get),
        Route("/login", pages.login, methods=["POST"], max_body_size=64 * 1024),
        Route("/logout", pages.logout, methods=["POST"]),
        Route("/static/{name}", static, methods=get),
        Route("/api/catalog/openapi.json", api.openapi, methods=get),
        Route("/api/catalog/stats", api.stats, methods=get),
        Route("/api/catalog/models", api.models, methods=get),
        Route("/api/catalog/datasets", api.datasets, methods=get),
        Route("/api/catalog/models/{name}", api.model, methods=get),
        Route("/api/catalog/models/{namespace}/{name}", api.model, methods=get),
        Route("/api/catalog/datasets/{name}", api.dataset, methods=get),
        Route("/api/catalog/datasets/{namespace}/{name}", api.dataset, methods=get),
        Route("/api/catalog/compare", api.compare, methods=get),
        Route("/api/catalog/collections", api.collections, methods=get),
        Route("/api/catalog/collections/{name}", api.collection, methods=get),
        Route("/api/catalog/{rest:path}", api.not_found, methods=get),
        Route("/api/catalog/{rest:path}", api.not_allowed, methods=OTHER_METHODS),
        Route("/api/catalog", api.not_allowed, methods=OTHER_METHODS),
        RepoPages(pages.repo),
    ]
