"""Where things live in the team bucket. Pure key arithmetic: no I/O.

::

    <s3_data_prefix>/                                      ("" puts everything at the bucket root)
      models/<namespace>/<name>/<revision>/<local_path>    the team's private copies
      models/<namespace>/<name>/<revision>/.hg_localization_bucket_metadata.json
                                                           uploaded last: a revision exists only with it
      datasets/…                                           the same shape
      index/models/<namespace>/<name>/<revision>.json      one catalog entry per revision (no
      index/datasets/…                                     read-modify-write, so no lost update)
      public/                                              anonymous GetObject allowed here, nowhere else
        models/<namespace>/<name>/<revision>/<local_path>  copies of what was made public
        models/…/.hg_localization_bucket_metadata.json     uploaded last, like the private one
        datasets/…
        public_models.json  public_datasets.json           the public index (conditional writes)

- ``<namespace>/<name>`` is the store's own two folder levels (``_`` for ids without a
  namespace) and ``<revision>`` the store's one folder, percent-encoded (``refs%2Fpr%2F1``).
  ``<local_path>`` is the path inside the revision folder (a model's README.md is
  ``model_card.md``). So a revision prefix in the bucket mirrors a revision folder on disk.
- The public URL anonymous readers are given is the URL of ``<prefix>/public/`` itself; under it
  the layout is the private one, so one reader serves both.
- Every key read back from the bucket (a listing, an index entry) is parsed here and refused
  when it does not name a valid id and revision: nothing from the bucket can pick a local path.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from urllib.parse import quote

from hg_localization.errors import InvalidInputError
from hg_localization.ids import (
    NO_NAMESPACE_FOLDER,
    RepoId,
    RepoType,
    parse_repo_id,
    revision_folder,
    revision_from_folder,
    validate_repo_path,
    validate_revision,
)
from hg_localization.store.layout import METADATA_FILENAME

REPO_TYPE_FOLDERS: dict[RepoType, str] = {"model": "models", "dataset": "datasets"}
PUBLIC_FOLDER = "public"
INDEX_FOLDER = "index"
INDEX_ENTRY_SUFFIX = ".json"


def public_index_name(repo_type: RepoType) -> str:
    """``public_models.json`` or ``public_datasets.json``."""
    return f"public_{REPO_TYPE_FOLDERS[repo_type]}.json"


def validate_prefix(prefix: str) -> str:
    """The data prefix, without surrounding slashes; refused when it could climb out (``..``)."""
    prefix = prefix.strip("/")
    if prefix:
        try:
            validate_repo_path(prefix)
        except InvalidInputError as exc:
            raise InvalidInputError(
                f"The bucket data prefix {prefix!r} is not valid: {exc.message}",
                hint="Set HGLOC_S3_DATA_PREFIX to a plain path such as 'team/hg' (or leave it empty).",
            ) from None
    return prefix


#: A pure function of the path; a push names each of a revision's thousand files a few times.
_valid_path = functools.lru_cache(maxsize=16384)(validate_repo_path)


def _join(*parts: str) -> str:
    return "/".join(part for part in parts if part)


@dataclass(frozen=True)
class KeySpace:
    """One tree of revisions (``models/…``, ``datasets/…``) under ``root`` (the private or public one)."""

    root: str

    def type_prefix(self, repo_type: RepoType) -> str:
        return _join(self.root, REPO_TYPE_FOLDERS[repo_type]) + "/"

    def revision_prefix(self, repo_type: RepoType, repo_id: RepoId, revision: str) -> str:
        namespace, name = repo_id.folder_parts
        return f"{self.type_prefix(repo_type)}{namespace}/{name}/{revision_folder(revision)}/"

    def object_key(self, repo_type: RepoType, repo_id: RepoId, revision: str, local_path: str) -> str:
        return self.key_under(self.revision_prefix(repo_type, repo_id, revision), local_path)

    @staticmethod
    def key_under(revision_prefix: str, local_path: str) -> str:
        """:meth:`object_key`, the revision's prefix computed once for its thousand files."""
        return revision_prefix + _valid_path(local_path)

    def metadata_key(self, repo_type: RepoType, repo_id: RepoId, revision: str) -> str:
        return self.revision_prefix(repo_type, repo_id, revision) + METADATA_FILENAME

    def parse_metadata_key(self, repo_type: RepoType, key: str) -> tuple[RepoId, str] | None:
        """The id and revision a metadata key names, or None for any other key under the type prefix."""
        rest = _strip_prefix(key, self.type_prefix(repo_type))
        parts = rest.split("/")
        if len(parts) != 4 or parts[3] != METADATA_FILENAME:
            return None
        return _parse_id_and_revision(parts[0], parts[1], parts[2], key)


@dataclass(frozen=True)
class BucketKeys:
    """The whole key layout for one data prefix (see the module docstring)."""

    prefix: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefix", validate_prefix(self.prefix))

    @property
    def private(self) -> KeySpace:
        return KeySpace(self.prefix)

    @property
    def public(self) -> KeySpace:
        return KeySpace(_join(self.prefix, PUBLIC_FOLDER))

    @property
    def public_root(self) -> str:
        """The key prefix anonymous readers may GET under (ends with ``/``)."""
        return _join(self.prefix, PUBLIC_FOLDER) + "/"

    def public_index_key(self, repo_type: RepoType) -> str:
        return self.public_root + public_index_name(repo_type)

    def index_prefix(self, repo_type: RepoType) -> str:
        return _join(self.prefix, INDEX_FOLDER, REPO_TYPE_FOLDERS[repo_type]) + "/"

    def index_entry_key(self, repo_type: RepoType, repo_id: RepoId, revision: str) -> str:
        namespace, name = repo_id.folder_parts
        entry = f"{revision_folder(revision)}{INDEX_ENTRY_SUFFIX}"
        return f"{self.index_prefix(repo_type)}{namespace}/{name}/{entry}"

    def parse_index_entry_key(self, repo_type: RepoType, key: str) -> tuple[RepoId, str]:
        """The id and revision an index entry's key names; InvalidInputError for anything else."""
        rest = _strip_prefix(key, self.index_prefix(repo_type))
        parts = rest.split("/")
        if len(parts) != 3 or not parts[2].endswith(INDEX_ENTRY_SUFFIX):
            raise InvalidInputError(f"The bucket key {key!r} is not an index entry; it was ignored.")
        return _parse_id_and_revision(parts[0], parts[1], parts[2][: -len(INDEX_ENTRY_SUFFIX)], key)


def relative_url(key: str) -> str:
    """A key (relative to the public root) as a URL path: every segment percent-encoded.

    The revision folder is already percent-encoded in the key (``refs%2Fpr%2F1``); in a URL that
    ``%`` must itself be encoded, or the server would decode it back into slashes.
    """
    return "/".join(quote(segment, safe="") for segment in key.split("/"))


def _strip_prefix(key: str, prefix: str) -> str:
    if not key.startswith(prefix):
        raise InvalidInputError(f"The bucket key {key!r} is outside {prefix!r}; it was refused.")
    return key[len(prefix) :]


def _parse_id_and_revision(namespace: str, name: str, folder: str, key: str) -> tuple[RepoId, str]:
    try:
        repo_id = parse_repo_id(name if namespace == NO_NAMESPACE_FOLDER else f"{namespace}/{name}")
        revision = validate_revision(revision_from_folder(folder))
        if revision_folder(revision) != folder:  # only the canonical spelling: one key per revision
            raise InvalidInputError(f"{folder!r} is not a canonical revision folder.")
    except InvalidInputError as exc:
        raise InvalidInputError(f"The bucket key {key!r} was refused: {exc.message}") from None
    return repo_id, revision
