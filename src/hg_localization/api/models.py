"""Model functions of the Python API."""

from __future__ import annotations

import logging
from typing import Any

from hg_localization.api.outcomes import localization_result, or_none, redacted_errors
from hg_localization.config import HGLocalizationConfig, load_config
from hg_localization.usecases import models
from hg_localization.usecases.options import LocalizeOptions

logger = logging.getLogger(__name__)


def download_model_metadata(
    model_id: str,
    revision: str | None = None,
    make_public: bool = False,
    skip_s3_upload: bool = False,
    skip_hf_fetch: bool = False,
    metadata_only: bool = True,
    config: HGLocalizationConfig | None = None,
    *,
    allow_private_public: bool = False,
) -> tuple[bool, str]:
    """Localize a model (card and config; every file with ``metadata_only=False``).

    Returns ``(True, path_of_the_revision_folder)`` or ``(False, what_went_wrong)``. When the
    local copy is complete but the bucket upload failed, the result is ``(False, message)``
    and the local copy stays. ``make_public`` of a private or gated upstream repo is refused
    (``False``, the local copy kept) unless ``allow_private_public=True``.
    """
    options = LocalizeOptions.from_seed_flags(
        metadata_only=metadata_only,
        skip_s3_upload=skip_s3_upload,
        skip_hf_fetch=skip_hf_fetch,
        make_public=make_public,
        allow_private_public=allow_private_public,
    )
    return localization_result(
        lambda: models.localize_model(model_id, revision, options, config=load_config(config))
    )


def list_local_models(config: HGLocalizationConfig | None = None) -> list[dict[str, Any]]:
    """Every model revision in the local store, as dicts (``model_id``, ``revision``, ``has_card``, …).

    A revision folder whose metadata file is damaged is listed with ``status: "damaged"``, a
    ``problem`` and a ``hint`` (the next download of it repairs it); it never makes this raise.
    """
    with redacted_errors():
        return [m.as_dict() for m in models.list_models(load_config(config))]


def get_cached_model_card_content(
    model_id: str, revision: str | None = None, config: HGLocalizationConfig | None = None
) -> str | None:
    """The model card from the local store, or None."""
    return or_none(lambda: models.read_local_card(load_config(config), model_id, revision), logger)


def get_cached_model_config_content(
    model_id: str, revision: str | None = None, config: HGLocalizationConfig | None = None
) -> dict[str, Any] | None:
    """The config.json from the local store, as a dict, or None."""
    return or_none(lambda: models.read_local_config(load_config(config), model_id, revision), logger)


def get_model_card_content(
    model_id: str, revision: str | None = None, config: HGLocalizationConfig | None = None
) -> str | None:
    """The model card read from the Hub (nothing is cached), or None."""
    return or_none(lambda: models.fetch_card(load_config(config), model_id, revision), logger)


def get_model_config_content(
    model_id: str, revision: str | None = None, config: HGLocalizationConfig | None = None
) -> dict[str, Any] | None:
    """The config.json read from the Hub (nothing is cached), as a dict, or None."""
    return or_none(lambda: models.fetch_config(load_config(config), model_id, revision), logger)
