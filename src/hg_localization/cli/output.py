"""Everything the CLI shows goes through one :class:`Output`: human, JSON or quiet.

Results go to stdout; messages, warnings, errors and progress bars go to stderr, so
``hg-localization list-local-models --json | jq`` always gets clean JSON. Every text goes
through :func:`~hg_localization.redact.redact` first: no URL shows its password and no
configured secret shows at all, whatever the message was built from.
"""

from __future__ import annotations

import json
import re
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hg_localization.progress import ProgressListener
from hg_localization.redact import redact

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


def _shown(text: str) -> str:
    """Text as it may be printed with rich: redacted, then its markup escaped."""
    return escape(redact(text))


#: What rich would turn into something else in a cell: an emoji code (``:name:``).
_EMOJI_CODE = re.compile(r":\S*?:")


def _plain(text: str) -> bool:
    """True when rich draws ``text`` (a row's cells, joined) as it is, one character a column."""
    return text.isascii() and text.isprintable() and not _EMOJI_CODE.search(text)


def _redacted_row(row: list[str]) -> list[str]:
    """Each cell redacted. A row that redaction leaves as it is, joined (no secret in it, no URL),
    has no cell it would change: one call for the row instead of one a cell (80,000 for 10,000
    models)."""
    joined = "\n".join(row)
    return row if redact(joined) == joined else [redact(cell) for cell in row]


def _rich_table(
    title: str | None, columns: Sequence[str], cells: list[list[str]], widths: Sequence[int] = ()
) -> Table:
    table = Table(title=_shown(title) if title else None, show_lines=False)
    for index, column in enumerate(columns):
        table.add_column(_shown(column), overflow="fold", min_width=widths[index] if widths else None)
    for row in cells:
        table.add_row(*(escape(cell) for cell in row))
    return table


class Output:
    def __init__(self, *, quiet: bool = False, verbose: bool = False, json_mode: bool = False) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.json_mode = json_mode
        # Piped output is not folded at 80 columns: a table row stays one greppable line.
        self.out = Console(soft_wrap=True, highlight=False, width=None if sys.stdout.isatty() else 200)
        self.err = Console(stderr=True, soft_wrap=True, highlight=False)

    # --- messages (stderr) -------------------------------------------------------------------
    def info(self, message: str) -> None:
        if not self.quiet:
            self.err.print(_shown(message))

    def success(self, message: str) -> None:
        if not self.quiet:
            self.err.print(f"[green]✓[/green] {_shown(message)}")

    def warning(self, message: str) -> None:
        self.err.print(f"[yellow]Warning:[/yellow] {_shown(message)}")

    def error(self, message: str, hint: str | None = None) -> None:
        self.err.print(f"[red]Error:[/red] {_shown(message)}")
        if hint:
            self.err.print(f"[dim]{_shown(hint)}[/dim]")

    def debug(self, message: str) -> None:
        if self.verbose:
            self.err.print(f"[dim]{_shown(message)}[/dim]")

    def exception(self) -> None:
        """The traceback of the exception being handled (``--verbose``), redacted like the rest."""
        self.err.print(_shown(traceback.format_exc().rstrip()))

    # --- results (stdout) --------------------------------------------------------------------
    def result_text(self, text: str) -> None:
        """Plain text as it is (a model card, a path), never reformatted (only redacted)."""
        text = redact(text)
        sys.stdout.write(text if text.endswith("\n") else f"{text}\n")
        sys.stdout.flush()

    def result_json(self, data: Any) -> None:
        sys.stdout.write(redact(json.dumps(data, indent=2, default=str, ensure_ascii=False)) + "\n")
        sys.stdout.flush()

    def table(self, title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """A table as rich draws it. rich takes about a millisecond a row (12 s for 10,000 models),
        so when every cell is plain text and the table fits, rich draws only the title, the
        header and the first row, and the other rows are written here the same way."""
        cells = [_redacted_row([str(cell) for cell in row]) for row in rows]
        if not self._plain_table(title, columns, cells):
            self.out.print(_rich_table(title, columns, cells))

    def _plain_table(self, title: str | None, columns: Sequence[str], cells: list[list[str]]) -> bool:
        heads = [redact(column) for column in columns]
        if not cells or not all(_plain("".join(row)) for row in (heads, *cells)):
            return False
        widths = [max(len(text) for text in column) for column in zip(heads, *cells, strict=True)]
        if sum(widths) + 3 * len(widths) + 1 > self.out.width:
            return False  # rich folds the cells to fit: let it
        with self.out.capture() as captured:
            self.out.print(_rich_table(title, columns, cells[:1], widths))
        drawn = captured.get().splitlines()
        body = ["│ " + " │ ".join(map(str.ljust, row, widths)) + " │" for row in cells[1:]]
        self.out.file.write("\n".join([*drawn[:-1], *body, drawn[-1]]) + "\n")
        self.out.file.flush()
        return True

    # --- progress (stderr) -------------------------------------------------------------------
    @contextmanager
    def progress(self) -> Iterator[ProgressListener]:
        if self.quiet or self.json_mode or not self.err.is_terminal:
            yield _LineProgress(self) if (self.verbose and not self.quiet) else ProgressListener()
            return
        from rich.progress import (  # imported here: only a transfer at a terminal draws bars
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        bars = Progress(
            TextColumn("{task.description}", justify="left"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self.err,
            transient=True,
        )
        with bars:
            yield _RichProgress(bars)


#: How a bar says which way its bytes go: an upload never looks like a download starting over.
DOWNLOAD_MARK = "[cyan]↓[/cyan]"
UPLOAD_MARK = "[magenta]↑ upload[/magenta]"


class _RichProgress(ProgressListener):
    def __init__(self, bars: Progress) -> None:
        self._bars = bars
        self._tasks: dict[str, TaskID] = {}

    def file_started(self, path: str, size: int) -> None:
        self._tasks[path] = self._bars.add_task(f"{DOWNLOAD_MARK} {_shown(path)}", total=size)

    def upload_started(self, path: str, size: int) -> None:
        self._tasks[path] = self._bars.add_task(f"{UPLOAD_MARK} {_shown(path)}", total=size)

    def file_advanced(self, path: str, n_bytes: int) -> None:
        task = self._tasks.get(path)
        if task is not None:
            self._bars.advance(task, n_bytes)

    def file_finished(self, path: str) -> None:
        task = self._tasks.pop(path, None)
        if task is not None:
            self._bars.remove_task(task)


class _LineProgress(ProgressListener):
    """Without a terminal (CI logs): one line per file instead of bars."""

    def __init__(self, output: Output) -> None:
        self._output = output
        self._uploads: set[str] = set()

    def upload_started(self, path: str, size: int) -> None:
        self._uploads.add(path)

    def file_finished(self, path: str) -> None:
        if path in self._uploads:
            self._uploads.discard(path)
            self._output.debug(f"  uploaded {path}")
        else:
            self._output.debug(f"  fetched {path}")
