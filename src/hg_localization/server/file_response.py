"""A file of a served revision, from disk: Range-capable, opened below its root without links."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread
from starlette.responses import FileResponse, Response
from starlette.types import Receive, Scope, Send

from hg_localization.server import confine
from hg_localization.server.served import ServedFile


def disk_file_response(served: ServedFile, headers: dict[str, str]) -> Response | None:
    """The file's answer with ``headers`` (the Hub's), or None when it is gone or a link out of its root."""
    found = confine.stat_file(served.disk_path, served.below)
    if found is None:
        return None
    media_type = headers.pop("Content-Type", None) or "application/octet-stream"
    return _RepoFileResponse(served, found, headers=headers, media_type=media_type)


class _RepoFileResponse(FileResponse):
    """Starlette's Range-capable file answer, reading only through :func:`confine.open_file`.

    The file is opened again, below its root and without following links, when its bytes are
    sent: a file swapped for a link after the check above is refused then. 1 MiB chunks: 64 KiB
    chunks (one thread hop each) cap a large download at a fraction of what the disk and loopback
    can do (bench/README.md).
    """

    chunk_size = 1024 * 1024

    def __init__(
        self, served: ServedFile, found: os.stat_result, *, headers: dict[str, str], media_type: str
    ) -> None:
        super().__init__(served.disk_path, headers=headers, media_type=media_type, stat_result=found)
        self.served = served

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # ``http.response.pathsend`` would have the server open the path itself, following links.
        extensions = {k: v for k, v in scope.get("extensions", {}).items() if k != "http.response.pathsend"}
        await super().__call__({**scope, "extensions": extensions}, receive, send)

    @asynccontextmanager
    async def _open_file(self) -> AsyncIterator[anyio.AsyncFile[bytes]]:
        descriptor = await anyio.to_thread.run_sync(
            confine.open_file, self.served.disk_path, self.served.below
        )
        file = anyio.wrap_file(os.fdopen(descriptor, "rb"))
        try:
            yield file
        finally:
            with anyio.CancelScope(shield=True):  # closing must finish even when the transfer is cancelled
                await file.aclose()
