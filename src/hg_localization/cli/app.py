"""The entry point: which command module a command line needs, and the one error presenter.

Commands are thin: they check option combinations, call a use case, and hand the result to
:class:`~hg_localization.cli.output.Output`. Every :class:`HGLocalizationError` becomes a message,
a hint and its exit code here; anything unexpected becomes one line (the traceback only with
``--verbose``). Everything shown, log records included, is redacted (:mod:`hg_localization.redact`).

Start-up is what a user waits for on every call, so this module imports nothing but the standard
library at first: ``--version`` and the top-level ``--help`` are answered from tables
(:mod:`hg_localization.cli.top_help`), without typer, rich, the configuration or any command
module. Any other command line gets the typer application (:mod:`hg_localization.cli.root`)
with the one command module it names registered, after :func:`check_environment`:
huggingface_hub reads ``HF_ENDPOINT`` when it is imported and fails on a bad one, so a bad
setting must be reported (exit 2) before any command module imports it (``--version`` and the
top-level ``--help`` import none, so they need no check).
"""

from __future__ import annotations

import gc
import importlib
import os
import sys

from hg_localization._version import __version__

TYPE_CHECKING = False  # not typing's: importing typing costs --version a few ms
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import typer

#: Said on Ctrl-C: every transfer keeps what it verified, and the same command resumes from there.
INTERRUPTED = (
    "Interrupted. The files already downloaded or uploaded and verified are kept; "
    "run the same command again to resume from there."
)


#: The module under ``hg_localization.cli`` that registers each command. ``main`` imports only
#: the one a command line names (huggingface_hub, boto3 and the server cost a second to import);
#: ``--help`` and an unknown name load them all. A test keeps this table and the modules in step.
COMMAND_MODULES: dict[str, str] = {
    **dict.fromkeys(("download-model", "show-model-card", "show-model-config", "compare-models"), "models"),
    **dict.fromkeys(("list-local-models", "list-local-datasets"), "listing"),  # the store alone: no Hub
    **dict.fromkeys(
        (
            "download-dataset",
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
    from hg_localization.cli.help import assign_panels
    from hg_localization.cli.root import app

    module = COMMAND_MODULES.get(command or "")
    wanted = [module] if module else sorted(set(COMMAND_MODULES.values()))
    for name in wanted:
        if name not in _registered:
            importlib.import_module(f"hg_localization.cli.{name}").register(app)
            _registered.add(name)
    assign_panels(app)
    return app


def _command_named(args: list[str]) -> str | None:
    """The command a command line runs (its first word that is not an option), or None (also
    for a ``--help`` before any command: the top-level help lists them all)."""
    for arg in args:
        if not arg.startswith("-"):
            return arg
        if arg in ("--help", "-h"):
            return None
    return None


def _answered_from_tables(args: list[str]) -> int | None:
    """``--version`` and the top-level ``--help`` (global flags around them allowed), as click
    answers them, without importing typer; None for any other command line."""
    rest = [arg for arg in args if arg not in _GLOBAL_FLAGS]
    if rest == ["--version"]:
        text = f"hg-localization {__version__}\n"
    elif rest == ["--help"]:
        from hg_localization.cli.top_help import top_level_help

        text = top_level_help() + "\n"
    else:
        return None
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left (``| head -1``): exit 1 quietly, as click does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``hg-localization`` and ``python -m hg_localization.cli``.

    Without ``argv`` (the process's own command line, in a process that ends with the command),
    the cyclic garbage collector is paused while the modules are imported and the application is
    built: tens of thousands of objects that live as long as the process, which it would otherwise
    traverse again and again (about a tenth of a short command's time). They are then frozen out
    of later collections, and the collector runs as usual for the command itself.
    """
    fresh_process = argv is None
    args = _global_flags_first(list(argv) if argv is not None else sys.argv[1:])
    answered = _answered_from_tables(args)
    if answered is not None:
        return answered
    if not fresh_process:
        return _run(args)
    gc.disable()
    try:
        return _run(args, started=_collect_from_now_on)
    finally:
        gc.enable()  # also when the command line was refused before it started


def _collect_from_now_on() -> None:
    """Start-up is over: what it built is kept out of collections; the command's garbage is collected."""
    gc.freeze()
    gc.enable()


def _run(args: list[str], started: Callable[[], None] | None = None) -> int:
    """Parse and run a command line with typer; every error becomes a message and an exit code.

    ``started`` is called once the command line's application is built, before it runs.
    """
    from typer.main import get_command

    from hg_localization.cli.output import Output
    from hg_localization.config import check_environment
    from hg_localization.errors import HGLocalizationError, LocalFileError

    verbose = any(arg in _GLOBAL_FLAGS and arg not in ("-q", "--quiet") for arg in args)
    output = Output(verbose=verbose)
    try:
        check_environment()  # before any command module imports huggingface_hub
        named = _command_named(args)
        if named is None and "--version" in args:
            from hg_localization.cli.root import app

            command = get_command(app)  # an eager option: no command module is needed
        else:
            command = get_command(application(named))
        if started is not None:
            started()
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
    from hg_localization.errors import in_chain

    return in_chain(exc, KeyboardInterrupt) is not None


_GLOBAL_FLAGS = frozenset({"-q", "--quiet", "-v", "-vv", "-vvv", "--verbose"})


def _global_flags_first(args: list[str]) -> list[str]:
    """Accept ``--quiet``/``--verbose``/``-vv`` after the command name too (``download-model X -q``)."""
    end = args.index("--") if "--" in args else len(args)
    flags = [a for a in args[:end] if a in _GLOBAL_FLAGS]
    rest = [a for a in args[:end] if a not in _GLOBAL_FLAGS]
    return flags + rest + args[end:]
