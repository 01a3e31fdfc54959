"""One streamed GET of a file body through urllib3, sent as huggingface_hub's session would send it.

Why: reading a body through httpx/httpcore/h11 costs ~2 s of Python per GiB (64 KiB socket
reads, each copied and turned into h11 events); urllib3's ``read1`` is one ``recv`` of up to
1 MiB into one ``bytes`` (~0.4 s per GiB), so a download is no longer bound by its reading thread.

Only the body's transport changes. The request is the session's own (``build_request``: its
default headers and cookies; then its request hooks: huggingface_hub's offline check and request
id), with the session's TLS context (``httpx2.create_ssl_context``: certifi, or ``SSL_CERT_FILE``
/ ``SSL_CERT_DIR``), its timeout for connect and every read, and its redirect rules (at most
``max_redirects``; ``Authorization`` dropped when a redirect leaves the origin, except an
http → https upgrade of the same host; the cookie jar asked again). Failures are raised as the
httpx errors the session raises for them, so :mod:`.retry` and :mod:`.errors` treat them alike.

:func:`usable` sends anything it cannot send exactly so back through the session: a proxy in the
environment, credentials in the URL, a session that is not huggingface_hub's default one.
"""

from __future__ import annotations

import http.client
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import SSLError as Urllib3SSLError

#: The most one read returns (one ``recv`` into one buffer of this size).
READ_SIZE = 1024 * 1024
#: The most of a redirect answer's body that is read before it is dropped.
MAX_REDIRECT_BODY = 64 * 1024
#: Connections kept per host (the fetch pool runs up to HGLOC_MAX_WORKERS downloads at once).
POOL_SIZE = 16

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PROXY_SCHEMES = ("http", "https", "all")

_lock = threading.Lock()
_pools: dict[str, urllib3.PoolManager] = {}


class Answer:
    """A streamed answer: what :class:`~hg_localization.hub.download.FileTransfer` reads of one."""

    def __init__(self, response: urllib3.BaseHTTPResponse, request: httpx2.Request) -> None:
        self._response = response
        self.request = request
        self.status_code = response.status
        self.headers = httpx2.Headers(list(response.headers.items()))

    def iter_bytes(self) -> Iterator[bytes]:
        """The (decoded) body, one socket read at a time: what has arrived, never waiting for more."""
        read = self._response.read1
        with _translated(self.request):
            while chunk := read(READ_SIZE):
                yield chunk

    def read_at_most(self, limit: int) -> bytes:
        parts: list[bytes] = []
        size = 0
        for chunk in self.iter_bytes():
            parts.append(chunk[: limit - size])
            size += len(parts[-1])
            if size >= limit:
                break
        return b"".join(parts)

    def close(self) -> None:
        """Back to the pool when the body was read to its end; else the connection is dropped."""
        response = self._response
        if not (getattr(response, "length_remaining", None) == 0 or _ended(response)):
            response.close()  # bytes left unread: the connection cannot carry another answer
        response.release_conn()


def usable(session: httpx2.Client, url: str) -> bool:
    """Whether :func:`stream` sends ``url`` exactly as ``session`` would (else the session must)."""
    parsed = httpx2.URL(url)
    if parsed.scheme not in ("http", "https") or parsed.userinfo:
        return False  # credentials in the URL: the session turns them into Basic auth
    proxies = urllib.request.getproxies()  # what httpx's trust_env reads
    if any(proxies.get(scheme) for scheme in _PROXY_SCHEMES):
        return False
    return _default_session(session)


def _default_session(session: httpx2.Client) -> bool:
    """huggingface_hub's own session (a client factory set by the embedding program is honoured)."""
    from huggingface_hub.utils import _http

    factory = getattr(_http, "_GLOBAL_CLIENT_FACTORY", None)
    return factory is getattr(_http, "default_client_factory", object()) and session.trust_env


@contextmanager
def stream(
    session: httpx2.Client, url: str, headers: dict[str, str], timeout: float | None
) -> Iterator[Answer]:
    """GET ``url`` (redirects followed as ``session`` follows them); the answer before its body."""
    request = session.build_request("GET", url, headers=headers)
    redirects = 0
    while True:
        for hook in session.event_hooks["request"]:
            hook(request)
        answer = _send(request, timeout)
        seen = httpx2.Response(answer.status_code, headers=answer.headers, request=request)
        session.cookies.extract_cookies(seen)  # as the session keeps them
        location = answer.headers.get("Location")
        if answer.status_code not in _REDIRECTS or location is None:
            break
        try:
            answer.read_at_most(MAX_REDIRECT_BODY)  # a longer one drops the connection (httpx reads it all)
        finally:
            answer.close()
        redirects += 1
        if redirects > session.max_redirects:
            raise httpx2.TooManyRedirects("Exceeded maximum allowed redirects.", request=request)
        request = _redirected(session, request, location)
    try:
        yield answer
    finally:
        answer.close()


def _send(request: httpx2.Request, timeout: float | None) -> Answer:
    pool = _pool(str(request.url.scheme))
    headers = urllib3.HTTPHeaderDict()
    for name, value in request.headers.multi_items():
        headers.add(name, value)
    with _translated(request):
        response = pool.urlopen(
            "GET",
            str(request.url),
            headers=headers,
            redirect=False,
            retries=False,
            preload_content=False,
            decode_content=True,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
        )
    return Answer(response, request)


def _redirected(session: httpx2.Client, request: httpx2.Request, location: str) -> httpx2.Request:
    """The next request of a redirect, by httpx's rules for a GET (``Client._build_redirect_request``)."""
    try:
        url = httpx2.URL(location)
        if url.scheme and not url.host:
            url = url.copy_with(host=request.url.host)
        if url.is_relative_url:
            url = request.url.join(url)
    except httpx2.InvalidURL as exc:
        raise httpx2.RemoteProtocolError(f"Invalid URL in location header: {exc}.", request=request) from None
    if request.url.fragment and not url.fragment:
        url = url.copy_with(fragment=request.url.fragment)
    headers = httpx2.Headers(request.headers)
    if url.origin != request.url.origin:
        if not _https_upgrade(request.url, url):
            headers.pop("Authorization", None)  # the token stays with the Hub's own host
        headers["Host"] = url.netloc.decode("ascii")
    headers.pop("Cookie", None)  # asked again of the jar, for the new URL
    return httpx2.Request("GET", url, headers=headers, cookies=session.cookies, extensions=request.extensions)


def _https_upgrade(url: httpx2.URL, location: httpx2.URL) -> bool:
    origin, target = url.origin, location.origin
    return origin.host == target.host and (origin.scheme, origin.port, target.scheme, target.port) == (
        "http",
        80,
        "https",
        443,
    )


def _pool(scheme: str) -> urllib3.PoolManager:
    """One pool of connections per process (and per scheme: the TLS context is made once)."""
    with _lock:
        pool = _pools.get(scheme)
        if pool is None:
            options: dict[str, Any] = {}
            if scheme == "https":
                options["ssl_context"] = httpx2.create_ssl_context()  # the session's CA settings
            pool = urllib3.PoolManager(maxsize=POOL_SIZE, block=False, **options)
            _pools[scheme] = pool
        return pool


def _ended(response: urllib3.BaseHTTPResponse) -> bool:
    fp = getattr(response, "_fp", None)
    return isinstance(fp, http.client.HTTPResponse) and fp.isclosed()


@contextmanager
def _translated(request: httpx2.Request) -> Iterator[None]:
    """urllib3's failures as the httpx errors the session raises for the same failure."""
    try:
        yield
    except ReadTimeoutError as exc:
        raise httpx2.ReadTimeout(str(exc), request=request) from exc
    except ConnectTimeoutError as exc:
        raise httpx2.ConnectTimeout(str(exc), request=request) from exc
    except (NewConnectionError, Urllib3SSLError) as exc:
        raise httpx2.ConnectError(str(exc), request=request) from exc
    except ProtocolError as exc:
        cause = next((arg for arg in exc.args if isinstance(arg, BaseException)), exc.__cause__)
        if isinstance(cause, OSError) and not isinstance(cause, http.client.HTTPException):
            raise httpx2.ReadError(str(exc), request=request) from exc  # reset, broken pipe
        raise httpx2.RemoteProtocolError(str(exc), request=request) from exc  # cut short, not HTTP
    except Urllib3Error as exc:
        raise httpx2.TransportError(str(exc), request=request) from exc
