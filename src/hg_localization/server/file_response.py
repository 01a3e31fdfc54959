"""A file of a served revision as an answer, Range-capable: from disk, or streamed from elsewhere.

- :func:`disk_file_response`: a file on disk, opened below its root without following links.
- :class:`StreamedFileResponse`: bytes a source reads from elsewhere (the bucket), a range at a
  time; a whole-file answer is checked against the file's sha256 as it goes, and its last chunk
  is held back until the check passes, so a client never receives a complete wrong file.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import AsyncIterator, Callable, Generator
from contextlib import asynccontextmanager
from email.utils import formatdate
from functools import lru_cache
from pathlib import Path

import anyio
import anyio.to_thread
from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.types import Receive, Scope, Send

from hg_localization.errors import HGLocalizationError, IntegrityError
from hg_localization.server import confine
from hg_localization.server.served import ServedFile

logger = logging.getLogger(__name__)

#: ``opener(start, end)``: bytes ``start``..``end`` (inclusive) in chunks; raises the project's
#: errors before the first chunk when the bytes cannot be had (the answer is then ``on_failure``'s).
Opener = Callable[[int, int], Generator[bytes, None, None]]
#: A range that starts past the end of the file (answered with 416).
UNSATISFIABLE = (-1, -1)


def disk_file_response(served: ServedFile, headers: dict[str, str]) -> Response | None:
    """The file's answer with ``headers`` (the Hub's), or None when it is gone or a link out of its root."""
    if served.disk_path is None:
        return None
    found = confine.stat_file(served.disk_path, served.below)
    if found is None:
        return None
    media_type = headers.pop("Content-Type", None) or "application/octet-stream"
    return _RepoFileResponse(served, served.disk_path, found, headers=headers, media_type=media_type)


class _RepoFileResponse(FileResponse):
    """Starlette's Range-capable file answer, reading only through :func:`confine.open_file`.

    The file is opened again, below its root and without following links, when its bytes are
    sent: a file swapped for a link after the check above is refused then. 1 MiB chunks: 64 KiB
    chunks (one thread hop each) cap a large download at a fraction of what the disk and loopback
    can do (bench/README.md).
    """

    chunk_size = 1024 * 1024

    def __init__(
        self,
        served: ServedFile,
        disk_path: Path,
        found: os.stat_result,
        *,
        headers: dict[str, str],
        media_type: str,
    ) -> None:
        super().__init__(disk_path, headers=headers, media_type=media_type, stat_result=found)
        self.served = served
        self.disk_path = disk_path

    def set_stat_headers(self, stat_result: os.stat_result) -> None:
        """FileResponse's ``Content-Length`` and ``Last-Modified``, the date formatted once per mtime;
        its own ETag (an md5 of the stat) only if the Hub's is missing, which it never is."""
        raw = self.raw_headers
        names = {name for name, _ in raw}
        if b"etag" not in names:
            super().set_stat_headers(stat_result)
            return
        if b"content-length" not in names:
            raw.append((b"content-length", str(stat_result.st_size).encode("latin-1")))
        if b"last-modified" not in names:
            raw.append((b"last-modified", _http_date(stat_result.st_mtime)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "HEAD" and not any(name == b"range" for name, _ in scope["headers"]):
            # What FileResponse sends for it, without its Range and pathsend machinery (the HEAD
            # every hf_hub_download sends first is most of a server's small answers).
            await send(
                {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
            )
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        # ``http.response.pathsend`` would have the server open the path itself, following links.
        extensions = {k: v for k, v in scope.get("extensions", {}).items() if k != "http.response.pathsend"}
        await super().__call__({**scope, "extensions": extensions}, receive, send)

    @asynccontextmanager
    async def _open_file(self) -> AsyncIterator[anyio.AsyncFile[bytes]]:
        descriptor = await anyio.to_thread.run_sync(confine.open_file, self.disk_path, self.served.below)
        file = anyio.wrap_file(os.fdopen(descriptor, "rb"))
        try:
            yield file
        finally:
            with anyio.CancelScope(shield=True):  # closing must finish even when the transfer is cancelled
                await file.aclose()


class StreamedFileResponse(Response):
    """A file's bytes from an :data:`Opener`, with the Hub's ``headers``; Range as a FileResponse.

    One range (``bytes=a-b``, ``a-``, ``-n``) is answered with 206, one past the end with 416;
    several ranges, or an ``If-Range`` that is not the ETag, get the whole file. HEAD reads nothing.
    """

    def __init__(
        self,
        served: ServedFile,
        headers: dict[str, str],
        opener: Opener,
        on_failure: Callable[[HGLocalizationError], Response],
    ) -> None:
        super().__init__(status_code=200)
        self.served = served
        self.content_type = headers.pop("Content-Type", "") or "application/octet-stream"
        self.hub_headers = headers
        self.opener = opener
        self.on_failure = on_failure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        size = self.served.size
        wanted = requested_range(Headers(scope=scope), size, self.hub_headers.get("ETag"))
        headers = {**self.hub_headers, "Content-Type": self.content_type}
        if wanted == UNSATISFIABLE:
            headers = {**headers, "Content-Range": f"bytes */{size}", "Content-Length": "0"}
            await _start(send, 416, headers)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        start, end = wanted or (0, size - 1)
        headers["Content-Length"] = str(end - start + 1)
        if wanted is not None:
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        if scope["method"] == "HEAD":
            await _start(send, 206 if wanted else 200, headers)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        try:
            chunks = await anyio.to_thread.run_sync(self.opener, start, end)
        except HGLocalizationError as exc:
            await self.on_failure(exc)(scope, receive, send)
            return
        try:
            await _start(send, 206 if wanted else 200, headers)
            await self._send_body(chunks, send, verify=wanted is None, length=end - start + 1)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(chunks.close)

    async def _send_body(
        self, chunks: Generator[bytes, None, None], send: Send, *, verify: bool, length: int
    ) -> None:
        """Send the chunks; the last one only once the whole file is known to be the right one."""
        digest = hashlib.sha256() if verify else None

        def next_chunk() -> bytes | None:
            chunk = next(chunks, None)
            if chunk is not None and digest is not None:
                digest.update(chunk)
            return chunk

        sent = 0
        pending = b""
        while (chunk := await anyio.to_thread.run_sync(next_chunk)) is not None:
            if pending:
                await send({"type": "http.response.body", "body": pending, "more_body": True})
            pending = chunk
            sent += len(chunk)
        if sent != length or (digest is not None and digest.hexdigest() != self.served.sha256):
            # The headers are gone: all that is left is to end the connection short of the length,
            # which every client reports as an incomplete download. Nothing wrong is completed.
            got = digest.hexdigest() if digest is not None else f"{sent} of {length} bytes"
            raise IntegrityError(self.served.path, self.served.sha256, got)
        await send({"type": "http.response.body", "body": pending, "more_body": False})


@lru_cache(maxsize=4096)
def _http_date(mtime: float) -> bytes:
    return formatdate(mtime, usegmt=True).encode("latin-1")


async def _start(send: Send, status: int, headers: dict[str, str]) -> None:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})


def requested_range(headers: Headers, size: int, etag: str | None) -> tuple[int, int] | None:
    """The one byte range asked for (inclusive), :data:`UNSATISFIABLE`, or None for the whole file."""
    value = headers.get("range", "").strip()
    if_range = headers.get("if-range")
    if not value or size == 0 or (if_range is not None and if_range != etag):
        return None
    unit, _, spec = value.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.isdigit() or last.isdigit()) or (first and not first.isdigit()):
        return None
    if last and not last.isdigit():
        return None
    if not first:  # the last N bytes
        count = int(last)
        return (max(size - count, 0), size - 1) if count else UNSATISFIABLE
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size:
        return UNSATISFIABLE
    if end < start:
        return None
    return start, end
