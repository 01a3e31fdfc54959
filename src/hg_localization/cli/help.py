"""How ``--help`` reads: commands grouped in panels with whole first lines, placeholders in words.

Typer's plain help cuts every command's description at the terminal's width and lists the
commands in one ungrouped block; its placeholders are Python types (``<list[str]>``,
``<int range>``, ``{model_id}``). The two classes here replace that, once for every command:

- :class:`GroupedCommands` (the application's group) lists the commands under the panel each
  one was given (:data:`PANELS`, in its order), each with the whole first paragraph of its help,
  wrapped (:mod:`hg_localization.cli.top_help` writes the same without typer);
- :class:`PlainCommand` (every command) shows arguments and option values as words in
  capitals, as git and click do: ``download-model [OPTIONS] MODEL_ID``, ``--include GLOB``.

:func:`assign_panels` gives each registered command its panel and its class; a command without a
panel is an error in a test (tests/cli/test_top_help.py), so a new command cannot go unlisted.
"""

from __future__ import annotations

import inspect
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup
from typer.models import CommandInfo, DefaultPlaceholder

from hg_localization.cli.top_help import PANELS

__all__ = ["PANELS", "GroupedCommands", "PlainCommand", "assign_panels", "first_paragraph", "panel_of"]

_PANEL_OF = {command: panel for panel, commands in PANELS.items() for command in commands}


def panel_of(command: str) -> str | None:
    return _PANEL_OF.get(command)


def assign_panels(app: typer.Typer) -> None:
    """Give every registered command (and sub-application) its panel and the plain help class."""
    for info in app.registered_commands:
        info.rich_help_panel = panel_of(info.name or "")
        _plain(info)
    for group in app.registered_groups:
        group.rich_help_panel = panel_of(group.name or "")
        sub = group.typer_instance
        if sub is not None:
            sub.info.cls = GroupedCommands
            for info in sub.registered_commands:
                _plain(info)


def _plain(info: CommandInfo) -> None:
    if info.cls is None or info.cls is TyperCommand or isinstance(info.cls, DefaultPlaceholder):
        info.cls = PlainCommand


def first_paragraph(text: str | None) -> str:
    """A help text's first paragraph on one line (``\\f`` ends the help, as in click)."""
    help_text = inspect.cleandoc(text or "").partition("\f")[0]
    return " ".join(help_text.split("\n\n")[0].split())


class GroupedCommands(TyperGroup):
    """The application's group: commands by panel, each with its whole first paragraph."""

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        by_panel: dict[str, list[tuple[str, str]]] = {}
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            panel = getattr(command, "rich_help_panel", None) or "Other commands"
            by_panel.setdefault(panel, []).append((name, first_paragraph(command.short_help or command.help)))
        order = [*PANELS, *sorted(p for p in by_panel if p not in PANELS)]
        for panel in order:
            rows = by_panel.get(panel)
            if rows:
                if panel in PANELS:  # the panel's own order, whichever module registered first
                    listed = PANELS[panel]
                    rows.sort(key=lambda row: listed.index(row[0]) if row[0] in listed else len(listed))
                with formatter.section(panel):
                    formatter.write_dl(rows)


def _word(param: Any) -> str:
    """A parameter's placeholder: its metavar when given, else its name in capitals."""
    return str(param.metavar or (param.name or "VALUE").upper())


class PlainCommand(TyperCommand):
    """A command whose help names its values in words (``MODEL_ID``, ``--jobs N``), never types."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            is_flag = bool(getattr(param, "is_flag", False)) or bool(getattr(param, "count", False))
            if param.metavar is None and not is_flag:
                param.metavar = _word(param)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                word = _word(param) + ("..." if param.nargs != 1 else "")
                pieces.append(word if param.required else f"[{word}]")
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        arguments: list[tuple[str, str]] = []
        options: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                if not param.hidden:
                    arguments.append((_word(param), param.help or ""))
                continue
            record = param.get_help_record(ctx)
            if record is not None:
                options.append(record)
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl(arguments)
        if options:
            with formatter.section("Options"):
                formatter.write_dl(options)
