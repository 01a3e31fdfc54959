"""Saving a ``datasets.Dataset``/``DatasetDict`` into the store as one config of a revision.

The splits are written as parquet in ``push_to_hub``'s layout (``data/{split}-00000-of-00001.parquet``,
or ``{config}/…`` for a named config) with the card's ``configs:`` updated, so the revision is
served and loaded like any Hub dataset.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from hg_localization.config import HGLocalizationConfig
from hg_localization.datasets.cards import stored_card_text
from hg_localization.datasets.configs import CARD_FILENAME, DEFAULT_CONFIG_NAME, parse_card
from hg_localization.datasets.library import library_errors, require_datasets
from hg_localization.errors import InvalidInputError, StorageError
from hg_localization.ids import parse_repo_id, validate_revision
from hg_localization.integrity.hashing import hash_file
from hg_localization.progress import SILENT
from hg_localization.store.atomic import atomic_write_text
from hg_localization.store.local_store import StoredRevision
from hg_localization.store.manifest import FileRecord, RevisionManifest, Selection
from hg_localization.store.staging import Staging
from hg_localization.usecases.options import LocalizeOptions
from hg_localization.usecases.publish import publishing
from hg_localization.usecases.repos import DEFAULT_REVISION, check_make_public, local_store, team_cache

_SPLIT_RE = re.compile(r"^\w+(\.\w+)*$")
_CONFIG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")


@dataclass
class UploadOutcome:
    stored: StoredRevision
    #: Set when the local copy is complete but the push to the bucket failed.
    upload_error: StorageError | None = None


def upload_dataset(
    config: HGLocalizationConfig,
    dataset_obj: Any,
    dataset_id: str,
    config_name: str | None = None,
    revision: str | None = None,
    *,
    make_public: bool = False,
    push: bool = True,
) -> UploadOutcome:
    """Save a ``Dataset``/``DatasetDict`` as one config of a dataset revision, then push it.

    Other configs already in that revision are kept; this config's files and its ``configs:``
    entry are replaced (``push_to_hub`` does the same on the Hub). It is staged, published and
    pushed as every revision is (:mod:`hg_localization.usecases.publish`: the push under the
    revision's lock); a failed push keeps the local copy (``upload_error``).
    """
    options = LocalizeOptions(push=push, make_public=make_public)
    check_make_public(config, options)
    datasets_lib = require_datasets()
    repo_id = parse_repo_id(dataset_id)
    revision = validate_revision(revision or DEFAULT_REVISION)
    name = _check_config_name(config_name or DEFAULT_CONFIG_NAME)
    save = _Save(str(repo_id), revision, name, _splits_of(datasets_lib, dataset_obj))
    share = options.share_to(team_cache(config) if push else None, SILENT)
    store = local_store(config, "dataset")  # saved into the unscoped store
    with publishing(store, repo_id, revision, share) as publication:
        existing = store.get(repo_id, revision)
        if existing is not None and existing.manifest.source == "hub":
            raise InvalidInputError(
                f"The revision '{revision}' of '{repo_id}' in the store is a copy of the Hub's; "
                "saving into it would mix the two.",
                hint="Save under another revision (revision='my-version') or another dataset id.",
            )
        # Rewritten whole on every save: nothing of a failed one is worth resuming.
        stored = publication.stage(lambda staging: save.fill(staging, existing), resumable=False)
    return UploadOutcome(stored=stored, upload_error=publication.upload_error)


@dataclass(frozen=True)
class _Save:
    """One config of a revision being saved: its splits, written as ``{folder}/{split}-….parquet``."""

    dataset_id: str
    revision: str
    name: str
    splits: Mapping[str, Any]

    @property
    def folder(self) -> str:
        return "data" if self.name == DEFAULT_CONFIG_NAME else self.name

    def fill(self, staging: Staging, existing: StoredRevision | None) -> RevisionManifest:
        """Stage the kept configs, this config's splits and the updated card; describe them."""
        records = _keep_other_configs(existing, self.folder, staging)
        records += self._write_splits(staging)
        old_card = stored_card_text(existing) if existing is not None else None
        card = _updated_card(old_card, self.dataset_id, self.name, self.folder, self.splits)
        atomic_write_text(staging.final_path(CARD_FILENAME), card)
        records.append(_record_of(staging.final_path(CARD_FILENAME), CARD_FILENAME, lfs=False))
        return RevisionManifest(
            repo_id=self.dataset_id,
            repo_type="dataset",
            revision=self.revision,
            commit=content_commit(records),
            selections=[Selection(full=True)],
            files=sorted(records, key=lambda r: r.path),
            source="upload",
            public=existing.manifest.public if existing is not None else False,
            card_data=parse_card(card),
        )

    def _write_splits(self, staging: Staging) -> list[FileRecord]:
        records = []
        for split, dataset in self.splits.items():
            path = f"{self.folder}/{split}-00000-of-00001.parquet"
            partial = staging.partial_path(path)
            partial.parent.mkdir(parents=True, exist_ok=True)
            with library_errors(self.dataset_id, self.name, "save"):
                dataset.to_parquet(str(partial))
            partial.replace(staging.final_path(path))
            records.append(_record_of(staging.final_path(path), path, lfs=True))
        return records


def _splits_of(datasets_lib: ModuleType, dataset_obj: Any) -> dict[str, Any]:
    if isinstance(dataset_obj, datasets_lib.DatasetDict):
        splits = {str(split): dataset for split, dataset in dataset_obj.items()}
    elif isinstance(dataset_obj, datasets_lib.Dataset):
        splits = {str(dataset_obj.split) if dataset_obj.split is not None else "train": dataset_obj}
    else:
        raise InvalidInputError(
            f"upload_dataset takes a datasets.Dataset or DatasetDict, not {type(dataset_obj).__name__}."
        )
    if not splits:
        raise InvalidInputError("The DatasetDict has no splits: there is nothing to save.")
    for split in splits:
        if not _SPLIT_RE.match(split):
            raise InvalidInputError(f"The split name {split!r} is not valid: use letters, digits and '_'.")
    return splits


def _check_config_name(name: str) -> str:
    if not _CONFIG_RE.match(name) or ".." in name or name == "data":
        raise InvalidInputError(
            f"The config name {name!r} is not valid: use letters, digits, '-', '_' and '.' "
            "(and not 'data', which holds the default config)."
        )
    return name


def _keep_other_configs(existing: StoredRevision | None, folder: str, staging: Staging) -> list[FileRecord]:
    """Carry over the files of the revision that this save does not replace (hard links)."""
    if existing is None:
        return []
    kept = []
    for record in existing.manifest.files:
        if record.path == CARD_FILENAME or record.path.startswith(f"{folder}/"):
            continue
        staging.adopt(record.local_path, existing.file_path(record.local_path))
        kept.append(record)
    return kept


def _record_of(disk_path: Path, path: str, *, lfs: bool) -> FileRecord:
    digest = hash_file(disk_path)
    return FileRecord(
        path=path, local_path=path, size=digest.size, sha256=digest.sha256, git_sha1=digest.git_sha1, lfs=lfs
    )


def content_commit(records: list[FileRecord]) -> str:
    """A 40-hex commit id for saved content: it changes exactly when a file does."""
    tree = hashlib.sha1(b"hg-localization tree\n")
    for record in sorted(records, key=lambda r: r.path):
        tree.update(f"{record.path}\0{record.git_sha1}\n".encode())
    return tree.hexdigest()


def _updated_card(
    old_card: str | None, dataset_id: str, name: str, folder: str, splits: Mapping[str, Any]
) -> str:
    """The card with this config's ``configs:`` entry added or replaced; the body is kept."""
    front = parse_card(old_card) if old_card else {}
    body = _card_body(old_card) if old_card else f"# {dataset_id}\n\nSaved with hg-localization.\n"
    entry = {
        "config_name": name,
        "data_files": [{"split": split, "path": f"{folder}/{split}-*"} for split in splits],
    }
    configs = [c for c in front.get("configs") or [] if isinstance(c, dict)]
    names = [c.get("config_name", DEFAULT_CONFIG_NAME) for c in configs]
    if name in names:
        configs[names.index(name)] = entry
    else:
        configs.append(entry)
    front["configs"] = configs
    _forget_info(front, name)
    header = yaml.safe_dump(front, sort_keys=False, allow_unicode=True)
    return f"---\n{header}---\n\n{body.lstrip()}"


def _forget_info(front: dict[str, Any], name: str) -> None:
    """Drop the ``dataset_info`` of the replaced config: it described the old files."""
    info = front.get("dataset_info")
    if isinstance(info, dict):
        info = [info]
    if not isinstance(info, list):
        return
    kept = [
        i for i in info if not (isinstance(i, dict) and i.get("config_name", DEFAULT_CONFIG_NAME) == name)
    ]
    if kept:
        front["dataset_info"] = kept
    else:
        front.pop("dataset_info", None)


def _card_body(card: str) -> str:
    if not card.startswith("---"):
        return card
    end = card.find("\n---", 3)
    if end == -1:
        return card
    newline = card.find("\n", end + 4)
    return card[newline + 1 :] if newline != -1 else ""
