"""The checks of :mod:`hg_localization.config`, one per kind of setting, and :class:`Secret`.

Each check takes a value as it was given (an argument, or the text of an environment variable)
and returns the field's value, or raises ``ValueError`` with the reason in words a person can act
on (``must be a whole number from 1 to 64, not 'lots'``): :class:`~hg_localization.config.
HGLocalizationConfig` gathers them and names the variable each came from. A reason never repeats
a secret, and shows a URL without its password.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hg_localization.redact import redact

DEFAULT_HF_ENDPOINT = "https://huggingface.co"


class Secret:
    """A text that prints as ``**********`` (in a repr, a str, an f-string or a log line).

    ``get_secret_value()`` is the one way to read it, as with pydantic's ``SecretStr``; two are
    equal when their values are, and an empty one is false.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def shown(value: Any) -> str:
    """``value`` as a reason may quote it: short, and without a password or a known secret."""
    return repr(redact(value)[:80]) if isinstance(value, str) else redact(repr(value))[:80]


def _kind(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def text(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(f"must be text, not {_kind(value)}")


def optional_text(value: Any) -> str | None:
    """Text, where empty (or None) is not set."""
    if value is None:
        return None
    return text(value) or None


def path(value: Any) -> Path:
    """A folder (``~`` expanded)."""
    if isinstance(value, str | os.PathLike):
        return Path(value).expanduser()
    raise ValueError(f"must be a path, not {_kind(value)}")


def number(
    low: float, high: float, *, above: bool = False, whole: bool = False, unit: str = ""
) -> Callable[[Any], Any]:
    """The check of a number from ``low`` (or, ``above``, over it) to ``high``; ``whole``: an int."""
    kind = ("a whole number" if whole else "a number") + (f" of {unit}" if unit else "")
    bounds = f"above {low:g} and at most {high:g}" if above else f"from {low:g} to {high:g}"

    def check(value: Any) -> float | int:
        got = _as_number(value)
        if (
            got is None
            or (whole and not got.is_integer())
            or got > high
            or got < low
            or (above and got == low)
        ):
            raise ValueError(f"must be {kind} {bounds}, not {shown(value)}")
        return int(got) if whole else got

    return check


def _as_number(value: Any) -> float | None:
    """``value`` as a finite number (text as Python reads it, blanks around it allowed), else None."""
    if not isinstance(value, str | int | float):  # (a bool is an int, as pydantic took it too)
        return None
    try:
        got = float(value)
    except (ValueError, OverflowError):
        return None
    return got if math.isfinite(got) else None


#: huggingface_hub's rule for a switch: any of these (any case) is on; any other text is off.
_ON = frozenset({"1", "ON", "YES", "TRUE"})


def switch(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().upper() in _ON
    if isinstance(value, int) and value in (0, 1):  # True and False included
        return bool(value)
    raise ValueError(f"must be on or off (1, ON, YES or TRUE is on), not {shown(value)}")


def _refuse_blanks(value: str) -> None:
    if _BLANK_OR_CONTROL_RE.search(value):
        raise ValueError(
            "contains a space, a line break or another control character (a copy-paste slip?); "
            "it was not used"
        )


def secret(value: Any) -> Secret | None:
    """A token or a secret key: never quoted, refused with a blank or a control character in it."""
    if value is None:
        return None
    value = value.get_secret_value() if isinstance(value, Secret) else value
    if not isinstance(value, str):
        raise ValueError(f"must be text, not {_kind(value)}")
    _refuse_blanks(value)
    return Secret(value)


def key_id(value: Any) -> str | None:
    """An access key id: refused with a blank in it, like a secret; empty is not set."""
    if isinstance(value, str):
        _refuse_blanks(value)
    return optional_text(value)


def hub_endpoint(value: Any) -> str:
    """The Hub's URL, without a trailing ``/``; empty is huggingface.co."""
    url = text(value).rstrip("/") or DEFAULT_HF_ENDPOINT
    _check_url(url)
    return url


def optional_url(value: Any) -> str | None:
    url = optional_text(value)
    if url:
        _check_url(url)
    return url


def s3_endpoint(value: Any) -> str | None:
    """An S3 endpoint: a URL whose host botocore accepts (a DNS name or an IP address)."""
    url = optional_url(value)
    host = urlsplit(url).hostname if url else None
    if host and not (_DNS_NAME_RE.match(host.rstrip(".")) or _is_ip_address(host)):
        raise ValueError(f"{redact(url or '')!r} has a host name S3 clients refuse ({host!r})")
    return url


def region(value: Any) -> str | None:
    name = optional_text(value)
    if name and not _REGION_RE.match(name):
        raise ValueError(f"{name[:80]!r} is not a region name (letters, digits and '-', e.g. us-east-1)")
    return name


def prefix(value: Any) -> str:
    """A folder in the bucket, without ``/`` around it."""
    return text(value).strip("/")


def _check_url(url: str) -> None:
    problem = url_problem(url)
    if problem:
        raise ValueError(f"{redact(url)!r} {problem}")


def url_problem(value: str) -> str | None:
    """What is wrong with an ``http(s)://host[:port]`` setting, in words; None when it is fine."""
    if not value.startswith(("http://", "https://")):
        return "must start with http:// or https://"
    if _BLANK_OR_CONTROL_RE.search(value):
        return "contains a space or a control character"
    try:
        parts = urlsplit(value)
    except ValueError:
        return "is not a valid URL (an IPv6 address goes in brackets: http://[::1]:8000)"
    if not parts.hostname:
        return "has no host name (e.g. http://localhost:8000; an IPv6 address goes in brackets)"
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        return "has a port that is not a number from 0 to 65535"
    return None


_BLANK_OR_CONTROL_RE = re.compile(r"[\s\x00-\x1f\x7f]")
_REGION_RE = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")
_DNS_NAME_RE = re.compile(r"^((?!-)[A-Z\d-]{1,63}(?<!-)\.)*((?!-)[A-Z\d-]{1,63}(?<!-))$", re.IGNORECASE)


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True
