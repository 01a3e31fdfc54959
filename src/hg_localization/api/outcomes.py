"""The Python API's return conventions, shared by the model and dataset functions.

The API never raises for an expected failure: a localization returns ``(success,
path_or_message)`` and a read returns its value or None (the reason is logged).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from hg_localization.errors import HGLocalizationError
from hg_localization.usecases.localize import LocalizeOutcome

T = TypeVar("T")


def localization_result(localize: Callable[[], LocalizeOutcome]) -> tuple[bool, str]:
    """``(True, path_of_the_revision_folder)`` or ``(False, what_went_wrong)``.

    When the local copy is complete but the bucket upload failed, the result is ``(False,
    message)``: the caller asked for both, and the local copy stays.
    """
    try:
        outcome = localize()
    except HGLocalizationError as exc:
        return False, str(exc)
    if outcome.upload_error is not None:
        return False, (
            f"Localized at {outcome.stored.path}, but the upload to the bucket failed: {outcome.upload_error}"
        )
    return True, str(outcome.stored.path)


def or_none(read: Callable[[], T], logger: logging.Logger) -> T | None:
    """What ``read`` returns, or None (logged on the caller's ``logger``) when it fails as expected."""
    try:
        return read()
    except HGLocalizationError as exc:
        logger.info("%s", exc)
        return None
