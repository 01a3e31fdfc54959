"""The server's counters, and ``GET /metrics`` in the Prometheus text format (version 0.0.4).

==========================================  =======  =============================================
``hgloc_http_requests_total``               counter  requests answered, by ``route``, ``method``, ``status``
``hgloc_http_response_bytes_total``         counter  response body bytes sent, by ``route``
``hgloc_http_request_duration_seconds``     summary  ``_sum`` and ``_count``, by ``route``
``hgloc_http_request_failures_total``       counter  5xx answers (unexpected exceptions too), by ``route``
``hgloc_http_requests_in_flight``           gauge    requests being answered now (``/metrics`` too)
``hgloc_upstream_fetches_total``            counter  fetches from the upstream Hub (pull-through)
``hgloc_upstream_fetched_bytes_total``      counter  bytes those fetches brought
``hgloc_upstream_hits_total``               counter  requests answered from what was there already
``hgloc_upstream_misses_total``             counter  requests that needed the upstream
``hgloc_upstream_failures_total``           counter  upstream fetches that failed
``hgloc_info``                              gauge    1, with the server's ``version``
==========================================  =======  =============================================

``route`` is a fixed name per kind of request (``resolve``, ``api-info``, ``api-tree``, ``list``,
``lfs-batch``, ``lfs-upload``, ``health``, ``metrics``, ``other``…: :func:`route_label`), never a
repo id or a path, so private repo names do not leak and the number of series stays bounded.

For the code that fetches from upstream (pull-through), the one :class:`ServerMetrics` of a
server is ``app.state.metrics`` (``create_app(…, metrics=ServerMetrics())`` passes one in, so
the source can be given the same object before the app exists)::

    metrics.hit()                       # asked for, and there already
    metrics.miss()                      # asked for, not there: goes upstream
    metrics.upstream_fetch(nbytes=n)    # one fetch done (n bytes brought)
    metrics.upstream_failure()          # one fetch failed

Every method is thread-safe (call it from a worker thread or the event loop). The counters live
in the process: with ``serve --workers N`` each worker process counts its own requests, and a
scrape of ``/metrics`` reads the worker that took it. Scrape each replica (one worker each) when
exact totals matter.
"""

from __future__ import annotations

import threading
from collections import Counter

from starlette.requests import Request
from starlette.responses import Response

from hg_localization._version import __version__
from hg_localization.server import routing

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE"})
_FIXED_ROUTES = {"/health": "health", "/metrics": "metrics", "/api/agent-harnesses": "agent-harnesses"}
_UPSTREAM = (
    ("fetches", "Fetches from the upstream Hub (pull-through)."),
    ("fetched_bytes", "Bytes the upstream fetches brought."),
    ("hits", "Requests answered from what the server had already."),
    ("misses", "Requests that needed the upstream Hub."),
    ("failures", "Upstream fetches that failed."),
)


def route_label(raw_path: str) -> str:
    """The ``route`` label of a request path (raw, still percent-encoded, without the query)."""
    fixed = _FIXED_ROUTES.get(raw_path)
    if fixed is not None:
        return fixed
    if raw_path.startswith("/_hgloc/lfs/"):
        return "lfs-upload"
    route = routing.parse(raw_path)
    if isinstance(route, routing.ResolveRoute):
        return "resolve"
    if isinstance(route, routing.ApiRoute):
        return f"api-{route.action}"
    if isinstance(route, routing.ListRoute):
        return "list"
    if isinstance(route, routing.LfsBatchRoute):
        return "lfs-batch"
    return "other"


class ServerMetrics:
    """The counters of one server process (see the module's docstring for what each counts)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str, int]] = Counter()
        self._bytes: Counter[str] = Counter()
        self._seconds: dict[str, float] = {}
        self._failures: Counter[str] = Counter()
        self._upstream: Counter[str] = Counter()
        self._in_flight = 0

    # --- the request side (the access-log middleware calls these) ------------------------------
    def request_started(self) -> None:
        with self._lock:
            self._in_flight += 1

    def request_finished(self, route: str, method: str, status: int, nbytes: int, seconds: float) -> None:
        method = method if method in _METHODS else "other"
        with self._lock:
            self._in_flight -= 1
            self._requests[(route, method, status)] += 1
            self._bytes[route] += nbytes
            self._seconds[route] = self._seconds.get(route, 0.0) + seconds
            if status >= 500:
                self._failures[route] += 1

    # --- the upstream side (pull-through calls these) ----------------------------------------------
    def hit(self) -> None:
        self._count_upstream("hits")

    def miss(self) -> None:
        self._count_upstream("misses")

    def upstream_fetch(self, nbytes: int = 0) -> None:
        with self._lock:
            self._upstream["fetches"] += 1
            self._upstream["fetched_bytes"] += max(nbytes, 0)

    def upstream_failure(self) -> None:
        self._count_upstream("failures")

    def _count_upstream(self, name: str) -> None:
        with self._lock:
            self._upstream[name] += 1

    # --- the exposition --------------------------------------------------------------------------
    def render(self) -> str:
        """Every counter in the Prometheus text format."""
        with self._lock:
            requests, sent = dict(self._requests), dict(self._bytes)
            seconds, failures = dict(self._seconds), dict(self._failures)
            upstream, in_flight = dict(self._upstream), self._in_flight
        counts: Counter[str] = Counter()
        for (route, _, _), count in requests.items():
            counts[route] += count
        lines = _family("hgloc_info", "gauge", "The server's version.", [(f'{{version="{__version__}"}}', 1)])
        lines += _family(
            "hgloc_http_requests_total",
            "counter",
            "Requests answered, by route, method and status.",
            [(_labels(route=r, method=m, status=str(s)), n) for (r, m, s), n in sorted(requests.items())],
        )
        lines += _by_route("hgloc_http_response_bytes_total", "counter", "Response body bytes sent.", sent)
        lines += _family(
            "hgloc_http_request_duration_seconds",
            "summary",
            "Time from a request's arrival to its answer's last byte.",
            [(f"_sum{_labels(route=r)}", seconds[r]) for r in sorted(seconds)]
            + [(f"_count{_labels(route=r)}", counts[r]) for r in sorted(counts)],
        )
        lines += _by_route("hgloc_http_request_failures_total", "counter", "5xx answers.", failures)
        lines += _family(
            "hgloc_http_requests_in_flight", "gauge", "Requests being answered now.", [("", in_flight)]
        )
        for name, text in _UPSTREAM:
            lines += _family(f"hgloc_upstream_{name}_total", "counter", text, [("", upstream.get(name, 0))])
        return "\n".join(lines) + "\n"

    async def endpoint(self, request: Request) -> Response:
        """``GET /metrics``."""
        return Response(self.render(), media_type=CONTENT_TYPE)


def _family(name: str, kind: str, text: str, samples: list[tuple[str, float]]) -> list[str]:
    """``# HELP``, ``# TYPE`` and one line per sample (a suffix or a label set, and its value)."""
    lines = [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
    for suffix, value in samples:
        number = repr(value) if isinstance(value, float) else str(value)
        lines.append(f"{name}{suffix} {number}")  # suffix: a label set, or a summary's _sum{…}/_count{…}
    return lines


def _by_route(name: str, kind: str, text: str, values: dict[str, int]) -> list[str]:
    return _family(
        name, kind, f"{text[:-1]}, by route.", [(_labels(route=r), v) for r, v in sorted(values.items())]
    )


def _labels(**labels: str) -> str:
    escaped = (_escape(value) for value in labels.values())
    return "{" + ",".join(f'{key}="{value}"' for key, value in zip(labels, escaped, strict=True)) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
