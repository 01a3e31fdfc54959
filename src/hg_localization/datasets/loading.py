"""Stored dataset files to ``datasets.Dataset`` objects, without a network.

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
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hg_localization.config import HGLocalizationConfig
from hg_localization.datasets.cards import stored_card_text
from hg_localization.datasets.configs import available_configs, find_config, parse_card
from hg_localization.datasets.files import builder_for
from hg_localization.datasets.library import library_errors, require_datasets
from hg_localization.errors import InvalidInputError
from hg_localization.store.local_store import StoredRevision
from hg_localization.store.manifest import RevisionManifest
from hg_localization.usecases.repos import find_local_revision

CACHE_FOLDER = Path(".cache") / "datasets"
_READERS = {"parquet": "from_parquet", "csv": "from_csv", "json": "from_json", "text": "from_text"}


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
    with library_errors(dataset_id, chosen.name, "load", options_from_card=bool(chosen.builder_options)):
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
