"""HTTP to the Hub: huggingface_hub's session and error types, with every read bounded.

Each request has a timeout (``download_timeout``: no byte for that long and it fails), each
body read into memory has a size cap, and metadata requests are retried under a
:class:`~hg_localization.hub.retry.RetryPolicy`. Errors are huggingface_hub's own
(``hf_raise_for_status``), so :mod:`hg_localization.hub.errors` translates them as for ``HfApi``.

A metadata GET to a plain ``http://`` Hub goes through :mod:`.plain_http` when that sends the
very same request (it then skips importing httpx2 and building the session: a warm re-run's one
request costs what a request costs); a file's body likewise through :mod:`.plain_stream`
(without h11's copies of every byte); everything else through the session.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from hg_localization.errors import UpstreamError
from hg_localization.hub import plain_http, plain_stream
from hg_localization.hub.retry import Backoff, RetryPolicy, retryable

if TYPE_CHECKING:
    import httpx2

#: An answer's headers, names in lower case, in the order received (a name may repeat).
ResponseHeaders = list[tuple[str, str]]

#: The most an answer read into memory (repo info, a page of a file listing, a card) may weigh.
MAX_BODY_BYTES = 64 * 1024 * 1024
#: The most of an error answer's body that is read (for its message).
MAX_ERROR_BYTES = 64 * 1024
#: The default of ``download_timeout``: seconds without a byte before a request fails.
DEFAULT_TIMEOUT = 30.0

_BODY_HEADERS = ("content-encoding", "content-length", "transfer-encoding")


class StreamedHeaders(Protocol):
    def get(self, name: str, default: str, /) -> str:
        """The value of the header ``name`` (any case), else ``default``."""
        ...


class Streamed(Protocol):
    """A streamed answer as :meth:`HubHttp.stream` yields it: httpx2's, or :mod:`.plain_stream`'s."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> StreamedHeaders: ...

    def iter_bytes(self) -> Iterator[bytes]: ...


class RetriesExhausted(Exception):
    """A retryable failure that kept failing; ``reason`` says why trying stopped."""

    def __init__(self, cause: Exception, reason: str) -> None:
        super().__init__(f"{cause} ({reason})")
        self.cause = cause
        self.reason = reason


class HubHttp:
    """GETs to one Hub with its headers, a read timeout, bounded bodies and retries."""

    def __init__(
        self,
        endpoint: str,
        headers: Callable[[], dict[str, str]],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.endpoint = endpoint
        self.headers = headers
        #: Seconds without a byte (to connect, send or receive) before a request fails.
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.sleep = sleep

    def backoff(self) -> Backoff:
        return Backoff(self.retry, self.sleep)

    def get_json(self, url: str, params: Mapping[str, str] | None = None) -> tuple[Any, ResponseHeaders]:
        """The JSON document at ``url`` and the answer's headers; retried, bounded."""
        body, headers = self.get_bytes(url, params)
        try:
            return json.loads(body), headers
        except ValueError:
            raise UpstreamError(
                f"The Hub at {self.endpoint} answered {urlsplit(url).path} with something that is not JSON.",
                hint="Check HF_ENDPOINT: it must be a Hugging Face Hub (or a mirror of one).",
            ) from None

    def get_bytes(
        self, url: str, params: Mapping[str, str] | None = None, *, limit: int = MAX_BODY_BYTES
    ) -> tuple[bytes, ResponseHeaders]:
        """The body at ``url`` (at most ``limit`` bytes) and the answer's headers; retried."""
        backoff = self.backoff()
        while True:
            try:
                return self._get_once(url, params, limit)
            except Exception as exc:
                again, wait = retryable(exc)
                if not again:
                    raise
                if not backoff.wait(wait):
                    raise RetriesExhausted(exc, backoff.reason) from exc

    def _get_once(
        self, url: str, params: Mapping[str, str] | None, limit: int
    ) -> tuple[bytes, ResponseHeaders]:
        headers = self.headers()
        if plain_http.applies(url):
            answer = plain_http.get(url, params, headers, self.timeout, limit)
            if answer is not None:
                if answer.status >= 400:
                    _raise_plain(answer)
                return self._capped(answer.body, url, limit), answer.headers
        with _session().stream(
            "GET", url, params=params, headers=headers, timeout=_timeout(self.timeout), follow_redirects=True
        ) as response:
            raise_for_status(response)
            body = read_capped(response, limit)
        return self._capped(body, url, limit), response.headers.multi_items()

    def _capped(self, body: bytes | None, url: str, limit: int) -> bytes:
        if body is None:
            raise UpstreamError(
                f"The Hub at {self.endpoint} sent more than {limit // 2**20} MiB for {urlsplit(url).path}; "
                "it was not read further.",
                hint="Nothing was written. The upstream server is broken or hostile; do not use it.",
            )
        return body

    @contextmanager
    def stream(self, url: str, headers: Mapping[str, str]) -> Iterator[Streamed]:
        """A streamed GET whose status is already checked (an error raises, bounded, before the body).

        To a plain ``http://`` Hub through :mod:`.plain_stream` when that sends the very same
        request and the answer needs nothing of the session (a redirect does: sent again through it).
        """
        if plain_http.applies(url):
            with plain_stream.open_stream(url, headers, self.timeout) as answer:
                if isinstance(answer, plain_http.Answer):
                    _raise_plain(answer)
                elif answer is not None:
                    yield answer
                    return
        with _session().stream(
            "GET", url, headers=dict(headers), timeout=_timeout(self.timeout), follow_redirects=True
        ) as response:
            raise_for_status(response)
            yield response


def read_capped(response: httpx2.Response, limit: int) -> bytes | None:
    """The body, or None when it is longer than ``limit`` bytes (reading stops there)."""
    parts: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
    return b"".join(parts)


def raise_for_status(response: httpx2.Response) -> None:
    """huggingface_hub's typed error for an error answer, reading at most :data:`MAX_ERROR_BYTES` of it."""
    if response.status_code < 400:
        return
    parts: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        parts.append(chunk[: MAX_ERROR_BYTES - size])
        size += len(parts[-1])
        if size >= MAX_ERROR_BYTES:
            break
    _raise_bounded(response.status_code, response.headers.multi_items(), b"".join(parts), response.request)


def _raise_plain(answer: plain_http.Answer) -> None:
    """:func:`raise_for_status` for an answer :mod:`.plain_http` received (httpx2 imported only now)."""
    import httpx2

    request = httpx2.Request("GET", answer.url, headers=answer.sent)
    _raise_bounded(answer.status, answer.headers, answer.body or b"", request)


def _raise_bounded(status: int, headers: ResponseHeaders, body: bytes, request: httpx2.Request) -> None:
    """hf_raise_for_status on an answer rebuilt from its status, headers and first bytes."""
    import httpx2

    kept = [(k, v) for k, v in headers if k.lower() not in _BODY_HEADERS]
    bounded = httpx2.Response(status, headers=kept, content=body, request=request)
    from huggingface_hub.utils import hf_raise_for_status  # only for an error answer

    hf_raise_for_status(bounded)


def _timeout(seconds: float) -> httpx2.Timeout:
    import httpx2

    return httpx2.Timeout(seconds)


def _session() -> httpx2.Client:
    """huggingface_hub's shared session (proxies, headers hooks, offline mode), imported on the first
    request: a command that sends none does not pay for ``huggingface_hub.utils``."""
    from huggingface_hub.utils import get_session

    return get_session()
