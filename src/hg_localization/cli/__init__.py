"""The ``hg-localization`` command line (``python -m hg_localization.cli`` works the same)."""

from hg_localization.cli.app import app, main

__all__ = ["app", "main"]
