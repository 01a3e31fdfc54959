"""Dataset functions of the Python API.

Like the model functions they never print. ``download_dataset`` returns ``(success,
path_or_message)``; the readers return None when the dataset is not in the store. Mistakes a
caller must fix (an unknown config or split, the optional ``datasets`` package missing) raise
an :class:`~hg_localization.HGLocalizationError` whose message says what to do.
"""

from __future__ import annotations

import logging
from typing import Any

from hg_localization.api.outcomes import EXPECTED, localization_result, message_of, or_none, redacted_errors
from hg_localization.config import HGLocalizationConfig, load_config
from hg_localization.datasets import cards, loading, localizing, saving
from hg_localization.errors import NotLocalizedError
from hg_localization.s3.catalog import IndexEntry
from hg_localization.usecases import listing, s3_sync
from hg_localization.usecases.options import LocalizeOptions

logger = logging.getLogger(__name__)


def download_dataset(
    dataset_id: str,
    config_name: str | None = None,
    revision: str | None = None,
    make_public: bool = False,
    skip_s3_upload: bool = False,
    config: HGLocalizationConfig | None = None,
    *,
    allow_private_public: bool = False,
) -> tuple[bool, str]:
    """Localize a dataset: every file of the repo, or (``config_name``) the files of one config.

    Returns ``(True, path_of_the_revision_folder)`` or ``(False, what_went_wrong)``. When the
    local copy is complete but the bucket upload failed, the result is ``(False, message)`` and
    the local copy stays. Datasets that need a loading script are refused. ``make_public`` of a
    private or gated upstream repo is refused (the local copy kept) unless ``allow_private_public``.
    """
    options = LocalizeOptions.from_seed_flags(
        skip_s3_upload=skip_s3_upload, make_public=make_public, allow_private_public=allow_private_public
    )
    return localization_result(
        lambda: localizing.localize_dataset(
            dataset_id, revision, options, config=load_config(config), config_name=config_name
        )
    )


def list_local_datasets(config: HGLocalizationConfig | None = None) -> list[dict[str, Any]]:
    """Every dataset revision in the local store, as dicts (``dataset_id``, ``revision``, ``path``, …)."""
    with redacted_errors():
        return [d.as_dict() for d in listing.list_datasets(load_config(config))]


def list_s3_datasets(config: HGLocalizationConfig | None = None) -> list[dict[str, Any]]:
    """Every dataset revision in the team bucket's index (``dataset_id``, ``revision``, ``commit``,
    ``files``, ``size``, ``is_public``, ``fetched_at``).

    Like ``list_s3_models`` it raises (a ``StorageError`` when the bucket cannot be read, an
    ``InvalidInputError`` when none is configured): an empty list would claim the bucket is empty.
    """
    with redacted_errors():
        listing = s3_sync.list_bucket_repos(load_config(config), "dataset")
    return [_dataset_dict(entry) for entry in listing.entries]


def list_public_datasets(
    public_url: str | None = None, config: HGLocalizationConfig | None = None
) -> list[dict[str, Any]]:
    """The public index (``public_datasets.json``), read with no credentials at all."""
    with redacted_errors():
        entries = s3_sync.list_public_repos(load_config(config), "dataset", public_url)
    return [_dataset_dict(e) for e in entries]


def _dataset_dict(entry: IndexEntry) -> dict[str, Any]:
    data = entry.as_dict()
    return {
        "dataset_id": data["repo_id"],
        "revision": data["revision"],
        "commit": data["commit"],
        "files": data["files"],
        "size": data["size"],
        "is_public": data["public"],
        "fetched_at": data["fetched_at"],
    }


def load_local_dataset(
    dataset_id: str,
    config_name: str | None = None,
    revision: str | None = None,
    split: str | None = None,
    config: HGLocalizationConfig | None = None,
) -> Any:
    """A ``datasets.DatasetDict`` (a ``Dataset`` with ``split``) built from the local store only.

    No network access at all, whatever ``HF_HUB_OFFLINE`` says. Returns None when the dataset
    is not in the store. Needs the optional ``datasets`` package (``pip install
    'hg-localization[datasets]'``); without it, raises an error saying so.
    """
    try:
        with redacted_errors():
            settings = load_config(config)
            return loading.load_local_dataset(settings, dataset_id, config_name, revision, split)
    except NotLocalizedError as exc:
        logger.info("%s", message_of(exc))
        return None


def upload_dataset(
    dataset_obj: Any,
    dataset_id: str,
    config_name: str | None = None,
    revision: str | None = None,
    make_public: bool = False,
    config: HGLocalizationConfig | None = None,
) -> bool:
    """Save a ``Dataset``/``DatasetDict`` into the local store as parquet, then push it to the bucket.

    True when it is saved (and, with a bucket configured, uploaded); False otherwise, with the
    reason logged. The store keeps it as a Hub repo would (``data/{split}-….parquet`` and a card
    with ``configs:``), so it is served, listed and loaded like any localized dataset.
    """
    try:
        outcome = saving.upload_dataset(
            load_config(config), dataset_obj, dataset_id, config_name, revision, make_public=make_public
        )
    except EXPECTED as exc:
        logger.warning("%s", message_of(exc))
        return False
    if outcome.upload_error is not None:
        logger.warning(
            "Saved at %s, but the upload to the bucket failed: %s",
            outcome.stored.path,
            message_of(outcome.upload_error),
        )
        return False
    return True


def get_cached_dataset_card_content(
    dataset_id: str,
    config_name: str | None = None,
    revision: str | None = None,
    config: HGLocalizationConfig | None = None,
) -> str | None:
    """The dataset card (README.md) from the local store, or None.

    ``config_name`` is accepted for compatibility: a repo has one card for all its configs.
    """
    return or_none(lambda: cards.read_local_card(load_config(config), dataset_id, revision), logger)


def get_dataset_card_content(
    dataset_id: str, revision: str | None = None, config: HGLocalizationConfig | None = None
) -> str | None:
    """The dataset card read from the Hub (nothing is cached), or None."""
    return or_none(lambda: cards.fetch_card(load_config(config), dataset_id, revision), logger)
