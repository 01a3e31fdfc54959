"""The typer application: global options, command registration, and the one error presenter.

Commands are thin: they check option combinations, call a use case, and hand the result to
:class:`Output`. Every :class:`HGLocalizationError` becomes a message, a hint and its exit
code here; anything unexpected becomes one line (the traceback only with ``--verbose``).
Everything shown, log records included, is redacted (:mod:`hg_localization.redact`).

The commands are registered on first use, after :func:`check_environment`: huggingface_hub
reads ``HF_ENDPOINT`` when it is imported and fails on a bad one, so a bad setting must be
reported (exit 2) before any command module imports it.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence

import typer
from typer.main import get_command

from hg_localization._version import __version__
from hg_localization.cli.context import State
from hg_localization.cli.help import GroupedCommands, assign_panels
from hg_localization.cli.output import Output
from hg_localization.config import check_environment
from hg_localization.errors import HGLocalizationError, LocalFileError, in_chain
from hg_localization.redact import install_log_redaction

app = typer.Typer(
    name="hg-localization",
    help="Bring Hugging Face Hub models, weights and datasets inside your own walls.",
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

#: Said on Ctrl-C: every transfer keeps what it verified, and the same command resumes from there.
INTERRUPTED = (
    "Interrupted. The files already downloaded or uploaded and verified are kept; "
    "run the same command again to resume from there."
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


#: The module under ``hg_localization.cli`` that registers each command. ``main`` imports only
#: the one a command line names (huggingface_hub, boto3 and the server cost a second to import);
#: ``--help`` and an unknown name load them all. A test keeps this table and the modules in step.
COMMAND_MODULES: dict[str, str] = {
    **dict.fromkeys(
        ("download-model", "list-local-models", "show-model-card", "show-model-config", "compare-models"),
        "models",
    ),
    **dict.fromkeys(
        (
            "download-dataset",
            "list-local-datasets",
            "show-dataset-card",
            "sync-local-dataset-to-s3",
            "sync-all-local-datasets-to-s3",
            "list-s3-datasets",
            "list-public-datasets",
        ),
        "datasets",
    ),
    **dict.fromkeys(
        ("sync-local-model-to-s3", "sync-all-local-models-to-s3", "list-s3-models", "list-public-models"),
        "s3",
    ),
    **dict.fromkeys(("download-weights", "verify-weights", "upload-weights"), "weights"),
    **dict.fromkeys(("sync", "lock", "list-collections", "show-collection", "bundle"), "collections"),
    **dict.fromkeys(
        ("remove-model", "unpublish-model", "remove-dataset", "unpublish-dataset", "prune"), "housekeeping"
    ),
    "serve": "serve",
    "demo": "demo",
    "doctor": "doctor",
}
_registered: set[str] = set()


def application(command: str | None = None) -> typer.Typer:
    """The application with ``command``'s module registered, or every command module (the default).

    Each module is imported and registered once.
    """
    module = COMMAND_MODULES.get(command or "")
    wanted = [module] if module else sorted(set(COMMAND_MODULES.values()))
    for name in wanted:
        if name not in _registered:
            importlib.import_module(f"hg_localization.cli.{name}").register(app)
            _registered.add(name)
    assign_panels(app)
    return app


def _command_named(args: list[str]) -> str | None:
    """The command a command line runs (its first word that is not an option), or None."""
    if any(arg in ("--help", "-h") for arg in args):
        return None
    return next((arg for arg in args if not arg.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``hg-localization`` and ``python -m hg_localization.cli``."""
    args = _global_flags_first(list(argv) if argv is not None else sys.argv[1:])
    verbose = any(arg in _GLOBAL_FLAGS and arg not in ("-q", "--quiet") for arg in args)
    output = Output(verbose=verbose)
    try:
        check_environment()  # before any command module imports huggingface_hub
        named = _command_named(args)
        if named is None and "--version" in args:
            command = get_command(app)  # an eager option: no command module is needed
        else:
            command = get_command(application(named))
        # click handles its own usage errors and --help (standalone mode) and exits with SystemExit.
        command.main(args=args, prog_name="hg-localization")
    except SystemExit as exc:
        if _caused_by_ctrl_c(exc):  # typer turns Ctrl-C into a bare exit 130
            output.error(INTERRUPTED)
            return 130
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except HGLocalizationError as exc:
        output.error(exc.message, exc.hint)
        return exc.exit_code
    except KeyboardInterrupt:
        output.error(INTERRUPTED)
        return 130
    except OSError as exc:  # a store folder that cannot be written, a full disk
        error = LocalFileError.from_os_error(exc, action="read or write")
        output.error(error.message, error.hint)
        return error.exit_code
    except Exception as exc:  # the last line of defence: no traceback reaches a user
        if verbose:
            output.exception()
        output.error(
            f"Unexpected error: {type(exc).__name__}: {exc}",
            "Run again with --verbose for details, and report it if it persists.",
        )
        return 1
    return 0


def _caused_by_ctrl_c(exc: BaseException) -> bool:
    """True when a KeyboardInterrupt is in the chain of exceptions that led to ``exc``."""
    return in_chain(exc, KeyboardInterrupt) is not None


_GLOBAL_FLAGS = frozenset({"-q", "--quiet", "-v", "-vv", "-vvv", "--verbose"})


def _global_flags_first(args: list[str]) -> list[str]:
    """Accept ``--quiet``/``--verbose``/``-vv`` after the command name too (``download-model X -q``)."""
    end = args.index("--") if "--" in args else len(args)
    flags = [a for a in args[:end] if a in _GLOBAL_FLAGS]
    rest = [a for a in args[:end] if a not in _GLOBAL_FLAGS]
    return flags + rest + args[end:]
