"""A repo card is untrusted input: rendered as markdown that can run nothing, and capped.

- Raw HTML is never passed through (``html: False``): ``<script>``, ``<img onerror=…>`` and every
  other tag come out as text. markdown-it's own link check refuses ``javascript:``,
  ``vbscript:``, ``file:`` and ``data:`` links (``data:`` images of the common types excepted).
- An image on another host is shown as a link instead (no request leaves the visitor's browser
  unasked, and the page's CSP allows images from this server only); a relative link or image
  points at the repo's own file (``/{id}/resolve/{commit}/{path}``).
- At most :data:`CARD_RENDER_MAX_BYTES` of a card are rendered (markdown-it-py renders hostile
  markdown at tens of KB per second), each card once per commit (:class:`CardRenderer` keeps the
  last few rendered).
"""

from __future__ import annotations

import json
import posixpath
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

from hg_localization.server.hub_json import parse_front_matter
from hg_localization.usecases.models import compare_configs

CARD_RENDER_MAX_BYTES = 128 * 1024
CONFIG_MAX_BYTES = 1024 * 1024
#: The longest value a front-matter or config table cell shows.
CELL_MAX_CHARS = 2000
_CACHE_SIZE = 64
_EXTERNAL_REL = "nofollow noopener noreferrer"


@dataclass(frozen=True)
class RenderedCard:
    html: str
    front_matter: dict[str, Any] = field(default_factory=dict)
    #: The card is longer than what was rendered.
    truncated: bool = False


class CardRenderer:
    """Renders cards, keeping the last few (keyed by the caller: a source, an id, a commit)."""

    def __init__(self) -> None:
        self._cache: OrderedDict[tuple[str, ...], RenderedCard] = OrderedDict()
        self._lock = threading.Lock()

    def render(
        self, key: tuple[str, ...], read: Callable[[int], bytes | None], file_url: str
    ) -> RenderedCard:
        """The card ``read(limit)`` returns, its relative links resolved below ``file_url``."""
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        data = read(CARD_RENDER_MAX_BYTES + 1) or b""
        rendered = render_card(
            data[:CARD_RENDER_MAX_BYTES], file_url, truncated=len(data) > CARD_RENDER_MAX_BYTES
        )
        with self._lock:
            self._cache[key] = rendered
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return rendered


def render_card(data: bytes, file_url: str, *, truncated: bool = False) -> RenderedCard:
    text = data.decode("utf-8", errors="replace")
    front_matter = parse_front_matter(text)
    body = strip_front_matter(text)
    html = _MARKDOWN.render(body, {"file_url": file_url.rstrip("/")})
    return RenderedCard(html=html, front_matter=front_matter, truncated=truncated)


def strip_front_matter(text: str) -> str:
    if not text.startswith("---"):
        return text
    end = text.find("\n---", 3)
    if end == -1:
        return text
    closing = text.find("\n", end + 4)
    return "" if closing == -1 else text[closing + 1 :]


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    md.add_render_rule("link_open", _render_link_open)
    md.add_render_rule("image", _render_image)
    return md


def _render_link_open(self: Any, tokens: Sequence[Any], idx: int, options: Any, env: dict[str, Any]) -> str:
    token = tokens[idx]
    href = str(token.attrGet("href") or "")
    target = _target(href, env["file_url"])
    if target is None:
        token.attrs.pop("href", None)
    else:
        token.attrSet("href", target)
        if _is_external(target):
            token.attrSet("rel", _EXTERNAL_REL)
    return str(self.renderToken(tokens, idx, options, env))


def _render_image(self: Any, tokens: Sequence[Any], idx: int, options: Any, env: dict[str, Any]) -> str:
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    src = str(token.attrGet("src") or "")
    target = _target(src, env["file_url"])
    if target is None:
        return str(escapeHtml(alt))
    if _is_external(target):  # shown as a link: the visitor decides whether to fetch it
        label = escapeHtml(f"[image: {alt or target}]")
        return f'<a href="{escapeHtml(target)}" rel="{_EXTERNAL_REL}" class="image-link">{label}</a>'
    token.attrSet("src", target)
    token.attrSet("alt", alt)
    token.attrSet("loading", "lazy")
    return str(self.renderToken(tokens, idx, options, env))


def _target(url: str, file_url: str) -> str | None:
    """Where a card's link or image points: external, this server, or a file of the repo."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith(("#", "/")):
        return url  # markdown-it already refused the schemes that run code
    path = posixpath.normpath(unquote(parts.path)) if parts.path else ""
    if path.startswith("../") or path == "..":
        return None  # outside the repo
    if not path or path == ".":
        return f"#{parts.fragment}" if parts.fragment else None
    return f"{file_url}/{quote(path)}"


def _is_external(url: str) -> bool:
    return bool(urlsplit(url).netloc) or url.startswith("//")


_MARKDOWN = _markdown()  # one parser (rendering keeps its state per call, so threads share it)


# --- tables ------------------------------------------------------------------------------------


def cell(value: Any) -> str:
    """A value as a table cell shows it: text as it is, anything else as compact JSON."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        text = ", ".join(str(v) for v in value)
    else:
        text = json.dumps(value, ensure_ascii=False, default=str, separators=(", ", ": "))
    return text if len(text) <= CELL_MAX_CHARS else text[:CELL_MAX_CHARS] + "…"


def json_cell(value: Any) -> str:
    """A config value as JSON spells it (``true``, ``null``, ``"gelu"``), capped."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= CELL_MAX_CHARS else text[:CELL_MAX_CHARS] + "…"


def front_matter_rows(front_matter: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(key), cell(value)) for key, value in front_matter.items()]


def config_rows(config: dict[str, Any]) -> list[tuple[str, str]]:
    """The config's keys, nested ones dotted as ``compare-models`` spells them, with JSON values."""
    return [(row.key, json_cell(row.left)) for row in compare_configs(config, {})]


def parse_config(data: bytes | None) -> tuple[dict[str, Any] | None, str | None]:
    """(the config, None), or (None, why it cannot be shown)."""
    if data is None:
        return None, None
    if len(data) > CONFIG_MAX_BYTES:
        return None, f"config.json is larger than {CONFIG_MAX_BYTES // 1024} KB: download it to read it."
    try:
        parsed = json.loads(data)
    except (ValueError, RecursionError):
        return None, "config.json is not valid JSON."
    if not isinstance(parsed, dict):
        return None, "config.json is not a JSON object."
    return parsed, None
