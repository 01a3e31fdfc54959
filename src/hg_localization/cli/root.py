"""The typer application itself: its global options, logging levels and log redaction.

Imported only when a command line needs typer (a command, or a command's ``--help``):
``hg-localization --version`` and ``--help`` are answered by :mod:`hg_localization.cli.app`
without it. Commands are added to :data:`app` by :func:`hg_localization.cli.app.application`.
"""

from __future__ import annotations

import logging

import typer

from hg_localization._version import __version__
from hg_localization.cli.context import State
from hg_localization.cli.help import GroupedCommands
from hg_localization.cli.output import Output
from hg_localization.cli.top_help import DESCRIPTION
from hg_localization.redact import install_log_redaction

app = typer.Typer(
    name="hg-localization",
    help=DESCRIPTION,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=GroupedCommands,
)

#: The libraries whose DEBUG records only ``-vv`` shows (``-v`` is this product's own detail).
LIBRARY_LOGGERS = (
    "httpx",
    "httpcore",
    "httpx2",
    "botocore",
    "boto3",
    "s3transfer",
    "urllib3",
    "filelock",
    "huggingface_hub",
    "fsspec",
    "asyncio",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hg-localization {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    ctx: typer.Context,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors and results."),
    verbose: int = typer.Option(
        0,
        "--verbose",
        "-v",
        count=True,
        show_default=False,
        help="More detail: -v this program's own (tracebacks included), -vv the libraries' DEBUG too.",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    ctx.obj = State(output=Output(quiet=quiet, verbose=verbose > 0))
    configure_logging(verbose)
    # Every record shown is redacted; uvicorn's loggers (serve) get handlers of their own later.
    install_log_redaction(
        logging.getLogger(), own=(logging.getLogger("uvicorn.error"), logging.getLogger("uvicorn.access"))
    )


def configure_logging(verbosity: int) -> None:
    """0: warnings; 1 (-v): this package's DEBUG too; 2 (-vv): every library's DEBUG as well.

    Set on every run (tests run many in one process), so a -vv before does not leak into a -v.
    """
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    libraries = logging.DEBUG if verbosity >= 2 else logging.WARNING
    logging.getLogger().setLevel(libraries)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(libraries)
    own = logging.getLogger("hg_localization")
    own.setLevel(logging.DEBUG if verbosity >= 1 else logging.NOTSET)
