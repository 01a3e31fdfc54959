"""``create_app()``: the Hub-compatible server as an ASGI application.

Routes are matched on the raw request path (see :mod:`routing`), so encoded slashes in
revisions (``refs%2Fpr%2F1``) and in tree paths survive. The write side (uploads) is mounted
only when the server has write tokens; otherwise every write answers 403. The web catalog's
pages are mounted by its package (:func:`hg_localization.catalog.catalog_app`), which depends
on this one and not the other way round.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hg_localization._version import __version__
from hg_localization.server import routing
from hg_localization.server.access_log import AccessLogMiddleware
from hg_localization.server.auth import ServerTokens
from hg_localization.server.fast_reads import FastReads
from hg_localization.server.hub_api import HubReadApi
from hg_localization.server.hub_write import xet_answer
from hg_localization.server.metrics import ServerMetrics
from hg_localization.server.responses import hub_error, internal_error, not_found
from hg_localization.server.served import Source

READ_METHODS = ("GET", "HEAD")


class WriteApi(Protocol):
    """The upload side of the Hub API (create repo, preupload, LFS, commit)."""

    async def handle(self, request: Request, route: routing.Route | None) -> Response | None:
        """Answer a write request, or None when the request is not a write."""


def create_app(
    source: Source,
    *,
    tokens: ServerTokens | None = None,
    write_api: WriteApi | None = None,
    tree_page_size: int = 1000,
    pages: Sequence[BaseRoute] = (),
    metrics: ServerMetrics | None = None,
) -> Starlette:
    """The server: ``pages`` (the web catalog's, which never take a Hub API URL), then the Hub API.

    Every request is logged and counted (:mod:`access_log`, ``metrics``: a new
    :class:`ServerMetrics` unless given; ``app.state.metrics``, served at ``GET /metrics``).
    """
    tokens = tokens or ServerTokens()
    metrics = metrics if metrics is not None else ServerMetrics()
    read_api = HubReadApi(source=source, tokens=tokens, tree_page_size=tree_page_size)

    async def dispatch(request: Request) -> Response:
        raw_path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        raw_path = raw_path.split("?", 1)[0]
        route = routing.parse(raw_path)
        xet = xet_answer(request.url.path, route)  # read-only servers too: say how to turn Xet off
        if xet is not None:
            return xet
        is_read = request.method in READ_METHODS or (
            isinstance(route, routing.ApiRoute) and route.action == "paths-info"
        )
        if not is_read:
            if write_api is not None:
                answer = await write_api.handle(request, route)
                if answer is not None:
                    return answer
            return hub_error(403, "This server is read-only: start it with a write token to accept uploads.")
        return await _read(request, route, read_api)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def agent_harnesses(request: Request) -> Response:
        # huggingface_hub 2.x asks once per process; an empty registry saves it a 404. It must be
        # the registry's shape: `hf` reads .get("standardEnvVars") from it and crashes on a list.
        return JSONResponse({"standardEnvVars": [], "harnesses": {}})

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/api/agent-harnesses", agent_harnesses, methods=["GET"]),
        Route("/metrics", metrics.endpoint, methods=["GET"]),
        *pages,
        Route("/{path:path}", dispatch, methods=["GET", "HEAD", "POST", "PUT", "DELETE"]),
    ]
    # every request gets an answer: a path no route matches is a Hub 404, a failure a generic 500
    app = Starlette(routes=routes, exception_handlers={404: not_found, Exception: internal_error})
    app.add_middleware(FastReads, api=read_api, ahead=routes[:-1])  # inside the log (added last)
    app.add_middleware(AccessLogMiddleware, tokens=tokens, metrics=metrics)
    app.state.source = source
    app.state.tokens = tokens
    app.state.metrics = metrics
    return app


async def _read(request: Request, route: routing.Route | None, api: HubReadApi) -> Response:
    if isinstance(route, routing.ResolveRoute):
        return await api.resolve(request, route)
    if isinstance(route, routing.ListRoute) and request.method in READ_METHODS:
        return await api.list(request, route)
    if isinstance(route, routing.ApiRoute):
        if route.action == "info" and request.method in READ_METHODS:
            return await api.info(request, route)
        if route.action == "tree" and request.method in READ_METHODS:
            return await api.tree(request, route)
        if route.action == "refs" and request.method in READ_METHODS:
            return await api.refs(request, route)
        if route.action == "commits" and request.method in READ_METHODS:
            return await api.commits(request, route)
        if route.action == "paths-info" and request.method == "POST":
            return await api.paths_info(request, route)
    return hub_error(404, f"Not found: {request.url.path}")
