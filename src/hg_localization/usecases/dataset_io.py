"""Stored dataset files to ``datasets.Dataset`` objects and back, without a network.

Loading reads the files of one revision folder with ``datasets``' packaged builders through
their public readers (``DatasetDict.from_parquet`` and friends), with the split -> files mapping
worked out here from the card's ``configs:`` (or the folder layout). It does not go through
``datasets.load_dataset``: for a builder name that function first sends a download-count
request to the internet, and for a local folder it resolves *every* config's files, which fails
on a copy made with ``--name``. No request is made at all, whatever ``HF_HUB_OFFLINE`` says.

The Arrow cache ``datasets`` builds lives in the store (``<datasets_store>/.cache/datasets``),
not in the user's HF cache: it sits on the volume chosen for data, is found again on the next
load whatever ``HF_HOME`` is, and goes away with the store. Folders starting with ``.`` are
never listed or served.

Saving (``upload_dataset``) writes the splits as parquet in ``push_to_hub``'s layout
(``data/{split}-00000-of-00001.parquet``, or ``{config}/…`` for a named config) with the card's
``configs:`` updated, so the revision is served and loaded like any Hub dataset.
"""

from __future__ import annotations

import hashlib
import importlib
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import (
    HGLocalizationError,
    InvalidInputError,
    StorageError,
)
from hg_localization.ids import parse_repo_id, validate_revision
from hg_localization.integrity.hashing import hash_file
from hg_localization.store.atomic import atomic_write_text
from hg_localization.store.local_store import StoredRevision
from hg_localization.store.manifest import FileRecord, RevisionManifest, Selection
from hg_localization.usecases.dataset_configs import (
    CARD_FILENAME,
    DEFAULT_CONFIG_NAME,
    available_configs,
    find_config,
    parse_card,
)
from hg_localization.usecases.dataset_files import builder_for
from hg_localization.usecases.datasets import dataset_store, stored_card_text
from hg_localization.usecases.progress import SILENT
from hg_localization.usecases.repos import (
    DEFAULT_REVISION,
    check_make_public,
    find_local_revision,
    team_cache,
)

CACHE_FOLDER = Path(".cache") / "datasets"
INSTALL_HINT = "pip install 'hg-localization[datasets]'"
_SPLIT_RE = re.compile(r"^\w+(\.\w+)*$")
_CONFIG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_READERS = {"parquet": "from_parquet", "csv": "from_csv", "json": "from_json", "text": "from_text"}


def require_datasets() -> ModuleType:
    """The ``datasets`` package, or an error that says how to install it."""
    try:
        return importlib.import_module("datasets")
    except ImportError as exc:
        raise InvalidInputError(
            "This needs the optional 'datasets' package, which is not installed.",
            hint=f"Install it with: {INSTALL_HINT}",
        ) from exc


# --- loading ----------------------------------------------------------------------------------


def load_local_dataset(
    config: HGLocalizationConfig,
    dataset_id: str,
    config_name: str | None = None,
    revision: str | None = None,
    split: str | None = None,
) -> Any:
    """A ``datasets.DatasetDict`` (or, with ``split``, a ``Dataset``) from the local store only."""
    datasets_lib = require_datasets()
    stored = find_local_revision(config, "dataset", dataset_id, revision)
    manifest = stored.manifest
    card_text = stored_card_text(stored)
    paths = [record.path for record in manifest.files]
    configs = available_configs(parse_card(card_text) if card_text else {}, paths)
    chosen = find_config(configs, config_name or _only_fetched_config(stored), dataset_id)
    splits = chosen.files_by_split(paths)
    if not splits:
        raise InvalidInputError(f"The config '{chosen.name}' of '{dataset_id}' has no data files.")
    if split is not None and split not in splits:
        raise InvalidInputError(
            f"The config '{chosen.name}' of '{dataset_id}' has no split '{split}'. "
            f"Available splits: {', '.join(splits)}."
        )
    missing = sorted(name for name, files in splits.items() if not files and split in (None, name))
    if missing:
        raise InvalidInputError(
            f"The local copy of '{dataset_id}' ({manifest.revision}) has no files for the split(s) "
            f"{', '.join(missing)} of config '{chosen.name}'.",
            hint=f"Localize that config: hg-localization download-dataset {dataset_id} --name {chosen.name}",
        )
    builder, options = builder_for(f for files in splits.values() for f in files)
    options.update(chosen.builder_options)
    local = {
        name: [str(stored.file_path(_local_path(manifest, f))) for f in files]
        for name, files in splits.items()
    }
    reader = _READERS[builder]
    cache_dir = str(config.datasets_store_path / CACHE_FOLDER)
    with _datasets_errors(dataset_id, chosen.name):
        if split is not None:
            return getattr(datasets_lib.Dataset, reader)(
                local[split], split=split, cache_dir=cache_dir, **options
            )
        return getattr(datasets_lib.DatasetDict, reader)(local, cache_dir=cache_dir, **options)


def _only_fetched_config(stored: StoredRevision) -> str | None:
    """The config to load when none is named: the one the copy was made for, if it holds only one."""
    selections = stored.manifest.selections
    if any(s.config_name is None for s in selections):
        return None
    names = {s.config_name for s in selections}
    return names.pop() if len(names) == 1 else None


def _local_path(manifest: RevisionManifest, path: str) -> str:
    record = manifest.file(path)
    return record.local_path if record is not None else path


@contextmanager
def _datasets_errors(dataset_id: str, config_name: str) -> Iterator[None]:
    """``datasets`` raises many kinds of error for bad files or options: say which dataset failed."""
    try:
        yield
    except HGLocalizationError:
        raise
    except Exception as exc:
        raise InvalidInputError(
            f"'datasets' could not load config '{config_name}' of '{dataset_id}' from the local store: "
            f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}",
        ) from exc


# --- saving -----------------------------------------------------------------------------------


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
    entry are replaced (``push_to_hub`` does the same on the Hub).
    """
    check_make_public(config, make_public=make_public, push=push)
    datasets_lib = require_datasets()
    repo_id = parse_repo_id(dataset_id)
    revision = validate_revision(revision or DEFAULT_REVISION)
    name = _check_config_name(config_name or DEFAULT_CONFIG_NAME)
    splits = _splits_of(datasets_lib, dataset_obj)
    folder = "data" if name == DEFAULT_CONFIG_NAME else name
    bucket = team_cache(config) if push else None
    store = dataset_store(config)
    with store.lock(repo_id, revision):
        existing = store.get(repo_id, revision)
        if existing is not None and existing.manifest.source == "hub":
            raise InvalidInputError(
                f"The revision '{revision}' of '{repo_id}' in the store is a copy of the Hub's; "
                "saving into it would mix the two.",
                hint="Save under another revision (revision='my-version') or another dataset id.",
            )
        staging = store.open_staging(repo_id, revision)
        try:
            records = _keep_other_configs(existing, folder, staging)
            for split, dataset in splits.items():
                path = f"{folder}/{split}-00000-of-00001.parquet"
                partial = staging.partial_path(path)
                partial.parent.mkdir(parents=True, exist_ok=True)
                with _datasets_errors(dataset_id, name):
                    dataset.to_parquet(str(partial))
                partial.replace(staging.final_path(path))
                records.append(_record_of(staging.final_path(path), path, lfs=True))
            card = _updated_card(
                stored_card_text(existing) if existing else None, str(repo_id), name, folder, splits
            )
            atomic_write_text(staging.final_path(CARD_FILENAME), card)
            records.append(_record_of(staging.final_path(CARD_FILENAME), CARD_FILENAME, lfs=False))
            manifest = RevisionManifest(
                repo_id=str(repo_id),
                repo_type="dataset",
                revision=revision,
                commit=content_commit(records),
                selections=[Selection(full=True)],
                files=sorted(records, key=lambda r: r.path),
                source="upload",
                public=existing.manifest.public if existing is not None else False,
                card_data=parse_card(card),
            )
            stored = store.publish(staging, manifest)
        except BaseException:
            store.abandon(staging)
            raise
    outcome = UploadOutcome(stored=stored)
    if bucket is not None:
        try:
            bucket.push(stored, make_public=make_public, progress=SILENT)
        except StorageError as exc:
            outcome.upload_error = exc
    return outcome


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


def _keep_other_configs(existing: StoredRevision | None, folder: str, staging: Any) -> list[FileRecord]:
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
