"""The one exception family of hg-localization.

Every error a user can meet is an ``HGLocalizationError`` whose message says what happened and
what to do next. Foreign errors (huggingface_hub, boto3, OS) are translated at the boundary that
talks to them (``hub/errors.py``, ``s3/errors.py``) and never escape into the CLI or the server.

::

    HGLocalizationError                                        exit code
     ├── InvalidInputError (ValueError)       bad id, revision, path, pattern, option combination   2
     ├── NotFoundError (LookupError)                                                                  4
     │    ├── RepoNotFoundError               no such repo (or no access to it)
     │    ├── RevisionNotFoundError           the repo exists, the revision does not
     │    ├── EntryNotFoundError              the revision exists, the file does not
     │    └── NotLocalizedError               nothing in the local store for this id/revision
     │         └── DamagedRevisionError       store/damaged.py: the copy's metadata file is damaged
     ├── AuthenticationError (PermissionError) private or gated repo, missing or bad token           3
     │    └── RepoDeniedError                 a server's --allow/--deny lists refuse the repo
     ├── IntegrityError                       a checksum did not match                              5
     │    ├── ChecksumsFileError              weights/checksums.py: checksums.txt is malformed
     │    ├── MissingFilesError               weights/checksums.py: files it lists are missing
     │    └── ChecksumMismatchError           weights/checksums.py: files differ from it
     ├── UpstreamError (ConnectionError)      the Hub could not be reached or answered badly        6
     ├── StorageError (OSError)               the bucket could not be reached or refused            7
     │    ├── BucketUnreachableError          s3/errors.py: no answer from the endpoint
     │    ├── WriteConflictError              s3/bucket.py: a conditional write lost a race
     │    ├── NewerInBucketError              s3/push_plan.py: the bucket's branch is ahead of the store's
     │    └── ObjectChangedError              s3/serving.py: an object is not what its metadata says
     ├── LocalFileError (OSError)             a local file or folder could not be read or written   8
     │    └── UnreadableSourceError           s3/transfers.py: a file to upload cannot be read
     ├── ConfirmationRequiredError            an action needs a yes the user did not give           2
     ├── RepoExistsError                      server/repo_writer.py: create_repo of an existing repo (409)
     ├── CommitConflictError                  server/repo_writer.py: the commit's parent moved (409)
     └── RefExistsError                       server/ref_writer.py: the tag or branch exists (409)

A server answers these in the Hub's dialect (``server/responses.py``); the CLI prints the message
and the hint and exits with the code on the right (``cli/app.py``), the Python API returns
``(False, message)``.

Each dependency's own errors are translated at its one boundary (``hub/errors.py`` for
huggingface_hub and HTTP, ``s3/errors.py`` for boto3, ``datasets/library.py`` for the datasets
library, ``LocalFileError.from_os_error`` for the OS) and only the errors it knows; anything else
is a bug and reaches the one "Unexpected error" presenter (``cli/app.py``, exit 1), which says how
to report it.
"""

from __future__ import annotations

from typing import TypeVar

_E = TypeVar("_E", bound=BaseException)


def in_chain(exc: BaseException, kinds: type[_E] | tuple[type[_E], ...]) -> _E | None:
    """The first exception of ``kinds`` in the chain that led to ``exc`` (``exc`` itself, then each
    ``__cause__`` or else ``__context__``, every one once), or None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kinds):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


class HGLocalizationError(Exception):
    """Root of every error this package raises on purpose."""

    #: Process exit code the CLI uses for this kind of error.
    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n{self.hint}"
        return self.message


class InvalidInputError(HGLocalizationError, ValueError):
    """Something the user typed is not acceptable; nothing was written."""

    exit_code = 2


class NotFoundError(HGLocalizationError, LookupError):
    """Something asked for does not exist."""

    exit_code = 4


class RepoNotFoundError(NotFoundError):
    def __init__(self, repo_id: str, repo_type: str = "model", *, hint: str | None = None) -> None:
        super().__init__(
            f"No {repo_type} repository '{repo_id}' was found.",
            hint=hint or "Check the id (namespace/name) and the repository type.",
        )
        self.repo_id = repo_id
        self.repo_type = repo_type


class RevisionNotFoundError(NotFoundError):
    def __init__(self, repo_id: str, revision: str, repo_type: str = "model") -> None:
        super().__init__(
            f"The {repo_type} repository '{repo_id}' has no revision '{revision}'.",
            hint="Check the branch, tag or commit name.",
        )
        self.repo_id = repo_id
        self.revision = revision


class EntryNotFoundError(NotFoundError):
    def __init__(self, repo_id: str, path: str, revision: str | None = None) -> None:
        where = f" at revision '{revision}'" if revision else ""
        super().__init__(f"'{path}' does not exist in '{repo_id}'{where}.")
        self.repo_id = repo_id
        self.path = path


class NotLocalizedError(NotFoundError):
    def __init__(self, repo_id: str, revision: str | None, repo_type: str = "model") -> None:
        rev = f" (revision '{revision}')" if revision else ""
        command = "download-model" if repo_type == "model" else f"download-{repo_type}"
        super().__init__(
            f"The {repo_type} '{repo_id}'{rev} is not in the local store.",
            hint=f"Localize it first: hg-localization {command} {repo_id}",
        )
        self.repo_id = repo_id


class AuthenticationError(HGLocalizationError, PermissionError):
    exit_code = 3

    def __init__(
        self, repo_id: str | None = None, *, message: str | None = None, hint: str | None = None
    ) -> None:
        what = f"'{repo_id}'" if repo_id else "This repository"
        super().__init__(
            message or f"Access to {what} was refused: the repository is private or gated.",
            hint=hint
            or "Set HF_TOKEN (or HUGGING_FACE_HUB_TOKEN) to a token that has access to it, "
            "or log in with `hf auth login`.",
        )
        self.repo_id = repo_id


class RepoDeniedError(AuthenticationError):
    """A server does not fetch this repository from its upstream (``serve --allow/--deny``)."""

    def __init__(self, repo_id: str, *, pattern: str | None = None) -> None:
        why = f"it matches --deny '{pattern}'" if pattern else "it matches no --allow pattern"
        super().__init__(
            repo_id,
            message=f"This server does not fetch '{repo_id}' from its upstream Hub: {why}.",
            hint="Ask the server's operator to allow it (serve --allow GLOB), or use another endpoint.",
        )


class IntegrityError(HGLocalizationError):
    """A file's checksum is not what the source promised; the file was not kept."""

    exit_code = 5

    def __init__(self, path: str, expected: str, actual: str, *, algorithm: str = "sha256") -> None:
        super().__init__(
            f"Checksum mismatch for '{path}': expected {algorithm} {expected}, got {actual}.",
            hint="The file was not kept. Retry; if it persists, the source copy is corrupt.",
        )
        self.path = path
        self.expected = expected
        self.actual = actual


class UpstreamError(HGLocalizationError, ConnectionError):
    """The Hub (or another upstream) could not be reached or answered with an error."""

    exit_code = 6


class StorageError(HGLocalizationError, OSError):
    """The S3 bucket could not be reached, or refused the operation."""

    exit_code = 7


class LocalFileError(HGLocalizationError, OSError):
    """A file or folder on this machine could not be read or written (permissions, full disk)."""

    exit_code = 8

    @classmethod
    def from_os_error(cls, exc: OSError, action: str = "write") -> LocalFileError:
        where = f" {exc.filename}" if exc.filename else ""
        return cls(
            f"Could not {action}{where}: {exc.strerror or exc}.",
            hint="Check the free space and the permissions of that folder (HGLOC_*_STORE_PATH).",
        )


class ConfirmationRequiredError(HGLocalizationError):
    exit_code = 2
