"""Messages, and plain tables in a pipe, are written without rich: what is written must be what rich
prints, byte for byte, in a pipe and at a terminal, with and without colours."""

from __future__ import annotations

import io
import random
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from rich.console import Console
from rich.markup import escape

from hg_localization.cli.output import Output, _rich_table, _RichProgress, styling_of
from hg_localization.redact import redact

ENVIRONMENTS: dict[str, dict[str, str]] = {
    "pipe": {},
    "terminal": {"TERM": "xterm-256color"},
    "no-color": {"TERM": "xterm", "NO_COLOR": "1"},
    "dumb": {"TERM": "dumb"},
    "force-color": {"FORCE_COLOR": "1", "TERM": "xterm"},
    "force-color-empty": {"FORCE_COLOR": "", "TERM": "xterm"},
    "tty-compatible": {"TTY_COMPATIBLE": "1", "COLORTERM": "truecolor"},
    "tty-incompatible": {"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"},
}
RICH_SETTINGS = ("TERM", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLORTERM")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _in(monkeypatch: pytest.MonkeyPatch, environment: str) -> type[io.StringIO]:
    for name in RICH_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    for name, value in ENVIRONMENTS[environment].items():
        monkeypatch.setenv(name, value)
    return io.StringIO if environment == "pipe" else Terminal


#: What each message printed with rich (its markup as before rich was left out).
MESSAGES: dict[str, tuple[Callable[[Output, str], None], Callable[[str], str]]] = {
    "info": (Output.info, lambda m: escape(redact(m))),
    "success": (Output.success, lambda m: f"[green]✓[/green] {escape(redact(m))}"),
    "warning": (Output.warning, lambda m: f"[yellow]Warning:[/yellow] {escape(redact(m))}"),
    "error": (Output.error, lambda m: f"[red]Error:[/red] {escape(redact(m))}"),
    "debug": (Output.debug, lambda m: f"[dim]{escape(redact(m))}[/dim]"),
}
TEXTS = [
    "Model org/name (main) is already in the local store: /tmp/store/models/org/name/main",
    "a [red]x[/red] \\[b] c\\",
    "two\nlines\n\nand an empty one ",
    "an emoji :smile: and a port http://127.0.0.1:8080/x",
    "a tab\there, a bell \a, a return \r",
    "not ASCII: é ✓ 漢字",
    "https://user:secret@example.com/path",
    "s3://bucket at http://127.0.0.1:9000/x:smile: and :sweat_smile:// and http://h:8/:+1:",
    "",
]
ALPHABET = ["a", " ", "[", "]", "/", "\\", ":", "\n", "é", "✓", "\t", "\x1b", "red", "[b]", "[/]"]


def _texts() -> list[str]:
    rng = random.Random(13)
    return TEXTS + ["".join(rng.choices(ALPHABET, k=rng.randint(1, 12))) for _ in range(60)]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("kind", MESSAGES)
def test_a_message_is_what_rich_prints(monkeypatch: pytest.MonkeyPatch, environment: str, kind: str) -> None:
    stream = _in(monkeypatch, environment)
    say, markup = MESSAGES[kind]
    for text in _texts():
        written = stream()
        monkeypatch.setattr(sys, "stderr", written)
        say(Output(verbose=True), text)
        drawn = Console(file=stream(), soft_wrap=True, highlight=False)
        drawn.print(markup(text))
        assert isinstance(drawn.file, io.StringIO)
        assert written.getvalue() == drawn.file.getvalue(), (environment, kind, text)


def test_no_emoji_name_of_rich_has_a_slash() -> None:
    """What lets a URL's ``://host:`` be written without rich (``output._EMOJI_CODE``)."""
    from rich._emoji_codes import EMOJI

    assert len(EMOJI) > 1000
    assert not [name for name in EMOJI if "/" in name or any(c.isspace() for c in name)]


def test_a_message_naming_a_bucket_and_its_endpoint_is_written_without_rich() -> None:
    probe = (
        "import sys; from hg_localization.cli.output import Output; "
        "Output().success('org/m (main @ 0123456789ab) is already in s3://team at "
        "http://127.0.0.1:9000; nothing to upload.'); print('rich' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout == "False\n"
    assert "is already in s3://team at http://127.0.0.1:9000; nothing to upload." in done.stderr


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_an_error_and_its_hint_are_what_rich_prints(
    monkeypatch: pytest.MonkeyPatch, environment: str
) -> None:
    stream = _in(monkeypatch, environment)
    written = stream()
    monkeypatch.setattr(sys, "stderr", written)
    Output().error("It failed: [x]", "Try this:\nthen that.")
    drawn = Console(file=stream(), soft_wrap=True, highlight=False)
    drawn.print("[red]Error:[/red] It failed: \\[x]")
    drawn.print("[dim]Try this:\nthen that.[/dim]")
    assert isinstance(drawn.file, io.StringIO)
    assert written.getvalue() == drawn.file.getvalue()
    assert "Error:" in written.getvalue()


TABLES: list[tuple[str | None, list[str], list[tuple[Any, ...]]]] = [
    ("Local models", ["id", "revision", "commit"], [("a/b", "main", "x"), ("org/long-name", "v1", "")]),
    (None, ["i"], [("a",), ("bb",), ("c",)]),
    ("", ["i"], [("a",)]),
    ("A title much longer than the table it is the title of", ["i", "j"], [("a", 1), ("bb", 22)]),
    ("A title: :smile: [b]", ["i"], [("a",)]),
    ("Markup stays text", ["id", "size"], [("a", "[red]x[/red]"), ("b", "3.2 KB"), ("c", ":smile:")]),
    ("Not ASCII", ["id"], [("é",), ("b",)]),
    ("Backslashes", ["id"], [("a\\",), ("b\\",), ("\\[c]",)]),
    ("Wide, not too wide", ["id", "w"], [("a" * 150, "b" * 43), ("b", "c")]),
    ("Too wide: rich folds it", ["id", "w"], [("a" * 150, "b" * 60), ("b", "c")]),
    ("Empty", ["id"], []),
]


@pytest.mark.parametrize("environment", ["pipe", "dumb", "no-color", "tty-incompatible"])
@pytest.mark.parametrize("table", TABLES, ids=[str(t[0]) for t in TABLES])
def test_a_table_in_a_pipe_is_what_rich_draws(
    monkeypatch: pytest.MonkeyPatch,
    environment: str,
    table: tuple[str | None, list[str], list[tuple[Any, ...]]],
) -> None:
    _in(monkeypatch, environment)
    written = io.StringIO()  # a pipe, whatever the settings say
    monkeypatch.setattr(sys, "stdout", written)
    title, columns, rows = table
    Output().table(title, columns, rows)
    drawn = Console(file=io.StringIO(), soft_wrap=True, highlight=False, width=200)
    drawn.print(_rich_table(title, columns, [[str(cell) for cell in row] for row in rows]))
    assert isinstance(drawn.file, io.StringIO)
    assert written.getvalue() == drawn.file.getvalue()
    assert "┏" in written.getvalue()


def test_styling_follows_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = {"pipe": "plain", "terminal": "color", "no-color": "no-color", "dumb": "plain"}
    for environment, styling in expected.items():
        stream = _in(monkeypatch, environment)
        assert styling_of(stream()) == styling


def test_messages_and_a_table_in_a_pipe_import_no_rich() -> None:
    code = (
        "import sys\n"
        "from hg_localization.cli.output import Output\n"
        "out = Output(verbose=True)\n"
        "out.success('done: /tmp/x'); out.warning('w'); out.error('e', 'hint'); out.debug('d')\n"
        "with out.progress() as listener: listener.file_finished('a')\n"
        "out.table('T', ['id', 'size'], [('a/b', '1 KB'), ('c/d', '2 KB')])\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'rich'], 'rich imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert "│ a/b │ 1 KB │" in done.stdout
    assert done.stderr.startswith("✓ done: /tmp/x\nWarning: w\nError: e\nhint\nd\n")


def test_bars_at_a_terminal_are_drawn_from_the_first_transfer_and_stopped_after() -> None:
    output = Output()
    output.err = Console(file=Terminal(), force_terminal=True, soft_wrap=True, highlight=False)
    with output.progress() as listener:
        assert isinstance(listener, _RichProgress) and listener._made is None  # nothing drawn yet
        listener.file_started("model.safetensors", 10)
        listener.file_advanced("model.safetensors", 10)
        bars = listener._made
        assert bars is not None and bars.live.is_started
        assert [task.completed for task in bars.tasks] == [10]
        listener.file_finished("model.safetensors")
    assert not bars.live.is_started


def test_a_terminal_run_that_transfers_nothing_imports_no_rich() -> None:
    code = (
        "import sys\n"
        "from hg_localization.cli.output import Output\n"
        "out = Output()\n"
        "with out.progress() as listener: pass\n"
        "out.success('already localized')\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'rich'], 'rich imported'\n"
    )
    environment = {"PATH": "/usr/bin:/bin", "FORCE_COLOR": "1", "TERM": "xterm"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=environment
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "\x1b[32m✓\x1b[0m already localized\n"
