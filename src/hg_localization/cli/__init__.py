"""The ``hg-localization`` command line (``python -m hg_localization.cli`` works the same).

``main`` is the entry point; ``app`` is the typer application with every command registered
(built on first access: the command modules import huggingface_hub, see ``cli/app.py``).
"""

from __future__ import annotations

from hg_localization.cli.app import TYPE_CHECKING, main

if TYPE_CHECKING:
    from typing import Any

__all__ = ["app", "main"]


def __getattr__(name: str) -> Any:
    if name == "app":
        from hg_localization.cli.app import application

        return application()
    raise AttributeError(f"module 'hg_localization.cli' has no attribute {name!r}")
