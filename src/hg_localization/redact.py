"""Keep secrets out of what is shown or stored: the one redaction path.

Every text meant for a person goes through :func:`redact` on its way out: the CLI's
:class:`~hg_localization.cli.output.Output` (messages, errors, tables, results, progress
lines), the log records the CLI shows (:class:`RedactingFilter`), the Python API's
``(False, message)`` answers and the server's error answers. It does two things:

- a URL anywhere in the text loses its ``user:password@`` part (``http://***@host/x``);
- a known secret value becomes ``***``: :mod:`hg_localization.config` registers the Hub token
  and the S3 secret key of every configuration it makes (:func:`register_secret`).

Values shorter than :data:`MIN_SECRET_LENGTH` are not registered: masking every ``s`` of a
message would make it unreadable, and such a value protects nothing anyway.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import quote, urlsplit, urlunsplit

MASK = "***"
#: Secrets shorter than this are not masked (see the module docstring).
MIN_SECRET_LENGTH = 6

# scheme://userinfo@ — the userinfo runs to the last '@' before the path, query or fragment.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)[^\s/?#\"'<>`@]*(?:@[^\s/?#\"'<>`@]*)*@")

_lock = threading.Lock()
_secrets: tuple[str, ...] = ()


def register_secret(value: str | None) -> None:
    """Mask ``value`` (and its URL-encoded form) in every text :func:`redact` sees from now on."""
    global _secrets
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    forms = {value, value.strip(), quote(value, safe="")}
    with _lock:
        known = set(_secrets) | {f for f in forms if len(f) >= MIN_SECRET_LENGTH}
        _secrets = tuple(sorted(known, key=len, reverse=True))  # longest first: no partial leftovers


def redact(text: str) -> str:
    """``text`` without any URL's ``user:password@`` part and without any registered secret."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    if "://" in text:
        text = _USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
    return text


def url_without_userinfo(url: str) -> str:
    """``http://user:pass@host/x`` → ``http://***@host/x``: an endpoint is shown, its password never.

    A URL that cannot even be parsed (``http://[::1``) is still redacted, as text.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=f"{MASK}@" + parts.netloc.rsplit("@", 1)[1]))


class RedactingFilter(logging.Filter):
    """Redacts a log record's message (arguments merged in), its traceback and its stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: logging reports it itself; show the template
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_log_redaction(logger: logging.Logger, *, own: tuple[logging.Logger, ...] = ()) -> None:
    """Redact every record ``logger``'s handlers handle (those propagated from below included),
    and every record logged on the ``own`` loggers (which keep handlers of their own: uvicorn's).

    Installed once: calling it again adds nothing.
    """
    filterers: list[logging.Filterer] = [*logger.handlers, *own]
    for filterer in filterers:
        if not any(isinstance(f, RedactingFilter) for f in filterer.filters):
            filterer.addFilter(RedactingFilter())
