"""Keep secrets out of what is shown or stored: URLs lose their user:password part."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def url_without_userinfo(url: str) -> str:
    """``http://user:pass@host/x`` → ``http://***@host/x``: an endpoint is shown, its password never."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))
