"""The small answers a server gives most (HEAD/GET resolve, GET info), answered before any routing.

Every ``hf_hub_download`` sends a HEAD of the file first, and every ``from_pretrained`` asks for
the repo's info: at 16 concurrent clients, Starlette's router, its ``Request`` and its exception
wrappers were most of such an answer's time (bench/README.md). :class:`FastReads` sits in front
of the router (inside the access log, the metrics and the last-resort error answer, which all
still apply) and hands a resolve or info request for a revision answered before straight to
:meth:`~.hub_api.HubReadApi.from_memory`; anything else, and anything it cannot answer from
memory, goes on to the router unchanged.

It takes only requests the router would give the Hub API: whether a path is one is worked out
once per (method, path) by asking each route ahead of the Hub API's (the catalog's pages,
``/health``…) whether it matches, as the router would, and remembered.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from hg_localization.server import routing
from hg_localization.server.hub_api import HubReadApi
from hg_localization.server.hub_write import xet_answer

#: (method, raw path, path, root path) whose route is remembered; cleared when full.
ROUTES_CACHE_SIZE = 4096
_METHODS = frozenset({"GET", "HEAD"})

_FastRoute = routing.ResolveRoute | routing.ApiRoute


class FastReads:
    """ASGI middleware: resolve and info answers from memory, everything else to ``app``."""

    def __init__(self, app: ASGIApp, api: HubReadApi, ahead: Sequence[BaseRoute]) -> None:
        self.app = app
        self.api = api
        #: The routes the router tries before the Hub API's catch-all route.
        self.ahead = tuple(ahead)
        self._routes: dict[tuple[str, bytes, str, str], _FastRoute | None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _METHODS:
            route = self._route(scope)
            if route is not None:
                answer = self.api.from_memory(scope, route)
                if answer is not None:
                    await answer(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    def _route(self, scope: Scope) -> _FastRoute | None:
        path: str = scope["path"]
        raw: bytes = scope.get("raw_path") or path.encode("utf-8", "surrogateescape")
        key = (scope["method"], raw, path, scope.get("root_path", ""))
        try:
            return self._routes[key]
        except KeyError:
            pass
        if len(self._routes) >= ROUTES_CACHE_SIZE:
            self._routes.clear()
        found = self._routes[key] = self._fast_route(scope, raw)
        return found

    def _fast_route(self, scope: Scope, raw: bytes) -> _FastRoute | None:
        """The resolve or info route of this request when the router would hand it to the Hub API."""
        route = routing.parse(raw.decode("latin-1").split("?", 1)[0])
        if not isinstance(route, routing.ResolveRoute | routing.ApiRoute):
            return None
        if isinstance(route, routing.ApiRoute) and route.action != "info":
            return None
        if xet_answer(scope["path"], route) is not None:
            return None
        if any(ahead.matches(scope)[0] != Match.NONE for ahead in self.ahead):
            return None  # a page of the catalog (say) answers this path: the router gives it there
        return route
