"""A metadata GET over plain ``http://`` with the standard library, when it is the same request.

Why: a command that makes one request (the warm re-run asks "is ``main`` still at the commit I
have?") paid far more for the client than for the request: importing httpx2 and huggingface_hub's
HTTP stack and building its session (an SSL context included) took about ten times the request.
:func:`get` sends what that session sends (the same headers, in the same order), with the same
timeout and size cap, through ``http.client``, but only when nothing else could differ
(:func:`applies`):

- an ``http://`` URL with no ``user:password@`` (``https://`` keeps the session's TLS set-up and
  CA source) and nothing to re-encode in it;
- no proxy configured (the session would go through it), offline mode off (the session refuses,
  with its own error), huggingface_hub's client factory the default and its session without a
  cookie (once it holds one, every request goes through it, to carry it);
- httpx2 has no other decoders than gzip and deflate (its ``Accept-Encoding`` would differ), and
  no library logger is verbose (``-vv`` then shows the session's own request traces).

An answer it does not handle exactly as the session would (a redirect, a cookie, another
content encoding, one that does not decode, a malformed answer) makes :func:`get` return None:
the caller sends the request again through the session, which then gives the answer (or the
error) it always gave. Transport failures become the httpx2 errors the session raises for them
(imported then), so retries and error messages do not change.
"""

from __future__ import annotations

import logging
import os
import sys
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from importlib.util import find_spec
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlencode, urlsplit

if TYPE_CHECKING:
    import http.client

#: What httpx2 sends before the request's own headers (its defaults, in its order).
CLIENT_HEADERS = (("Accept", "*/*"), ("Accept-Encoding", "gzip, deflate"), ("Connection", "keep-alive"))
#: Characters that httpx2 sends unchanged in a request target (anything else it would re-encode).
_TARGET_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?%"
)
#: Loggers whose records ``-vv`` shows: with any of them verbose, the session sends the request.
_TRACE_LOGGERS = ("httpx2", "httpcore2", "huggingface_hub")
#: Decoders that would make httpx2 announce more than gzip and deflate.
_EXTRA_DECODERS = ("brotli", "brotlicffi", "backports.zstd", "compression.zstd")
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024


class Answer(NamedTuple):
    """What the Hub answered: status, headers as sent, and the decoded body (None: over the cap)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes | None
    #: The request as sent (the URL with its query, the headers), for an error's message.
    url: str
    sent: list[tuple[str, str]]


class UseSession(Exception):
    """This answer is not handled here: the request goes through huggingface_hub's session."""


def applies(url: str) -> bool:
    """Whether :func:`get` sends exactly what huggingface_hub's session would for ``url``."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or "@" in parts.netloc or parts.fragment:
        return False
    if not _TARGET_CHARS.issuperset(parts.path + parts.query) or not parts.hostname.isascii():
        return False
    return not (_session_in_use() or _offline() or _proxied() or _traced() or _extra_decoders())


def get(
    url: str, params: Mapping[str, str] | None, headers: Mapping[str, str], timeout: float, limit: int
) -> Answer | None:
    """One GET; None when the session must send it instead (see the module docstring)."""
    parts = urlsplit(url)
    if params and "?" in url:  # httpx2 would merge the two queries: not done by hand
        return None
    query = f"?{urlencode(list(params.items()))}" if params else ("?" + parts.query if "?" in url else "")
    target = (parts.path or "/") + query
    host = parts.hostname or ""
    netloc = host_header(host, parts.port)
    sent = [
        ("Host", netloc),
        *CLIENT_HEADERS,
        *headers.items(),
        ("X-Amzn-Trace-Id", trace_id()),
    ]
    import http.client  # with the first request: a command that sends none does not pay for it

    connection = http.client.HTTPConnection(host, parts.port or 80, timeout=timeout)
    phase = Phase()
    try:
        with httpx_errors(phase):
            response = send_get(connection, target, sent, phase)
            return answer(response, f"http://{netloc}{target}", sent, limit)
    except UseSession:
        return None
    finally:
        connection.close()


def send_get(
    connection: http.client.HTTPConnection, target: str, sent: list[tuple[str, str]], phase: Phase
) -> http.client.HTTPResponse:
    """Connect, send ``GET target`` with exactly the headers ``sent``, and read the answer's head."""
    connection.connect()
    phase.now = "Write"
    connection.putrequest("GET", target, skip_host=True, skip_accept_encoding=True)
    for name, value in sent:
        connection.putheader(name, value)
    connection.endheaders()
    phase.now = "Read"
    return connection.getresponse()


class Phase:
    """Where a request is, to name a failure as httpx2 does (ConnectError, WriteError, ReadError...)."""

    __slots__ = ("now",)

    def __init__(self) -> None:
        self.now = "Connect"


def answer(response: http.client.HTTPResponse, url: str, sent: list[tuple[str, str]], limit: int) -> Answer:
    status = response.status
    headers = [(k.lower(), v) for k, v in response.getheaders()]
    names = {k for k, _ in headers}
    if (status in REDIRECTS and "location" in names) or "set-cookie" in names:
        raise UseSession
    codings = [c.strip().lower() for k, v in headers if k == "content-encoding" for c in v.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if len(codings) > 1 or (codings and codings[0] not in ("gzip", "deflate")):
        raise UseSession
    error = status >= 400
    body = _decoded(
        _raw(response), codings[0] if codings else None, _ERROR_CAP if error else limit, truncate=error
    )
    return Answer(status, headers, body, url, sent)


#: The most of an error answer that is kept (as :data:`hg_localization.hub.http.MAX_ERROR_BYTES`).
_ERROR_CAP = 64 * 1024


def _raw(response: http.client.HTTPResponse) -> Iterator[bytes]:
    received = 0
    while chunk := response.read1(_CHUNK):
        received += len(chunk)
        yield chunk
    if not response.chunked and response.length:  # the connection ended before Content-Length bytes
        expected = received + response.length
        raise transport_error(
            "RemoteProtocolError", INCOMPLETE.format(f"received {received} bytes, expected {expected}")
        )


def _decoded(chunks: Iterator[bytes], encoding: str | None, limit: int, *, truncate: bool) -> bytes | None:
    """The body decoded as httpx2 decodes it; None past ``limit`` (or its first ``limit`` bytes)."""
    decoder = _Decoder(encoding)
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        for data in decoder.feed(chunk, limit - size + 1):
            size += len(data)
            parts.append(data)
            if size > limit:
                return b"".join(parts)[:limit] if truncate else None
    parts.append(decoder.flush())
    size += len(parts[-1])
    if size > limit:
        return b"".join(parts)[:limit] if truncate else None
    return b"".join(parts)


class _Decoder:
    """gzip or deflate (zlib-wrapped, else raw when the first bytes say so: as httpx2), bounded output."""

    def __init__(self, encoding: str | None) -> None:
        self._encoding = encoding
        self._first = True
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16 if encoding == "gzip" else zlib.MAX_WBITS)

    def feed(self, data: bytes, room: int) -> Iterator[bytes]:
        """The bytes ``data`` decodes to, at most ``room`` of them (then the caller stops reading)."""
        if self._encoding is None:
            yield data
            return
        first, self._first = self._first, False
        try:
            yield from self._inflate(data, room)
        except zlib.error:
            if not (first and self._encoding == "deflate"):
                raise UseSession from None  # the session raises its DecodingError
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            try:
                yield from self._inflate(data, room)
            except zlib.error:
                raise UseSession from None

    def _inflate(self, data: bytes, room: int) -> Iterator[bytes]:
        out = self._zlib.decompress(data, room)
        yield out
        while self._zlib.unconsumed_tail and len(out) < room:
            room -= len(out)
            out = self._zlib.decompress(self._zlib.unconsumed_tail, room)
            yield out

    def flush(self) -> bytes:
        if self._encoding is None:
            return b""
        try:
            return self._zlib.flush()
        except zlib.error:
            raise UseSession from None


@contextmanager
def httpx_errors(phase: Phase) -> Iterator[None]:
    """The httpx2 error the session raises for each transport failure (httpx2 imported only then)."""
    import http.client

    try:
        yield
    except http.client.RemoteDisconnected:
        raise transport_error(
            "RemoteProtocolError", "Server disconnected without sending a response."
        ) from None
    except http.client.IncompleteRead:  # only a chunked body ends so (see _raw)
        raise transport_error("RemoteProtocolError", INCOMPLETE.format("incomplete chunked read")) from None
    except http.client.HTTPException:
        raise UseSession from None  # a malformed answer: the session words its own error
    except OSError as exc:  # TimeoutError included
        kind = "Timeout" if isinstance(exc, TimeoutError) else "Error"
        raise transport_error(phase.now + kind, str(exc)) from exc


#: h11's words (through httpx2) for an answer cut short.
INCOMPLETE = "peer closed connection without sending complete message body ({})"


def transport_error(kind: str, message: str) -> Exception:
    import httpx2

    error: type[Exception] = getattr(httpx2, kind)
    return error(message)


def host_header(hostname: str, port: int | None) -> str:
    host = f"[{hostname}]" if ":" in hostname else hostname.lower()
    return host if port in (None, 80) else f"{host}:{port}"


def trace_id() -> str:
    # huggingface_hub's request hook sets this on every request (a random uuid4, for the server's logs).
    import uuid

    return str(uuid.uuid4())


def _session_in_use() -> bool:
    """Whether huggingface_hub's session holds what a request must carry (cookies), or is not its own."""
    module = sys.modules.get("huggingface_hub.utils._http")
    if module is None:
        return False
    if getattr(module, "_GLOBAL_CLIENT_FACTORY", None) is not getattr(module, "default_client_factory", None):
        return True  # an application's own client (set_client_factory): its settings are not known here
    client = getattr(module, "_GLOBAL_CLIENT", None)
    return client is not None and bool(client.cookies)


def _offline() -> bool:
    from huggingface_hub import constants

    return constants.is_offline_mode()


def _proxied() -> bool:
    """Whether httpx2 would send requests through a proxy (``urllib.request.getproxies()``'s)."""
    if sys.platform in ("darwin", "win32"):  # the OS settings count too there
        from urllib.request import getproxies

        proxies = getproxies()
    else:
        proxies = _environment_proxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


def _environment_proxies() -> dict[str, str]:
    """``urllib.request.getproxies_environment()`` (its rules; importing it costs more than this)."""
    proxies: dict[str, str] = {}
    for name, value in os.environ.items():
        if value and name.lower().endswith("_proxy"):
            proxies[name.lower()[:-6]] = value
    if "REQUEST_METHOD" in os.environ:  # a CGI script: HTTP_PROXY is a request header there
        proxies.pop("http", None)
    for name, value in os.environ.items():
        if name.endswith("_proxy"):  # the lower-case spelling wins, an empty one included
            if value:
                proxies[name.lower()[:-6]] = value
            else:
                proxies.pop(name.lower()[:-6], None)
    return proxies


def _traced() -> bool:
    return any(logging.getLogger(name).isEnabledFor(logging.DEBUG) for name in _TRACE_LOGGERS)


@cache  # what is installed does not change while a command runs
def _extra_decoders() -> bool:
    for name in _EXTRA_DECODERS:
        try:
            if find_spec(name) is not None:
                return True
        except (ImportError, ValueError):  # a parent package that is missing
            continue
    return False


__all__ = ["Answer", "applies", "get"]
