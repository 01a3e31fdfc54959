"""Which files an entry selects, by the rules a download uses (``localize.select_files``).

A model entry selects its card and config, or (``full``) every file filtered by include and
exclude; a dataset entry every file filtered, or (``name``) one config's files and the card,
read from the card's ``configs:`` the way ``download-dataset --name`` reads them. The same
function answers for a revision listed by the Hub (``sync --dry-run``) and for one in the store
(``lock``, ``bundle export``).
"""

from __future__ import annotations

from collections.abc import Sequence

from hg_localization.collections.manifest import Entry
from hg_localization.datasets.cards import stored_card_text
from hg_localization.datasets.configs import available_configs, find_config, parse_card
from hg_localization.datasets.localizing import DATASET_METADATA_FILES, config_selection
from hg_localization.hub.client import RemoteFile
from hg_localization.ids import RepoType
from hg_localization.store.local_store import StoredRevision
from hg_localization.store.manifest import FileRecord, Selection
from hg_localization.usecases.localize import select_files
from hg_localization.usecases.models import MODEL_METADATA_FILES


def metadata_files(repo_type: RepoType) -> tuple[str, ...]:
    """The files every selection of this repo type includes when the repo has them."""
    return MODEL_METADATA_FILES if repo_type == "model" else DATASET_METADATA_FILES


def entry_selection(entry: Entry, paths: Sequence[str], card_text: str | None) -> Selection:
    """The entry as a download's selection; a dataset config is looked up in ``card_text``."""
    if entry.name is None:
        return Selection(full=entry.full, include=entry.include, exclude=entry.exclude)
    card_data = parse_card(card_text) if card_text else {}
    chosen = find_config(available_configs(card_data, list(paths)), entry.name, entry.repo_id)
    return config_selection(chosen, entry.exclude)


def select_remote(
    entry: Entry, files: Sequence[RemoteFile], card_text: str | None
) -> tuple[list[RemoteFile], list[str]]:
    """The files of a listed revision the entry selects, and the metadata files it lacks."""
    selection = entry_selection(entry, [f.path for f in files], card_text)
    return select_files(files, [selection], metadata_files(entry.repo_type))


def select_stored(entry: Entry, stored: StoredRevision) -> list[FileRecord]:
    """The files of a stored revision the entry selects (read from the store: no network)."""
    records = {record.path: record for record in stored.manifest.files}
    as_remote = [RemoteFile(path=r.path, size=r.size, git_sha1=r.git_sha1) for r in records.values()]
    card_text = stored_card_text(stored) if entry.repo_type == "dataset" and entry.name else None
    wanted, _ = select_remote(entry, as_remote, card_text)
    return [records[f.path] for f in wanted]


def covers_entry(entry: Entry, stored: StoredRevision) -> bool:
    """True when ``stored`` has every file ``entry`` selects (a sync of the entry would add none)."""
    manifest = stored.manifest
    if entry.name is None:
        return manifest.covers(Selection(full=entry.full, include=entry.include, exclude=entry.exclude))
    whole = Selection(full=True, config_name=entry.name)
    return manifest.covers(whole) or any(s.config_name == entry.name for s in manifest.selections)
