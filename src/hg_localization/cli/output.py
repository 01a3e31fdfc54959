"""Everything the CLI shows goes through one :class:`Output`: human, JSON or quiet.

Results go to stdout; messages, warnings, errors and progress bars go to stderr, so
``hg-localization list-local-models --json | jq`` always gets clean JSON. Every text goes
through :func:`~hg_localization.redact.redact` first: no URL shows its password and no
configured secret shows at all, whatever the message was built from.

rich costs 0.1 s to import, more than the whole warm re-run of a download, whose output is one
line. So rich is imported only when something needs it (a progress bar, a table at a terminal,
a text rich would draw other than as it is): a one-line message, and a plain table in a pipe,
are written here, byte for byte as rich draws them (``tests/cli/test_output_plain.py``).
"""

from __future__ import annotations

import os
import re
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, Literal

from hg_localization.cli.json_text import indented_json
from hg_localization.progress import ProgressListener
from hg_localization.redact import redact

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID
    from rich.table import Table


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _shown(text: str) -> str:
    """Text as it may be printed with rich: redacted, then its markup escaped."""
    return _escape(redact(text))


#: What rich may turn into something else: an emoji code (``:name:``). No name of rich's has a
#: ``/`` in it, so the ``://127.0.0.1:`` of a URL (in most messages about a bucket) is not one.
_EMOJI_CODE = re.compile(r":[^\s/]*?:")


def _plain(text: str) -> bool:
    """True when rich draws ``text`` (a row's cells, joined) as it is, one character a column (a
    backslash may not be: rich shows a trailing one twice)."""
    return text.isascii() and text.isprintable() and "\\" not in text and not _EMOJI_CODE.search(text)


def _as_it_is(text: str) -> bool:
    """True when rich prints ``text`` (escaped, soft-wrapped) as it is: every line printable (no
    tab to expand, no control code to strip), no emoji code, and no backslash (rich shows a
    trailing one twice)."""
    return (
        "\\" not in text
        and all(line.isprintable() for line in text.split("\n"))
        and not _EMOJI_CODE.search(text)
    )


#: How rich styles what it writes to a stream: no escape codes, colours and styles, or styles
#: without colours (``NO_COLOR``).
Styling = Literal["plain", "color", "no-color"]
_SGR = {"green": "32", "yellow": "33", "red": "31", "dim": "2"}
_COLORS = frozenset({"green", "yellow", "red"})


def _terminal(file: IO[str] | None) -> bool | None:
    """rich's ``Console.is_terminal`` for ``file`` (``TTY_COMPATIBLE``, ``FORCE_COLOR``, then
    ``isatty``); None where rich looks further (IDLE, Jupyter)."""
    if file is None or "idlelib" in sys.modules or "IPython" in sys.modules:  # None: pythonw
        return None
    compatible = os.environ.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "1"
    if "FORCE_COLOR" in os.environ:
        return os.environ["FORCE_COLOR"] != ""
    isatty = getattr(file, "isatty", None)
    try:
        return False if isatty is None else bool(isatty())
    except ValueError:  # closed: not a terminal, as rich says
        return False


def styling_of(file: IO[str] | None) -> Styling | None:
    """How rich would style text written to ``file``, from the same settings rich reads; None
    where rich looks further (then rich draws it)."""
    terminal = _terminal(file)
    if terminal is None:
        return None
    if not terminal or os.environ.get("TERM", "").lower() in ("dumb", "unknown"):
        return "plain"
    return "no-color" if os.environ.get("NO_COLOR", "") != "" else "color"


def styled(parts: Sequence[tuple[str, str | None]], styling: Styling) -> str:
    """``parts`` (text, style) as rich writes them: each line of each styled part wrapped in its
    escape codes (rich styles line by line), then a newline."""
    lines = [""]
    for text, style in parts:
        code = None if style is None or (styling == "no-color" and style in _COLORS) else _SGR[style]
        for number, piece in enumerate(text.split("\n")):
            if number:
                lines.append("")
            lines[-1] += f"\x1b[{code}m{piece}\x1b[0m" if code and piece and styling != "plain" else piece
    return "\n".join(lines) + "\n"


def _markup(parts: Sequence[tuple[str, str | None]]) -> str:
    """``parts`` as rich markup, each text escaped."""
    return "".join(f"[{style}]{_escape(text)}[/{style}]" if style else _escape(text) for text, style in parts)


def _redacted_row(row: list[str]) -> list[str]:
    """Each cell redacted. A row that redaction leaves as it is, joined (no secret in it, no URL),
    has no cell it would change: one call for the row instead of one a cell (80,000 for 10,000
    models)."""
    joined = "\n".join(row)
    return row if redact(joined) == joined else [redact(cell) for cell in row]


def _rich_table(
    title: str | None, columns: Sequence[str], cells: list[list[str]], widths: Sequence[int] = ()
) -> Table:
    from rich.table import Table

    table = Table(title=_shown(title) if title else None, show_lines=False)
    for index, column in enumerate(columns):
        table.add_column(_shown(column), overflow="fold", min_width=widths[index] if widths else None)
    for row in cells:
        table.add_row(*(_escape(cell) for cell in row))
    return table


def _drawn_table(title: str | None, heads: list[str], cells: list[list[str]], widths: list[int]) -> str:
    """A table of plain cells as rich draws it in a pipe (no styles): its title, as it is, above
    (rich centres it in no width: soft wrap), then the heavy head box."""
    rules = ["━" * (width + 2) for width in widths]
    lines = [title] if title else []
    lines.append("┏" + "┳".join(rules) + "┓")
    lines.append("┃ " + " ┃ ".join(map(str.ljust, heads, widths)) + " ┃")
    lines.append("┡" + "╇".join(rules) + "┩")
    lines += ["│ " + " │ ".join(map(str.ljust, row, widths)) + " │" for row in cells]
    lines.append("└" + "┴".join("─" * (width + 2) for width in widths) + "┘")
    return "\n".join(lines) + "\n"


#: The width rich draws to in a pipe: a table row stays one greppable line.
PIPE_WIDTH = 200


class Output:
    def __init__(self, *, quiet: bool = False, verbose: bool = False, json_mode: bool = False) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.json_mode = json_mode
        self._out: Console | None = None
        self._err: Console | None = None

    @property
    def out(self) -> Console:
        """rich's console on stdout, made when first needed. Piped output is not folded at 80
        columns: a table row stays one greppable line."""
        if self._out is None:
            from rich.console import Console

            width = None if sys.stdout.isatty() else PIPE_WIDTH
            self._out = Console(soft_wrap=True, highlight=False, width=width)
        return self._out

    @out.setter
    def out(self, console: Console) -> None:
        self._out = console

    @property
    def err(self) -> Console:
        """rich's console on stderr, made when first needed (then every message goes through it:
        a progress bar may be on the screen)."""
        if self._err is None:
            from rich.console import Console

            self._err = Console(stderr=True, soft_wrap=True, highlight=False)
        return self._err

    @err.setter
    def err(self, console: Console) -> None:
        self._err = console

    def _say(self, *parts: tuple[str, str | None]) -> None:
        """A message on stderr: ``parts`` (redacted text, style), written here while rich would
        write them as they are, else printed with rich."""
        styling = styling_of(sys.stderr) if self._err is None else None
        if styling is None or not all(_as_it_is(text) for text, _ in parts):
            self.err.print(_markup(parts))
            return
        sys.stderr.write(styled(parts, styling))
        sys.stderr.flush()

    # --- messages (stderr) -------------------------------------------------------------------
    def info(self, message: str) -> None:
        if not self.quiet:
            self._say((redact(message), None))

    def success(self, message: str) -> None:
        if not self.quiet:
            self._say(("✓", "green"), (f" {redact(message)}", None))

    def warning(self, message: str) -> None:
        self._say(("Warning:", "yellow"), (f" {redact(message)}", None))

    def error(self, message: str, hint: str | None = None) -> None:
        self._say(("Error:", "red"), (f" {redact(message)}", None))
        if hint:
            self._say((redact(hint), "dim"))

    def debug(self, message: str) -> None:
        if self.verbose:
            self._say((redact(message), "dim"))

    def exception(self) -> None:
        """The traceback of the exception being handled (``--verbose``), redacted like the rest."""
        self._say((redact(traceback.format_exc().rstrip()), None))

    # --- results (stdout) --------------------------------------------------------------------
    def result_text(self, text: str) -> None:
        """Plain text as it is (a model card, a path), never reformatted (only redacted)."""
        text = redact(text)
        sys.stdout.write(text if text.endswith("\n") else f"{text}\n")
        sys.stdout.flush()

    def result_json(self, data: Any) -> None:
        sys.stdout.write(redact(indented_json(data)) + "\n")
        sys.stdout.flush()

    def table(self, title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """A table as rich draws it. rich takes about a millisecond a row (12 s for 10,000 models),
        so when every cell is plain text and the table fits, the rows are written here the same
        way: the whole table in a pipe (rich is not even imported), else rich draws the title,
        the header and the first row (its styles: a terminal's width and colours)."""
        cells = [_redacted_row(list(map(str, row))) for row in rows]
        heads = [redact(column) for column in columns]
        widths = self._plain_widths(title, heads, cells)
        if widths is None:
            self.out.print(_rich_table(title, columns, cells))
        elif self._out is None and styling_of(sys.stdout) == "plain" and not sys.stdout.isatty():
            sys.stdout.write(_drawn_table(title and redact(title), heads, cells, widths))
            sys.stdout.flush()
        else:
            self._first_row_by_rich(title, columns, cells, widths)

    def _plain_widths(self, title: str | None, heads: list[str], cells: list[list[str]]) -> list[int] | None:
        """The columns' widths when every cell is plain and the table fits the width rich draws
        to (else rich folds the cells: None)."""
        # One check of the whole table: rows apart by a space, so no emoji code spans two rows.
        if not cells or not _plain(" ".join(map("".join, (heads, *cells)))):
            return None
        if title and not _plain(redact(title)):
            return None
        widths = [max(map(len, column)) for column in zip(heads, *cells, strict=True)]
        width = self.out.width if self._out is not None or sys.stdout.isatty() else PIPE_WIDTH
        return None if sum(widths) + 3 * len(widths) + 1 > width else widths

    def _first_row_by_rich(
        self, title: str | None, columns: Sequence[str], cells: list[list[str]], widths: list[int]
    ) -> None:
        with self.out.capture() as captured:
            self.out.print(_rich_table(title, columns, cells[:1], widths))
        drawn = captured.get().splitlines()
        body = ["│ " + " │ ".join(map(str.ljust, row, widths)) + " │" for row in cells[1:]]
        self.out.file.write("\n".join([*drawn[:-1], *body, drawn[-1]]) + "\n")
        self.out.file.flush()

    # --- progress (stderr) -------------------------------------------------------------------
    @contextmanager
    def progress(self) -> Iterator[ProgressListener]:
        terminal = _terminal(sys.stderr) if self._err is None else None
        if terminal is None:
            terminal = self.err.is_terminal
        if self.quiet or self.json_mode or not terminal:
            yield _LineProgress(self) if (self.verbose and not self.quiet) else ProgressListener()
            return
        bars = _RichProgress(lambda: _started_bars(self.err))
        try:
            yield bars
        finally:
            bars.stop()


def _started_bars(console: Console) -> Progress:
    """Transfer bars on ``console``, drawn from now on (imported here: only a transfer at a
    terminal draws bars)."""
    from rich.progress import (
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
        console=console,
        transient=True,
    )
    bars.start()
    return bars


#: How a bar says which way its bytes go: an upload never looks like a download starting over.
DOWNLOAD_MARK = "[cyan]↓[/cyan]"
UPLOAD_MARK = "[magenta]↑ upload[/magenta]"


class _RichProgress(ProgressListener):
    """Bars at a terminal, made by ``make_bars`` when the first transfer starts: a run that
    transfers nothing (a warm re-run) imports no rich and draws nothing. Transfers start from
    the fetch pool's threads: the bars are made once, under a lock."""

    def __init__(self, make_bars: Callable[[], Progress]) -> None:
        self._make_bars = make_bars
        self._made: Progress | None = None
        self._lock = threading.Lock()
        self._tasks: dict[str, TaskID] = {}

    def _bars(self) -> Progress:
        if self._made is not None:  # every chunk of every file: no lock once made
            return self._made
        with self._lock:
            if self._made is None:
                self._made = self._make_bars()
            return self._made

    def stop(self) -> None:
        """Stop drawing (the bars vanish: transient), if they were ever drawn."""
        if self._made is not None:
            self._made.stop()

    def file_started(self, path: str, size: int) -> None:
        self._tasks[path] = self._bars().add_task(f"{DOWNLOAD_MARK} {_shown(path)}", total=size)

    def upload_started(self, path: str, size: int) -> None:
        self._tasks[path] = self._bars().add_task(f"{UPLOAD_MARK} {_shown(path)}", total=size)

    def file_advanced(self, path: str, n_bytes: int) -> None:
        task = self._tasks.get(path)
        if task is not None:
            self._bars().advance(task, n_bytes)

    def file_finished(self, path: str) -> None:
        task = self._tasks.pop(path, None)
        if task is not None:
            self._bars().remove_task(task)


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
