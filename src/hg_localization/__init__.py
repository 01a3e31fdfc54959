"""hg-localization: Hugging Face Hub models, weights and datasets inside your own walls.

The public API is what this module exports; everything else may move between releases.
"""

from hg_localization._version import __version__
from hg_localization.api.models import (
    download_model_metadata,
    get_cached_model_card_content,
    get_cached_model_config_content,
    get_model_card_content,
    get_model_config_content,
    list_local_models,
)
from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import HGLocalizationError

__all__ = [
    "HGLocalizationConfig",
    "HGLocalizationError",
    "__version__",
    "download_model_metadata",
    "get_cached_model_card_content",
    "get_cached_model_config_content",
    "get_model_card_content",
    "get_model_config_content",
    "list_local_models",
]
