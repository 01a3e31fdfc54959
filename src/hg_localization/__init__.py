"""hg-localization: Hugging Face Hub models, weights and datasets inside your own walls.

The public API is what this module exports; everything else may move between releases.
"""

from hg_localization._version import __version__
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
from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import HGLocalizationError

__all__ = [
    "HGLocalizationConfig",
    "HGLocalizationError",
    "__version__",
    "download_dataset",
    "download_model_metadata",
    "get_cached_dataset_card_content",
    "get_cached_model_card_content",
    "get_cached_model_config_content",
    "get_dataset_card_content",
    "get_model_card_content",
    "get_model_config_content",
    "list_local_datasets",
    "list_local_models",
    "list_public_datasets",
    "list_public_models",
    "list_s3_datasets",
    "list_s3_models",
    "load_local_dataset",
    "sync_all_local_models_to_s3",
    "sync_local_model_to_s3",
    "upload_dataset",
]
