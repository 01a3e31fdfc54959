"""hg-localization: Hugging Face Hub models, weights and datasets inside your own walls."""

from hg_localization._version import __version__

__all__ = ["__version__"]
