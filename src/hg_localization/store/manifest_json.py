"""The JSON of a revision manifest: read with strict type checks, written as the pydantic models did.

The manifest classes were pydantic models until importing pydantic became the largest cost of a
warm CLI run. Files and bucket objects they wrote must read the same, and files written now must
be the same bytes (``push`` compares them, other tools read them), so this module keeps their
format exactly: indent 2, the keys in field order, UTF-8 text unescaped, ``fetched_at`` as
``2026-11-29T12:00:00.123456Z``, floats as pydantic-core writes them (``0.00001``, ``1e-7``,
``1e+16``) and a float that is not finite as ``null``.

Reading is stricter than pydantic's lax JSON mode, which no file written by this tool needs: an
integer must be a JSON integer (pydantic also took ``1.0``, ``"1"``, ``" 12 "`` or ``false``), a
boolean must be ``true``/``false`` (pydantic also took ``1``, ``"yes"``, ``"on"``...), and
``fetched_at`` must be an ISO 8601 text (pydantic also took Unix times, as numbers or texts).
Everything else pydantic refused is refused: more than 201 levels of nesting, a number with more
than 4,300 digits before its point, lone surrogates, bytes that are not UTF-8.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from json.encoder import encode_basestring  # the C escaper json.dumps uses (ensure_ascii=False)
from typing import TypeVar

from hg_localization.errors import InvalidInputError

#: The largest file size a metadata file may record (an int64, as S3 and every filesystem have).
MAX_FILE_SIZE = 2**63 - 1
#: The deepest value pydantic's JSON parser (jiter) accepted: the document is at level 1, its
#: values at level 2, and so on (an empty list at level 201 is fine, a list holding 1 is not).
MAX_DEPTH = 201
_MAX_DIGITS = 4300  # what jiter, and Python's int(), read before the number is "out of range"

_T = TypeVar("_T", bound=str)
_V = TypeVar("_V")
_REQUIRED: object = object()
_LEADING_DIGITS_RE = re.compile(r"-?([0-9]*)")
_SURROGATE_ESCAPE_RE = re.compile(r"\\u[dD][89a-fA-F]")
_WRITTEN_UTC_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{6})?Z")
_DATETIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[Tt _]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)?"
    r"(?:([Zz])|([+-])([0-9]{2}):?([0-9]{2}))?)?"
)


def _float(literal: str) -> float:
    """A JSON float; jiter refused one with more than 4,300 digits before its point (float() says inf)."""
    if len(literal) > _MAX_DIGITS:
        leading = _LEADING_DIGITS_RE.match(literal)
        if leading is not None and len(leading.group(1)) > _MAX_DIGITS:
            raise ValueError(f"a number has more than {_MAX_DIGITS} digits")
    return float(literal)


_DECODER = json.JSONDecoder(parse_float=_float)


def loads(text: str | bytes) -> object:
    """The JSON value ``text`` holds; InvalidInputError saying why for anything that is not JSON."""
    try:
        if isinstance(text, str):
            text.encode("utf-8")  # a str with lone surrogates is no text a file can hold
            decoded = text
        else:  # bytes (or a bytearray)
            decoded = text.decode("utf-8")
        data = _DECODER.decode(decoded)
        if _SURROGATE_ESCAPE_RE.search(decoded):
            json.dumps(data, ensure_ascii=False).encode("utf-8")  # "\ud800" escaped: refused too
    except RecursionError:
        raise InvalidInputError("it is nested too deeply") from None
    except UnicodeError:
        raise InvalidInputError("it is not UTF-8 text") from None
    except ValueError as exc:  # json.JSONDecodeError, or an integer with too many digits
        lines = str(exc).splitlines()
        raise InvalidInputError(f"it is not JSON: {lines[0] if lines else type(exc).__name__}") from None
    return data


class Fields:
    """One JSON object's fields, each read as the type the manifest wants; errors name the field.

    Each read is a lookup and a type check: where the field is (``files.3.size``) is put into
    words only for the message of a value that is wrong.
    """

    __slots__ = ("_data", "_index", "_level", "_where")

    def __init__(self, data: object, where: str, level: int, index: int | None = None) -> None:
        self._where = where if index is None else f"{where}.{index}"
        if not isinstance(data, dict):
            raise InvalidInputError(
                f"{self._where}: should be an object" if where else "it should be a JSON object"
            )
        self._data: dict[str, object] = data
        self._level = level

    def _wrong(self, key: str, value: object, wanted: str) -> InvalidInputError:
        at = f"{self._where}.{key}" if self._where else key
        return InvalidInputError(f"{at}: {'is missing' if value is _REQUIRED else wanted}")

    def text(self, key: str) -> str:
        value = self._data.get(key, _REQUIRED)
        if type(value) is str:
            return value
        raise self._wrong(key, value, "should be a string")

    def optional_text(self, key: str) -> str | None:
        value = self._data.get(key)
        if value is None or type(value) is str:
            return value
        raise self._wrong(key, value, "should be a string")

    def integer(self, key: str, default: object = _REQUIRED) -> int:
        value = self._data.get(key, default)
        if type(value) is int:
            return value
        raise self._wrong(key, value, "should be an integer")

    def size(self, key: str) -> int:
        value = self.integer(key)
        if 0 <= value <= MAX_FILE_SIZE:
            return value
        raise self._wrong(key, value, f"should be from 0 to {MAX_FILE_SIZE}")

    def boolean(self, key: str, default: bool) -> bool:
        value = self._data.get(key, default)
        if type(value) is bool:
            return value
        raise self._wrong(key, value, "should be true or false")

    def choice(self, key: str, options: tuple[_T, ...], default: object = _REQUIRED) -> _T:
        value = self._data.get(key, default)
        for option in options:
            if value == option and type(value) is str:
                return option
        raise self._wrong(key, value, f"should be {' or '.join(repr(option) for option in options)}")

    def optional_choice(self, key: str, options: tuple[_T, ...]) -> _T | None:
        return None if self._data.get(key) is None else self.choice(key, options)

    def each(self, key: str, read: Callable[[object, str, int], _V]) -> list[_V]:
        """``read(item, where, index)`` of each item of a list (none when the key is absent)."""
        values = self._data.get(key, [])
        if type(values) is not list:
            raise self._wrong(key, values, "should be a list")
        where = f"{self._where}.{key}" if self._where else key
        return [read(value, where, index) for index, value in enumerate(values)]

    def texts(self, key: str) -> list[str]:
        """A list of strings (empty when the key is absent)."""
        values = self._data.get(key, [])
        if type(values) is not list:
            raise self._wrong(key, values, "should be a list")
        for index, value in enumerate(values):
            if type(value) is not str:
                raise self._wrong(f"{key}.{index}", value, "should be a string")
        return values

    def mapping(self, key: str) -> dict[str, object]:
        value = self._data.get(key, {})
        if type(value) is not dict:
            raise self._wrong(key, value, "should be an object")
        if value:
            check_depth(value, self._level + 1)
        return value

    def timestamp(self, key: str, default: Callable[[], datetime]) -> datetime:
        if key not in self._data:
            return default()
        value = self._data[key]
        if isinstance(value, str) and (parsed := parse_datetime(value)) is not None:
            return parsed
        raise self._wrong(key, value, "should be a date and time (ISO 8601)")

    def check_others(self, known: frozenset[str]) -> None:
        """Keys the manifest does not know are ignored, but not when nested deeper than pydantic read."""
        if not known.issuperset(self._data):
            for key, value in self._data.items():
                if key not in known:
                    check_depth(value, self._level + 1)


def check_depth(value: object, level: int) -> None:
    """InvalidInputError when ``value`` (at ``level``) holds a value deeper than MAX_DEPTH."""
    children: Iterable[object]
    if isinstance(value, dict):
        children = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return
    if level > MAX_DEPTH or (level == MAX_DEPTH and len(value) > 0):  # its items would be deeper
        raise InvalidInputError("it is nested too deeply")
    for child in children:
        check_depth(child, level + 1)


def parse_datetime(text: str) -> datetime | None:
    """An ISO 8601 date (and time), as pydantic read it (naive when it has no offset), or None."""
    if _WRITTEN_UTC_RE.fullmatch(text):  # what datetime_text writes: fromisoformat reads it alike
        try:
            return datetime.fromisoformat(text)
        except ValueError:  # 2026-02-30, 24:00, 23:59:60...
            return None
    match = _DATETIME_RE.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, tz_hours, tz_minutes = match.groups()
    tz: timezone | None = None
    if zulu:
        tz = UTC
    elif sign:
        if int(tz_hours) > 23 or int(tz_minutes) > 59:
            return None
        offset = timedelta(hours=int(tz_hours), minutes=int(tz_minutes))
        tz = timezone(-offset if sign == "-" else offset)
    micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
    try:
        return datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro, tz
        )
    except ValueError:  # 2026-02-30, 24:00, 23:59:60...
        return None


def datetime_text(value: datetime) -> str:
    """``value`` as pydantic wrote it: ISO 8601, ``Z`` for UTC, microseconds only when there are some."""
    text = value.isoformat()
    if value.tzinfo is not None and value.utcoffset() == timedelta(0):
        return text[: -len("+00:00")] + "Z" if text.endswith("+00:00") else text
    return text


def float_text(value: float) -> str:
    """``value`` as pydantic-core writes it: Python's repr, but ``0.00001`` for e-05 and ``1e-7`` for e-07."""
    if not math.isfinite(value):
        return "null"
    text = float.__repr__(value)
    if "e-0" not in text:
        return text
    mantissa, exponent = text.split("e-0")
    if exponent != "5":
        return f"{mantissa}e-{exponent}"
    sign = "-" if mantissa.startswith("-") else ""
    return f"{sign}0.0000{mantissa.lstrip('-').replace('.', '')}"


def dumps(value: object) -> str:
    """``value`` as JSON text with indent 2, as pydantic's ``model_dump_json(indent=2)`` wrote it."""
    return _text(value, "\n")


def _text(value: object, newline: str) -> str:
    # The types a manifest holds most come first: it lists thousands of strings, sizes and flags.
    if type(value) is str:
        return encode_basestring(value)
    if type(value) is int:
        return int.__repr__(value)
    if value is None or value is True or value is False:
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, str):
        return encode_basestring(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return float_text(value)
    inner = newline + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{encode_basestring(_key_text(key))}: {_text(item, inner)}" for key, item in value.items()]
        return f"{{{inner}{(',' + inner).join(items)}{newline}}}"
    if isinstance(value, (list, tuple, set, frozenset)):
        if not value:
            return "[]"
        return f"[{inner}{(',' + inner).join([_text(item, inner) for item in value])}{newline}]"
    return encode_basestring(_other_text(value))


def _key_text(key: object) -> str:
    """A dict key as pydantic-core wrote it (a card's YAML may have numbers, dates or null as keys)."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, float) and not math.isfinite(key):
        return "None"
    if key is None or isinstance(key, (int, float)):
        return str(key)
    return _other_text(key)


def _other_text(value: object) -> str:
    """Values a card's YAML can hold that JSON has no type for, as pydantic-core wrote them."""
    if isinstance(value, datetime):
        return datetime_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8")
    raise TypeError(f"a {type(value).__name__} cannot be written in a metadata file")
