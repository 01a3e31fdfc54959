"""Where things live in the local store. Pure path arithmetic: no I/O.

::

    <models_store_path>/                      (datasets: <datasets_store_path>/, the same shape)
      <namespace>/<name>/<revision>/          when no bucket is configured
      by_bucket/<bucket_id>/<namespace>/<name>/<revision>/   when one is
          model_card.md  config.json  [every repo file, with --full-model]
          .hg_localization_bucket_metadata.json   written last: the folder is complete only with it
      <namespace>/<name>/.<revision>.staging/  a localization in progress (resumable, never listed)
      .locks/<namespace>/<name>/<revision>.lock
      .locks/.pushed/<namespace>/<name>/<revision>.<destination>.json   what the last push left there

- Ids without a namespace (``gpt2``) live under the reserved ``_`` namespace folder.
- A revision with slashes (``refs/pr/1``) is one folder, percent-encoded (``refs%2Fpr%2F1``).
- Every component comes from :mod:`hg_localization.ids`, so nothing here can leave the root.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hg_localization.errors import InvalidInputError
from hg_localization.ids import RepoId, RepoType, revision_folder

METADATA_FILENAME = ".hg_localization_bucket_metadata.json"
BY_BUCKET_FOLDER = "by_bucket"
LOCKS_FOLDER = ".locks"
#: Under LOCKS_FOLDER: what each revision's last push left in a bucket (store/push_record.py).
PUSHED_FOLDER = ".pushed"
STAGING_SUFFIX = ".staging"
PARTIAL_SUFFIX = ".incomplete"
#: A repo's card, as the Hub names it.
CARD_FILENAME = "README.md"
#: What a "metadata only" localization brings of a repo: its card and, for a model, its config.
METADATA_FILES: dict[RepoType, tuple[str, ...]] = {
    "model": (CARD_FILENAME, "config.json"),
    "dataset": (CARD_FILENAME,),
}
#: The model card is kept under this name in a model's revision folder (the repo calls it README.md).
MODEL_CARD_FILENAME = "model_card.md"


@dataclass(frozen=True)
class StoreLayout:
    """The layout of one store root (models or datasets), optionally scoped to a bucket."""

    root: Path
    repo_type: RepoType
    bucket_id: str | None = None

    @property
    def base(self) -> Path:
        """The folder under which ``<namespace>/<name>/<revision>`` folders live."""
        if self.bucket_id:
            return self.root / BY_BUCKET_FOLDER / self.bucket_id
        return self.root

    def repo_dir(self, repo_id: RepoId) -> Path:
        namespace, name = repo_id.folder_parts
        return self.base / namespace / name

    def revision_dir(self, repo_id: RepoId, revision: str) -> Path:
        return self.repo_dir(repo_id) / revision_folder(revision)

    def staging_dir(self, repo_id: RepoId, revision: str) -> Path:
        return self.repo_dir(repo_id) / f".{revision_folder(revision)}{STAGING_SUFFIX}"

    def metadata_file(self, repo_id: RepoId, revision: str) -> Path:
        return self.revision_dir(repo_id, revision) / METADATA_FILENAME

    def push_record_file(self, repo_id: RepoId, revision: str, destination: str) -> Path:
        """The push record of a revision for one destination (a digest of the bucket and prefix)."""
        namespace, name = repo_id.folder_parts
        folder = self.base / LOCKS_FOLDER / PUSHED_FOLDER / namespace / name
        return folder / f"{revision_folder(revision)}.{destination}.json"

    def lock_file(self, repo_id: RepoId, revision: str) -> Path:
        namespace, name = repo_id.folder_parts
        base = self.base / LOCKS_FOLDER / namespace / name
        return base / f"{revision_folder(revision)}.lock"


def local_name_for(repo_type: RepoType, repo_path: str) -> str:
    """The path a repo file is stored under: a model's README.md becomes model_card.md."""
    if repo_type == "model" and repo_path == "README.md":
        return MODEL_CARD_FILENAME
    return repo_path


def local_names(repo_type: RepoType, repo_paths: Iterable[str]) -> dict[str, str]:
    """Stored names for all of a revision's files; a repo with its own model_card.md keeps README.md."""
    paths = set(repo_paths)
    names = {}
    for path in paths:
        local = local_name_for(repo_type, path)
        names[path] = path if local != path and local in paths else local
    return names


def is_reserved_name(local_path: str) -> bool:
    """True for a stored name that would collide with the store's own files (the one rule)."""
    name = local_path.rsplit("/", 1)[-1]
    return local_path == METADATA_FILENAME or name.endswith(PARTIAL_SUFFIX)


def reserved_name_check(local_path: str, repo_id: str) -> None:
    """Refuse a repo file whose stored name would collide with the store's own files."""
    if is_reserved_name(local_path):
        raise InvalidInputError(
            f"'{repo_id}' has a file '{local_path}', a name hg-localization reserves for its own use.",
            hint="Exclude it with --exclude, or ask the repo's owner to rename it.",
        )
