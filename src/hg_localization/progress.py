"""How work reports progress without printing: the CLI passes a listener, the API none.

It sits beside `errors` and `config` at the bottom of the package so that every layer (use
cases, s3/, hub/) can report to it without importing a layer above.
"""

from __future__ import annotations


class ProgressListener:
    """Receives transfer events. The base class ignores them all (the Python API's default)."""

    def file_started(self, path: str, size: int) -> None:
        """A transfer of ``size`` bytes begins."""

    def upload_started(self, path: str, size: int) -> None:
        """An upload of ``size`` bytes begins (a display tells it apart from a download; by default
        it is told like any transfer). Its bytes and its end come as for any file."""
        self.file_started(path, size)

    def file_advanced(self, path: str, n_bytes: int) -> None:
        """``n_bytes`` more bytes of ``path`` arrived."""

    def file_finished(self, path: str) -> None:
        """The transfer of ``path`` ended (finished or failed)."""


SILENT = ProgressListener()
