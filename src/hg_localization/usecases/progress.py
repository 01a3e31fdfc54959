"""How use cases report progress without printing: the CLI passes a listener, the API none."""

from __future__ import annotations


class ProgressListener:
    """Receives transfer events. The base class ignores them all (the Python API's default)."""

    def file_started(self, path: str, size: int) -> None:
        """A transfer of ``size`` bytes begins."""

    def file_advanced(self, path: str, n_bytes: int) -> None:
        """``n_bytes`` more bytes of ``path`` arrived."""

    def file_finished(self, path: str) -> None:
        """The transfer of ``path`` ended (finished or failed)."""


SILENT = ProgressListener()
