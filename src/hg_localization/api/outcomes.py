"""The Python API's return conventions, shared by the model, dataset and bucket functions.

The API never raises for an expected failure and never prints: a localization or a sync
returns ``(success, path_or_message)`` and a read returns its value or None (the reason is
logged; the API does not configure logging, and its loggers never fall back to stderr). A
local file problem (a store path that is a file, a full disk) is such a failure, in words.
Every message is redacted (:func:`hg_localization.redact.redact`): no URL's password, no token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from hg_localization.errors import HGLocalizationError, LocalFileError
from hg_localization.redact import redact
from hg_localization.usecases.localize import LocalizeOutcome

T = TypeVar("T")

#: What the API turns into a message: its own errors, and the OS's (files and folders).
EXPECTED = (HGLocalizationError, OSError)


def message_of(exc: BaseException) -> str:
    """What went wrong, as a person reads it (message and hint), redacted."""
    return redact(str(as_error(exc)))


def as_error(exc: BaseException) -> BaseException:
    """An OSError that is not already one of ours becomes a :class:`LocalFileError` saying what to do."""
    if isinstance(exc, OSError) and not isinstance(exc, HGLocalizationError):
        return LocalFileError.from_os_error(exc, action="read or write")
    return exc


def localization_result(localize: Callable[[], LocalizeOutcome]) -> tuple[bool, str]:
    """``(True, path_of_the_revision_folder)`` or ``(False, what_went_wrong)``.

    When the local copy is complete but the bucket upload failed, the result is ``(False,
    message)``: the caller asked for both, and the local copy stays.
    """
    try:
        outcome = localize()
    except EXPECTED as exc:
        return False, message_of(exc)
    if outcome.upload_error is not None:
        return False, redact(
            f"Localized at {outcome.stored.path}, but the upload to the bucket failed: {outcome.upload_error}"
        )
    return True, str(outcome.stored.path)


def attempt(call: Callable[[], T], describe: Callable[[T], str]) -> tuple[bool, str]:
    """``(True, describe(result))`` or ``(False, what_went_wrong)``, both redacted."""
    try:
        result = call()
    except EXPECTED as exc:
        return False, message_of(exc)
    return True, redact(describe(result))


def or_none(read: Callable[[], T], logger: logging.Logger) -> T | None:
    """What ``read`` returns, or None (logged on the caller's ``logger``) when it fails as expected."""
    try:
        return read()
    except EXPECTED as exc:
        logger.info("%s", message_of(exc))
        return None


@contextmanager
def redacted_errors() -> Iterator[None]:
    """For the API functions that raise: our errors leave redacted, OS errors as LocalFileError."""
    try:
        yield
    except HGLocalizationError as exc:
        exc.message = redact(exc.message)
        exc.hint = redact(exc.hint) if exc.hint else None
        exc.args = (exc.message,)
        raise
    except OSError as exc:
        raise as_error(exc) from None
