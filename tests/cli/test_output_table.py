"""``Output.table`` writes the rows of a plain table itself (rich takes a millisecond a row): what
it writes must be what rich draws, in a pipe and in a terminal, styles included."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from hg_localization.cli.output import Output, _rich_table

TABLES: list[tuple[str | None, list[str], list[tuple[Any, ...]]]] = [
    ("Local models", ["id", "revision", "commit"], [("a/b", "main", "x"), ("org/long-name", "v1", "")]),
    (None, ["i"], [("a",), ("bb",), ("c",)]),
    ("A title much longer than the table it is the title of", ["i", "j"], [("a", 1), ("bb", 22)]),
    ("Markup stays text", ["id", "size"], [("a", "[red]x[/red]"), ("b", "3.2 KB"), ("c", ":smile:")]),
    ("Not ASCII", ["id"], [("é",), ("b",)]),
    ("Backslashes", ["id"], [("a\\",), ("b\\",), ("\\[c]",)]),
    ("Too wide: rich folds it", ["id", "w"], [("a" * 150, "b" * 60), ("b", "c")]),
]


@pytest.mark.parametrize("table", TABLES, ids=[str(t[0]) for t in TABLES])
@pytest.mark.parametrize(
    "console",
    [{"width": 200}, {"width": 80}, {"width": 100, "force_terminal": True, "color_system": "truecolor"}],
    ids=["pipe", "narrow", "terminal"],
)
def test_a_table_is_what_rich_draws(
    table: tuple[str | None, list[str], list[tuple[Any, ...]]], console: dict[str, Any]
) -> None:
    title, columns, rows = table
    output = Output()
    output.out = Console(file=io.StringIO(), soft_wrap=True, highlight=False, **console)
    output.table(title, columns, rows)
    drawn = Console(file=io.StringIO(), soft_wrap=True, highlight=False, **console)
    drawn.print(_rich_table(title, columns, [[str(cell) for cell in row] for row in rows]))
    assert isinstance(output.out.file, io.StringIO) and isinstance(drawn.file, io.StringIO)
    assert output.out.file.getvalue() == drawn.file.getvalue()
    assert "a" in output.out.file.getvalue() or "é" in output.out.file.getvalue()
