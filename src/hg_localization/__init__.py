"""hg-localization: Hugging Face Hub models, weights and datasets inside your own walls.

The public API is what this module exports; everything else may move between releases.
Names are imported on first use, so `hg-localization --version` does not pay for boto3 or
`datasets` (see bench/README.md).
"""

from __future__ import annotations

import importlib
import sys

from hg_localization._version import __version__

# Not ``typing.TYPE_CHECKING``: importing typing (and re) costs every command line a few ms.
TYPE_CHECKING = False

_EXPORTS: dict[str, str] = {
    "HGLocalizationConfig": "hg_localization.config",
    "HGLocalizationError": "hg_localization.errors",
    "download_dataset": "hg_localization.api.datasets",
    "download_model_metadata": "hg_localization.api.models",
    "export_bundle": "hg_localization.api.collections",
    "get_cached_dataset_card_content": "hg_localization.api.datasets",
    "get_cached_model_card_content": "hg_localization.api.models",
    "get_cached_model_config_content": "hg_localization.api.models",
    "get_dataset_card_content": "hg_localization.api.datasets",
    "get_model_card_content": "hg_localization.api.models",
    "get_model_config_content": "hg_localization.api.models",
    "import_bundle": "hg_localization.api.collections",
    "list_collections": "hg_localization.api.collections",
    "list_local_datasets": "hg_localization.api.datasets",
    "list_local_models": "hg_localization.api.models",
    "list_public_datasets": "hg_localization.api.datasets",
    "list_public_models": "hg_localization.api.s3",
    "list_s3_datasets": "hg_localization.api.datasets",
    "list_s3_models": "hg_localization.api.s3",
    "load_local_dataset": "hg_localization.api.datasets",
    "show_collection": "hg_localization.api.collections",
    "sync_all_local_models_to_s3": "hg_localization.api.s3",
    "sync_collection": "hg_localization.api.collections",
    "sync_local_model_to_s3": "hg_localization.api.s3",
    "upload_dataset": "hg_localization.api.datasets",
}

if TYPE_CHECKING:
    from typing import Any

    from hg_localization.api.collections import (
        export_bundle,
        import_bundle,
        list_collections,
        show_collection,
        sync_collection,
    )
    from hg_localization.api.datasets import (
        download_dataset,
        get_cached_dataset_card_content,
        get_dataset_card_content,
        list_local_datasets,
        list_public_datasets,
        list_s3_datasets,
        load_local_dataset,
        upload_dataset,
    )
    from hg_localization.api.models import (
        download_model_metadata,
        get_cached_model_card_content,
        get_cached_model_config_content,
        get_model_card_content,
        get_model_config_content,
        list_local_models,
    )
    from hg_localization.api.s3 import (
        list_public_models,
        list_s3_models,
        sync_all_local_models_to_s3,
        sync_local_model_to_s3,
    )
    from hg_localization.config import (
        HGLocalizationConfig,
    )
    from hg_localization.errors import (
        HGLocalizationError,
    )

__all__ = [
    "HGLocalizationConfig",
    "HGLocalizationError",
    "__version__",
    "download_dataset",
    "download_model_metadata",
    "export_bundle",
    "get_cached_dataset_card_content",
    "get_cached_model_card_content",
    "get_cached_model_config_content",
    "get_dataset_card_content",
    "get_model_card_content",
    "get_model_config_content",
    "import_bundle",
    "list_collections",
    "list_local_datasets",
    "list_local_models",
    "list_public_datasets",
    "list_public_models",
    "list_s3_datasets",
    "list_s3_models",
    "load_local_dataset",
    "show_collection",
    "sync_all_local_models_to_s3",
    "sync_collection",
    "sync_local_model_to_s3",
    "upload_dataset",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hg_localization' has no attribute {name!r}")
    if module.startswith("hg_localization.api.") and "huggingface_hub.constants" not in sys.modules:
        from hg_localization.config import check_environment

        check_environment()  # huggingface_hub would fail to import on a bad HF_ENDPOINT: say so in words
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
