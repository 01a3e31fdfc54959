"""A dataset's card (README.md): read from a revision in the store, or from the Hub.

The card's ``configs:`` say how the dataset splits (:mod:`.configs` reads them); listing what the
store holds is :mod:`hg_localization.usecases.listing` (it imports no Hub client).
"""

from __future__ import annotations

from hg_localization.config import HGLocalizationConfig
from hg_localization.datasets.configs import CARD_FILENAME
from hg_localization.errors import EntryNotFoundError
from hg_localization.store.local_store import StoredRevision
from hg_localization.usecases.repos import find_local_revision, read_hub_file


def read_local_card(config: HGLocalizationConfig, dataset_id: str, revision: str | None = None) -> str:
    """The card of a dataset in the store (EntryNotFoundError when its copy has none)."""
    stored = find_local_revision(config, "dataset", dataset_id, revision)
    text = stored_card_text(stored)
    if text is None:
        raise EntryNotFoundError(stored.manifest.repo_id, CARD_FILENAME, stored.manifest.revision)
    return text


def stored_card_text(stored: StoredRevision) -> str | None:
    """The card of a stored revision, or None when it has none."""
    record = stored.manifest.file(CARD_FILENAME)
    if record is None:
        return None
    return stored.file_path(record.local_path).read_text(encoding="utf-8", errors="replace")


def fetch_card(config: HGLocalizationConfig, dataset_id: str, revision: str | None = None) -> str:
    """A dataset's card read from the Hub (nothing is cached)."""
    data = read_hub_file(config, "dataset", dataset_id, revision, CARD_FILENAME)
    return data.decode("utf-8", errors="replace")
