"""Bounded retries for Hub requests: which failures are worth another try, and how long to wait.

A busy or restarting Hub answers 429/500/502/503/504, often with ``Retry-After``; a connection
can drop or stall in the middle of a file. Those are tried again, a few times, waiting as the
Hub asks (or 0.5 s, 1 s, 2 s when it does not say), never longer than :class:`RetryPolicy`
allows in all. Anything else (404, 401, a refused connection) fails at once.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

#: HTTP answers that mean "not now" rather than "no".
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

#: Transport failures after a connection was made: it dropped, stalled or broke mid-answer.
#: (A refused connection or a bad URL is not among them: the Hub is unreachable, say so at once.)
#: httpx2's class names, looked up once httpx2 is imported (this module does not import it).
RETRY_TRANSPORT_ERRORS = ("ReadTimeout", "WriteTimeout", "ReadError", "WriteError", "RemoteProtocolError")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: ``attempts`` tries in a row without progress, waits capped one by one and in all."""

    attempts: int = 4
    #: The first wait when the Hub gives no ``Retry-After``; doubled after each failure.
    base_delay: float = 0.5
    #: The longest single wait. A ``Retry-After`` asking for more is not waited for: the request fails.
    max_delay: float = 30.0
    #: The most time spent waiting, over all the retries of one request or file.
    max_total_wait: float = 120.0
    #: How often a download that keeps making progress may be resumed (each resume continues
    #: from the bytes already received, so this only bounds a Hub that drops every connection).
    max_resumes: int = 50


@dataclass
class Backoff:
    """The retry state of one request or one file: counts failures and sleeps between tries."""

    policy: RetryPolicy
    sleep: Callable[[float], None] = time.sleep
    failures: int = 0
    resumes: int = 0
    waited: float = 0.0
    #: Why the last :meth:`wait` said no, for the error message.
    reason: str = field(default="")

    def wait(self, retry_after: float | None = None, *, progressed: bool = False) -> bool:
        """Sleep before the next try and return True, or return False when the policy says stop.

        ``progressed``: the failed try received bytes, so the next one continues from there at once.
        """
        policy = self.policy
        if progressed:
            self.resumes += 1
            self.failures = 0
            if self.resumes > policy.max_resumes:
                self.reason = f"it broke off {self.resumes} times"
                return False
            delay = retry_after or 0.0
        else:
            self.failures += 1
            if self.failures >= policy.attempts:
                self.reason = f"gave up after {self.failures} tries"
                return False
            backoff = min(policy.base_delay * 2 ** (self.failures - 1), policy.max_delay)
            delay = backoff if retry_after is None else retry_after
        if delay > policy.max_delay:
            self.reason = (
                f"it asked to retry after {delay:.0f} s, longer than the {policy.max_delay:.0f} s waited"
            )
            return False
        if self.waited + delay > policy.max_total_wait:
            self.reason = f"gave up after waiting {self.waited:.0f} s in all"
            return False
        self.waited += delay
        if delay > 0:
            self.sleep(delay)
        return True


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """The wait a ``Retry-After`` header asks for, in seconds (a number or an HTTP date); None if absent.

    ``headers``: case-insensitive, as an answer's (``httpx2.Headers``).
    """
    value = str((headers or {}).get("Retry-After", "")).strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime  # only for a date: email.utils is slow to import

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def retryable(exc: BaseException) -> tuple[bool, float | None]:
    """Whether a failed request may be tried again, and the wait the Hub asked for (if any)."""
    if _is_retryable_transport_error(exc):
        return True, None
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int) and status in RETRY_STATUSES:
        return True, retry_after(getattr(response, "headers", None))
    return False, None


def _is_retryable_transport_error(exc: BaseException) -> bool:
    httpx2 = sys.modules.get("httpx2")  # not imported yet: no exception can be one of its
    return httpx2 is not None and isinstance(
        exc, tuple(getattr(httpx2, name) for name in RETRY_TRANSPORT_ERRORS)
    )
