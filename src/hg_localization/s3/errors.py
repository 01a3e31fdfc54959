"""The one place where boto3's, botocore's and s3transfer's errors become a ``StorageError``.

A person reading the message learns which endpoint and bucket, what was being done, and what
to check next. No message carries a secret: botocore's own texts do not contain the secret key,
and whatever we format is scrubbed of it anyway (a secret pasted into the wrong variable, such
as the endpoint URL, would otherwise be echoed back).

Two answers are not failures but facts the callers branch on, so they are tested for here
rather than translated: "no such key" (:func:`is_not_found`) and "precondition failed"
(:func:`is_precondition_failed`, the losing side of a conditional write).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from hg_localization.errors import HGLocalizationError, StorageError, in_chain
from hg_localization.s3.client import BucketLocation


class BucketUnreachableError(StorageError):
    """Nothing can be done with the bucket right now (no route, no credentials): retrying each
    revision in turn would only repeat the same error."""


#: What a request through a botocore client raises when it fails.
FOREIGN_ERRORS: tuple[type[BaseException], ...] = (BotoCoreError, ClientError)

#: What boto3's transfer manager (s3transfer) raises besides; by module, then class name.
_TRANSFER_ERRORS = {
    "boto3.exceptions": ("Boto3Error",),
    "s3transfer.exceptions": (
        "RetriesExceededError",
        "S3DownloadFailedError",
        "S3UploadFailedError",
        "S3CopyFailedError",
        "FatalError",
    ),
}


def foreign_errors() -> tuple[type[BaseException], ...]:
    """Every foreign exception type that means "the bucket operation failed", for ``except``.

    boto3's and s3transfer's only once their modules are loaded: an exception of a module that
    was never imported cannot have been raised, and importing them (a fifth of a second) is left
    to the transfers that use them (:mod:`.managed`), so that a sync with nothing to send skips it.
    """
    found = list(FOREIGN_ERRORS)
    for module_name, names in _TRANSFER_ERRORS.items():
        module = sys.modules.get(module_name)
        if module is not None:
            found.extend(getattr(module, name) for name in names)
    return tuple(found)


_DENIED = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "TokenRefreshRequired",
        "403",
        "Forbidden",
        "401",
    }
)
_NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})
_PRECONDITION = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})


@contextmanager
def bucket_errors(location: BucketLocation, action: str, *, secret: str | None = None) -> Iterator[None]:
    """Translate whatever boto3 raises inside the block; ``action`` reads "upload 'x' to"."""
    try:
        yield
    except HGLocalizationError:
        raise
    except foreign_errors() as exc:
        raise translate(exc, location, action, secret=secret) from exc


def translate(
    exc: BaseException, location: BucketLocation, action: str, *, secret: str | None = None
) -> StorageError:
    where = location.describe()
    client_error = _client_error_in(exc)
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        error: StorageError = BucketUnreachableError(
            f"Could not {action} {where}: no credentials were found.",
            hint="Set HGLOC_AWS_ACCESS_KEY_ID and HGLOC_AWS_SECRET_ACCESS_KEY, or AWS_PROFILE / "
            "AWS_ACCESS_KEY_ID for the standard AWS chain.",
        )
    elif client_error is not None:
        error = _from_client_error(client_error, location, action)
    elif _is_connection_error(exc):
        error = BucketUnreachableError(
            f"Could not {action} {where}: the endpoint cannot be reached ({_first_line(exc)}).",
            hint="Check HGLOC_S3_ENDPOINT_URL and that the S3 server is running and reachable.",
        )
    else:
        error = StorageError(f"Could not {action} {where}: {_first_line(exc)}")
    return _scrubbed(error, secret)


def error_code(exc: BaseException) -> str | None:
    client_error = _client_error_in(exc)
    if client_error is None:
        return None
    return str(client_error.response.get("Error", {}).get("Code", "")) or None


def is_not_found(exc: BaseException) -> bool:
    return error_code(exc) in _NOT_FOUND


def is_precondition_failed(exc: BaseException) -> bool:
    return error_code(exc) in _PRECONDITION


def is_denied(exc: BaseException) -> bool:
    return error_code(exc) in _DENIED


def _from_client_error(exc: ClientError, location: BucketLocation, action: str) -> StorageError:
    where = location.describe()
    code = error_code(exc) or "?"
    message = str(exc.response.get("Error", {}).get("Message", "")) or code
    if code in _DENIED:
        return StorageError(
            f"Could not {action} {where}: access denied ({code}).",
            hint="Check the bucket credentials (HGLOC_AWS_ACCESS_KEY_ID / HGLOC_AWS_SECRET_ACCESS_KEY, "
            "or AWS_PROFILE) and that they are allowed to do this.",
        )
    if code == "NoSuchBucket":
        return StorageError(
            f"Could not {action} {where}: the bucket '{location.bucket}' does not exist.",
            hint="Create it, or check HGLOC_S3_BUCKET_NAME and HGLOC_S3_ENDPOINT_URL.",
        )
    return StorageError(f"Could not {action} {where}: the server answered {code} ({message}).")


def _client_error_in(exc: BaseException) -> ClientError | None:
    """The ClientError behind ``exc`` (s3transfer and boto3 wrap them), if any."""
    return in_chain(exc, ClientError)


#: HTTPClientError: the connection closed or timed out mid-request.
_CONNECTION_ERRORS = (BotoConnectionError, HTTPClientError, ConnectionError, TimeoutError)


def _is_connection_error(exc: BaseException) -> bool:
    if in_chain(exc, _CONNECTION_ERRORS) is not None:
        return True
    transfer = sys.modules.get("s3transfer.exceptions")  # (never raised unless it was imported)
    return transfer is not None and isinstance(exc, transfer.RetriesExceededError)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _scrubbed(error: StorageError, secret: str | None) -> StorageError:
    if secret and (secret in error.message or (error.hint and secret in error.hint)):
        error.message = error.message.replace(secret, "**********")
        error.hint = error.hint.replace(secret, "**********") if error.hint else None
        error.args = (error.message,)
    return error
