"""A file download from a plain ``http://`` Hub through ``http.client``: the body without h11's copies.

Why: reading a body through httpx2/httpcore2/h11 copies every byte about four times in Python
(h11's receive buffer: appended to, then sliced out); for a GiB that is ~1.8 s of the reader's
CPU, more than writing and hashing it, so the reader limited a download to a third of what
``curl`` gets from the same server. ``HTTPResponse.read1`` of a large size does one ``recv``
straight into a fresh ``bytes`` (a block of up to :data:`BLOCK_SIZE`): the kernel's copy is
the only one. Each block is new, so the writer thread may hold it as long as it needs.

The request is the one huggingface_hub's session sends (its default headers, the caller's
over them as httpx2 merges them, the trace id) and goes this way only when
:func:`.plain_http.applies`. An answer the session would handle differently is not handled
here: a redirect (the Hub sends LFS files to another host), a cookie, a content encoding, a
malformed head. :func:`open_stream` then yields None before any of the body is read, and the
caller sends the request again through the session. Transport failures become the httpx2
errors the session raises for them, so retries, resumes and messages do not change.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from hg_localization.hub import plain_http

if TYPE_CHECKING:
    import http.client

#: The most bytes asked of one ``recv`` (what arrived is handed over at once, a block or less).
BLOCK_SIZE = 1024 * 1024
#: The most of an error answer that is read (as :data:`hg_localization.hub.http.MAX_ERROR_BYTES`).
_ERROR_CAP = 64 * 1024


class PlainHeaders:
    """An answer's headers (names in lower case, in the order received), read as httpx2's are."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items

    def get(self, name: str, default: str = "") -> str:
        """The values of ``name`` (any case), joined by ", " as httpx2 joins them; else ``default``."""
        values = [v for k, v in self._items if k == name.lower()]
        return ", ".join(values) if values else default

    def multi_items(self) -> list[tuple[str, str]]:
        return list(self._items)


class PlainResponse:
    """A streamed answer with a 2xx/3xx status: what :meth:`HubHttp.stream` yields, read as httpx2's."""

    def __init__(self, response: http.client.HTTPResponse, headers: list[tuple[str, str]]) -> None:
        self._response = response
        self.status_code = response.status
        self.headers = PlainHeaders(headers)

    def iter_bytes(self) -> Iterator[bytes]:
        """The body as it arrives; an answer cut short raises after its last bytes are handed over."""
        response = self._response
        received = 0
        while True:
            with _body_errors():
                block = response.read1(BLOCK_SIZE)
            if not block:
                break
            received += len(block)
            yield block
        if not response.chunked and response.length:  # the connection ended before Content-Length bytes
            expected = received + response.length
            raise plain_http.transport_error(
                "RemoteProtocolError",
                plain_http.INCOMPLETE.format(f"received {received} bytes, expected {expected}"),
            )


@contextmanager
def open_stream(
    url: str, headers: Mapping[str, str], timeout: float
) -> Iterator[PlainResponse | plain_http.Answer | None]:
    """The answer to a GET of ``url``: streamed (below 400), read (an error: :class:`.plain_http.Answer`
    with its first bytes), or None when the session must send the request instead."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = plain_http.host_header(host, parts.port)
    target = (parts.path or "/") + (f"?{parts.query}" if "?" in url else "")
    sent = [("Host", netloc), *_merged(headers), ("X-Amzn-Trace-Id", plain_http.trace_id())]
    import http.client

    connection = http.client.HTTPConnection(host, parts.port or 80, timeout=timeout)
    try:
        yield _answer(connection, target, sent, f"http://{netloc}{target}")
    finally:
        connection.close()


def _answer(
    connection: http.client.HTTPConnection, target: str, sent: list[tuple[str, str]], url: str
) -> PlainResponse | plain_http.Answer | None:
    phase = plain_http.Phase()
    try:
        with plain_http.httpx_errors(phase):
            response = plain_http.send_get(connection, target, sent, phase)
            received = [(k.lower(), v) for k, v in response.getheaders()]
            if response.status >= 400:  # read (its first bytes) and checked as plain_http reads one
                return plain_http.answer(response, url, sent, _ERROR_CAP)
            if not _as_the_session_would(response.status, received):
                return None
            return PlainResponse(response, received)
    except plain_http.UseSession:
        return None


def _as_the_session_would(status: int, headers: list[tuple[str, str]]) -> bool:
    """Whether the session would hand this answer's body over as it is (no redirect, cookie, decoding)."""
    names = {k for k, _ in headers}
    if (status in plain_http.REDIRECTS and "location" in names) or "set-cookie" in names:
        return False
    codings = [c.strip().lower() for k, v in headers if k == "content-encoding" for c in v.split(",")]
    return all(c in ("", "identity") for c in codings)


def _merged(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    """httpx2's defaults, then the request's: a name given by both is sent once, last, with its value."""
    given = {name.lower() for name in headers}
    defaults = [(k, v) for k, v in plain_http.CLIENT_HEADERS if k.lower() not in given]
    return [*defaults, *headers.items()]


@contextmanager
def _body_errors() -> Iterator[None]:
    """The httpx2 error the session raises when a body's read fails (a timeout, a reset, bad chunks)."""
    import http.client

    try:
        yield
    except http.client.IncompleteRead:
        raise plain_http.transport_error(
            "RemoteProtocolError", plain_http.INCOMPLETE.format("incomplete chunked read")
        ) from None
    except http.client.HTTPException as exc:
        raise plain_http.transport_error("RemoteProtocolError", str(exc)) from None
    except OSError as exc:  # TimeoutError included
        kind = "ReadTimeout" if isinstance(exc, TimeoutError) else "ReadError"
        raise plain_http.transport_error(kind, str(exc)) from exc


__all__ = ["BLOCK_SIZE", "PlainHeaders", "PlainResponse", "open_stream"]
