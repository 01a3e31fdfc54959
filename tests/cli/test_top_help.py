"""The top-level ``--help`` and ``--version`` are written without typer: they must stay what typer
and click would write, and cost no command module, typer or rich to answer."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.main import get_command

from hg_localization.cli import app as cli_app
from hg_localization.cli.help import first_paragraph
from hg_localization.cli.top_help import PANELS, SUMMARIES, top_level_help


def typer_help(capsys: pytest.CaptureFixture[str]) -> str:
    """What click writes for ``--help`` with every command module registered."""
    command = get_command(cli_app.application())
    with pytest.raises(SystemExit) as exited:
        command.main(args=["--help"], prog_name="hg-localization")
    assert exited.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("columns", ["80", "200", "60", "30"])
def test_the_help_from_the_tables_is_what_click_writes(
    columns: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    expected = typer_help(capsys)
    assert cli_app.main(["--help"]) == 0
    assert capsys.readouterr().out == expected
    assert top_level_help() + "\n" == expected


def test_each_summary_is_its_commands_first_paragraph() -> None:
    command = get_command(cli_app.application())
    names = sorted(cli_app.COMMAND_MODULES)
    assert sorted(SUMMARIES) == names
    assert sorted(name for names in PANELS.values() for name in names) == names
    for name in names:
        sub = command.get_command(None, name)  # type: ignore[attr-defined]
        assert SUMMARIES[name] == first_paragraph(sub.short_help or sub.help), name


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--version"], "hg-localization "),
        (["-q", "--version"], "hg-localization "),
        (["--help"], "Usage: hg-localization [OPTIONS] COMMAND [ARGS]..."),
        (["-v", "--help"], "Usage: hg-localization [OPTIONS] COMMAND [ARGS]..."),
    ],
)
def test_version_and_help_import_no_typer_rich_or_configuration(args: list[str], says: str) -> None:
    heavy = ("typer", "rich", "pydantic", "hg_localization.config", "huggingface_hub", "boto3")
    probe = (
        "import sys; from hg_localization.cli.app import main; code = main(sys.argv[1:]); "
        f"loaded = [m for m in {heavy!r} if m in sys.modules]; "
        "print('LOADED', loaded, file=sys.stderr) if loaded else None; "
        "sys.exit(10 if loaded else code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(says)


def test_a_command_s_help_loads_only_that_command_s_module() -> None:
    probe = (
        "import sys; from hg_localization.cli.app import main; code = main(['show-model-card', '--help']); "
        "sys.exit(10 if 'hg_localization.cli.weights' in sys.modules else code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Usage: hg-localization show-model-card [OPTIONS] MODEL_ID" in done.stdout
