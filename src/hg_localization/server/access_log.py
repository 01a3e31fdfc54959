"""One access-log line per request, the counters of :mod:`metrics`, and the audit of private downloads.

Loggers (``serve`` sends both to stderr; an embedding application configures them as it likes):

``hg_localization.server.access`` (INFO), one line per request when its answer is sent::

    127.0.0.1:50412 "GET /acme/private/resolve/main/model.safetensors" 200 1048576 0.412s token=alice

the client, the method and the path as sent (without the query string, which may carry a signed
URL's signature; bytes outside printable ASCII, ``"`` and spaces as ``%XX``), the status (500 for a
request that failed before its answer started), the body bytes sent, the time to the last byte,
and the token's name (:mod:`auth`: ``-`` without a token, ``unknown-token`` for a token this server
does not know). A token's value is never logged.

``hg_localization.server.audit`` (INFO), one line per GET of a file of a private repo (or of a
private revision)::

    download token=alice client=127.0.0.1 model acme/private revision="main" commit=0123… path="a.bin"
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hg_localization.redact import RedactingFilter
from hg_localization.server.auth import ServerTokens
from hg_localization.server.metrics import ServerMetrics, route_label
from hg_localization.server.served import ServedRevision

ACCESS_LOGGER = "hg_localization.server.access"
AUDIT_LOGGER = "hg_localization.server.audit"
access_logger = logging.getLogger(ACCESS_LOGGER)
audit_logger = logging.getLogger(AUDIT_LOGGER)
_PRINTABLE = frozenset(range(0x21, 0x7F)) - {ord('"')}
_PRINTABLE_BYTES = bytes(sorted(_PRINTABLE))
_ROUTES: dict[str, str] = {}
_ROUTES_SIZE = 4096


class AccessLogMiddleware:
    """ASGI middleware: counts each HTTP request in ``metrics`` and logs it when its answer is sent.

    Plain ASGI and cheap per request (it was a large part of a small answer's time): no
    ``Request`` object and no token lookup unless the access log is on, one log call, and the
    ``route`` label of a path remembered (:func:`_route_of`).
    """

    def __init__(self, app: ASGIApp, tokens: ServerTokens, metrics: ServerMetrics) -> None:
        self.app = app
        self.tokens = tokens
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status, sent = 500, 0  # 500 unless an answer starts: an exception is answered outside

        async def observe(message: Message) -> None:
            nonlocal status, sent
            kind = message["type"]
            if kind == "http.response.body":
                sent += len(message.get("body", b""))
            elif kind == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.request_started()
        try:
            await self.app(scope, receive, observe)
        finally:
            seconds = time.perf_counter() - start
            method = scope["method"]
            path = log_path(scope)
            self.metrics.request_finished(_route_of(path), method, status, sent, seconds)
            if access_logger.isEnabledFor(logging.INFO):
                token = self.tokens.identify(Request(scope)).name
                access_logger.info(
                    '%s "%s %s" %d %d %.3fs token=%s',
                    _client(scope),
                    method,
                    path,
                    status,
                    sent,
                    seconds,
                    token,
                )


def audit_download(token_name: str, client: str, revision: ServedRevision, asked: str, path: str) -> None:
    """The audit line of one download from a private repo (``asked``: the revision as requested)."""
    audit_logger.info(
        "download token=%s client=%s %s %s revision=%s commit=%s path=%s",
        token_name,
        client,
        revision.repo_type,
        revision.repo_id,
        json.dumps(asked),
        revision.commit,
        json.dumps(path),
    )


def enable_server_logs(*, access: bool = True, stream: TextIO | None = None) -> None:
    """Send the audit log, and the access log unless ``access`` is False, to ``stream`` (stderr)."""
    formatter = logging.Formatter("%(asctime)s %(name)s %(message)s")
    for name, enabled in ((AUDIT_LOGGER, True), (ACCESS_LOGGER, access)):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO if enabled else logging.WARNING)
        if enabled and not logger.handlers:
            handler = logging.StreamHandler(stream or sys.stderr)
            handler.setFormatter(formatter)
            handler.addFilter(RedactingFilter())  # the one redaction path, here too
            logger.addHandler(handler)


def log_path(scope: Scope) -> str:
    """The request's path as sent, without the query string; anything unprintable as ``%XX``."""
    raw: Any = scope.get("raw_path") or str(scope.get("path", "")).encode("utf-8", "surrogateescape")
    sent: bytes = bytes(raw).split(b"?", 1)[0]
    if not sent.translate(None, _PRINTABLE_BYTES):  # the usual case: nothing to escape
        return sent.decode("ascii")
    return "".join(chr(byte) if byte in _PRINTABLE else f"%{byte:02X}" for byte in sent)


def _route_of(path: str) -> str:
    """:func:`route_label`, remembered per path (a bounded cache: cleared when full)."""
    label = _ROUTES.get(path)
    if label is None:
        if len(_ROUTES) >= _ROUTES_SIZE:
            _ROUTES.clear()
        label = _ROUTES[path] = route_label(path)
    return label


def _client(scope: Scope) -> str:
    client = scope.get("client")
    if not client:
        return "-"
    host, port = client[0], client[1] if len(client) > 1 else None
    return f"{host}:{port}" if port is not None else str(host)
