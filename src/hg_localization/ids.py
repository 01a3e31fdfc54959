"""Repo ids, revisions and in-repo paths: parsed and validated before they touch anything.

Every string that comes from outside (a user, the Hub, a bucket listing, an HTTP request) and
will become part of a filesystem path or an object key passes through here first. The rules are
the Hub's own where it has them (``namespace/name``, ``[A-Za-z0-9._-]``, no ``--`` or ``..``),
plus the ones a filesystem needs (no absolute paths, no ``..`` segments, no control characters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, unquote

from hg_localization.errors import InvalidInputError

RepoType = Literal["model", "dataset"]
REPO_TYPES: tuple[RepoType, ...] = ("model", "dataset")

#: Folder that holds ids without a namespace (``gpt2``) so they never collide with ``org/name``.
NO_NAMESPACE_FOLDER = "_"

_NAME_RE = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?$")
_COMMIT_RE = re.compile(r"[0-9a-f]{40}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_MAX_REVISION_LENGTH = 200
_MAX_PATH_LENGTH = 1024


@dataclass(frozen=True, order=True)
class RepoId:
    """A validated Hub repository id: ``namespace/name`` or a bare legacy ``name``."""

    namespace: str | None
    name: str

    @classmethod
    def parse(cls, value: str) -> RepoId:
        return parse_repo_id(value)

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def folder_parts(self) -> tuple[str, str]:
        """The two folder levels this id occupies in a store or a bucket."""
        return (self.namespace or NO_NAMESPACE_FOLDER, self.name)


def parse_repo_id(value: object) -> RepoId:
    """Validate a repo id; raise :class:`InvalidInputError` saying what is wrong with it."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(
            "The repository id is empty.", hint="Give it as namespace/name, e.g. google/bert."
        )
    if _CONTROL_RE.search(value):
        raise InvalidInputError(f"The repository id {value!r} contains control characters.")
    if value != value.strip():
        raise InvalidInputError(f"The repository id {value!r} has leading or trailing spaces.")
    if value.startswith("/") or value.startswith("\\"):
        raise InvalidInputError(f"The repository id {value!r} is an absolute path, not an id.")
    parts = value.split("/")
    if len(parts) > 2:
        raise InvalidInputError(
            f"The repository id {value!r} has {len(parts)} parts; it must be namespace/name.",
        )
    for part in parts:
        if part in ("", ".", ".."):
            raise InvalidInputError(f"The repository id {value!r} has an empty or relative ('.', '..') part.")
        if "--" in part or ".." in part:
            raise InvalidInputError(f"The repository id {value!r} may not contain '--' or '..'.")
        if not _NAME_RE.match(part):
            raise InvalidInputError(
                f"The repository id {value!r} is not valid: use letters, digits, '-', '_' and '.', "
                "starting with a letter or digit.",
            )
    if len(parts) == 2:
        if parts[0] == NO_NAMESPACE_FOLDER:
            raise InvalidInputError(f"The namespace {NO_NAMESPACE_FOLDER!r} is reserved.")
        return RepoId(parts[0], parts[1])
    return RepoId(None, parts[0])


def validate_revision(value: object) -> str:
    """Validate a branch, tag or commit name (``main``, ``v1.0``, ``refs/pr/1``, a 40-hex sha)."""
    if not isinstance(value, str) or not value:
        raise InvalidInputError("The revision is empty.", hint="Give a branch, tag or commit, e.g. main.")
    if _CONTROL_RE.search(value):
        raise InvalidInputError(f"The revision {value!r} contains control characters.")
    if len(value) > _MAX_REVISION_LENGTH:
        raise InvalidInputError(f"The revision is longer than {_MAX_REVISION_LENGTH} characters.")
    if value.startswith("/") or value.endswith("/") or "\\" in value:
        raise InvalidInputError(f"The revision {value!r} is not a valid branch, tag or commit name.")
    for part in value.split("/"):
        if part in ("", ".", "..") or part.startswith(".") or part.endswith(".lock"):
            raise InvalidInputError(f"The revision {value!r} is not a valid branch, tag or commit name.")
    if any(c in value for c in " ~^:?*[") or "@{" in value or ".." in value:
        raise InvalidInputError(f"The revision {value!r} is not a valid branch, tag or commit name.")
    if not value.isascii() and not _is_utf8(value):  # a lone surrogate: no folder or URL can hold it
        raise InvalidInputError(f"The revision {value!r} is not valid text (a lone surrogate).")
    return value


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def validate_ref_name(value: object, kind: str = "tag") -> str:
    """Validate the name of a new tag or branch: a valid revision that can only ever mean that ref.

    Refuses what :func:`validate_revision` refuses, plus ``refs/…`` names (``refs/pr/1`` is a pull
    request, ``refs/heads/main`` would shadow a branch) and 40-hex names (read as commit ids).
    """
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"The {kind} name is empty.", hint="Give a name such as v1.0.")
    try:
        value.encode("utf-8")  # a lone surrogate (JSON "\udcff") can name no folder
        validate_revision(value)
    except (InvalidInputError, UnicodeEncodeError):
        raise InvalidInputError(
            f"The {kind} name {value!r} is not valid: no '..', spaces, control characters, "
            "'~^:?*[', '@{', or a segment that starts with '.' or ends with '.lock'.",
            hint="Use letters, digits, '.', '-', '_' and '/', e.g. v1.0.",
        ) from None
    if value.lower().startswith("refs/") or value in ("HEAD", "@"):
        raise InvalidInputError(f"The {kind} name {value!r} is reserved.", hint="Give a name such as v1.0.")
    if is_commit_sha(value.lower()):
        raise InvalidInputError(
            f"The {kind} name {value!r} looks like a commit id.", hint="Give a name such as v1.0."
        )
    return value


def is_commit_sha(revision: str) -> bool:
    """True when ``revision`` is a full 40-hex commit id (the only form clients treat as a commit)."""
    return bool(_COMMIT_RE.fullmatch(revision))


#: The shortest abbreviated commit id accepted (git's default abbreviation).
MIN_COMMIT_PREFIX = 7


def is_commit_prefix(revision: str) -> bool:
    """True when ``revision`` could be an abbreviated (7 to 39 hex) or full commit id."""
    return MIN_COMMIT_PREFIX <= len(revision) <= 40 and bool(_COMMIT_PREFIX_RE.fullmatch(revision))


_COMMIT_PREFIX_RE = re.compile(r"[0-9a-f]+")


def revision_folder(revision: str) -> str:
    """The single folder name a revision occupies (``refs/pr/1`` -> ``refs%2Fpr%2F1``); lossless."""
    return quote(validate_revision(revision), safe="")


def revision_from_folder(folder: str) -> str:
    return unquote(folder)


def validate_repo_path(value: object) -> str:
    """Validate a file path inside a repository (``sub/dir/file name.txt``); return it normalised.

    Refuses absolute paths, ``..`` and ``.`` segments, backslashes, control characters and
    empty segments, so that ``root / path`` can never leave ``root``.
    """
    if not isinstance(value, str) or not value:
        raise InvalidInputError("The file path is empty.")
    if _CONTROL_RE.search(value):
        raise InvalidInputError(f"The file path {value!r} contains control characters.")
    if len(value) > _MAX_PATH_LENGTH:
        raise InvalidInputError(f"The file path is longer than {_MAX_PATH_LENGTH} characters.")
    if value.startswith("/") or "\\" in value or re.match(r"^[A-Za-z]:", value):
        raise InvalidInputError(f"The file path {value!r} is absolute; repository paths are relative.")
    parts = value.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise InvalidInputError(f"The file path {value!r} has an empty, '.' or '..' segment.")
    return value


def parse_repo_type(value: str) -> RepoType:
    normalized = value.lower().rstrip("s")
    if normalized == "model":
        return "model"
    if normalized == "dataset":
        return "dataset"
    raise InvalidInputError(f"Unknown repository type {value!r}: use 'model' or 'dataset'.")
