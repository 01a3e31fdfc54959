"""How the catalog answers: HTML from the templates, JSON, static files, and the headers of each.

Every answer carries the same security headers: a Content-Security-Policy that allows no script
at all (the catalog needs none), no framing (``frame-ancestors 'none'``), styles and images from
this server only (and ``data:`` images, which run nothing); ``X-Content-Type-Options: nosniff``;
and ``Server-Timing`` with the server's own time for the page.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

import hg_localization.catalog.paths as paths
from hg_localization._version import __version__
from hg_localization.server.hub_json import iso
from hg_localization.sizes import human_size

SERVER_DIR = Path(__file__).resolve().parent.parent / "server"
TEMPLATES_DIR = SERVER_DIR / "templates"
STATIC_DIR = SERVER_DIR / "static"

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
#: Pages depend on the visitor's token: never kept by a shared cache.
PAGE_CACHE = {"Cache-Control": "private, no-cache", "Vary": "Authorization, Cookie"}


def short_date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(size=human_size, date=short_date, iso=iso)
    env.globals.update(
        repo_url=paths.repo_url,
        tree_url=paths.tree_url,
        resolve_url=paths.resolve_url,
        version=__version__,
        safe_html=Markup,  # only ever given the card renderer's output
    )
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def page(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    html = render(template, request=request, **context)
    return HTMLResponse(html, status_code=status, headers=headers(request))


def json_answer(request: Request, data: Any, *, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=headers(request))


def json_text(request: Request, text: str, *, status: int = 200) -> Response:
    """JSON already serialised (a pydantic model's ``model_dump_json``)."""
    return Response(text, status_code=status, media_type="application/json", headers=headers(request))


def error_json(request: Request, status: int, message: str) -> Response:
    return json_text(request, json.dumps({"error": message}), status=status)


def headers(request: Request) -> dict[str, str]:
    started = request.scope.get("catalog_started")
    found = {**SECURITY_HEADERS, **PAGE_CACHE}
    if isinstance(started, float):
        found["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return found


def mark_start(request: Request) -> None:
    request.scope["catalog_started"] = time.perf_counter()


@cache
def static_files() -> dict[str, tuple[bytes, str]]:
    """The stylesheet and pictures, read once: name → (bytes, media type)."""
    types = {".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
    found = {}
    for path in sorted(STATIC_DIR.iterdir()) if STATIC_DIR.is_dir() else []:
        if path.is_file() and path.suffix in types:
            found[path.name] = (path.read_bytes(), types[path.suffix])
    return found


async def static(request: Request) -> Response:
    name = request.path_params.get("name", "")
    found = static_files().get(name)
    if found is None:
        return Response("Not found", status_code=404, media_type="text/plain", headers=SECURITY_HEADERS)
    content, media_type = found
    cache_headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"}
    return Response(content, media_type=media_type, headers=cache_headers)
