"""ASGI wrappers for tests: watch what clients ask, or slow a server down. Test-only plumbing."""

from __future__ import annotations

import asyncio
from typing import Any

Scope = dict[str, Any]


class RequestRecorder:
    """Passes every request through and remembers ``(method, path)``."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[tuple[str, str]] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests.append((scope["method"], scope["path"]))
        await self.app(scope, receive, send)

    def clear(self) -> None:
        self.requests.clear()

    def downloads(self) -> list[str]:
        """Paths of file GETs (``…/resolve/…``)."""
        return [path for method, path in self.requests if method == "GET" and "/resolve/" in path]


class Throttle:
    """Sends response bodies slowly (``delay`` seconds per chunk), to catch a download mid-way."""

    def __init__(self, app: Any, delay: float = 0.05) -> None:
        self.app = app
        self.delay = delay

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        async def slow_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                await asyncio.sleep(self.delay)
            await send(message)

        await self.app(scope, receive, slow_send if scope["type"] == "http" else send)
