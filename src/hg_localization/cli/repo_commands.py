"""What the model and dataset commands share: the download options and flow, the local listing,
and reading a file from the store or, when asked, from the Hub.

``download-model`` and ``download-dataset`` differ only in what they select; the rest (the
options below, the progress display, how the outcome is told) is written once here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

import typer

from hg_localization.cli.context import output_for, state
from hg_localization.cli.reporting import report_localization
from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import EntryNotFoundError, NotLocalizedError
from hg_localization.ids import RepoType
from hg_localization.progress import ProgressListener
from hg_localization.usecases.options import LocalizeOptions

if TYPE_CHECKING:  # (the bucket commands use this module's options, and need no Hub client)
    from hg_localization.usecases.localize import LocalizeOutcome

T = TypeVar("T")

# The options both download commands take (module-level: typer reads them, never changes them).
REVISION = typer.Option(None, "--revision", "-r", help="Branch, tag or commit (default: main).")
INCLUDE = typer.Option([], "--include", help="Only files matching this glob (repeatable).")
EXCLUDE = typer.Option([], "--exclude", help="Skip files matching this glob (repeatable).")
NO_S3_UPLOAD = typer.Option(False, "--no-s3-upload", help="Do not upload to the team bucket.")
MAKE_PUBLIC = typer.Option(False, "--make-public", help="Make it readable without credentials.")
ALLOW_PRIVATE_PUBLIC = typer.Option(
    False,
    "--allow-private-public",
    help="With --make-public: publish it even though its upstream repo is private or gated "
    "(refused otherwise, exit 3). Anyone will be able to read it.",
)
FORCE = typer.Option(False, "--force", help="Fetch again even when already localized.")


def download_options(
    *,
    full: bool = False,
    include: Sequence[str],
    exclude: Sequence[str],
    no_s3_upload: bool,
    make_public: bool,
    allow_private_public: bool,
    force: bool,
) -> LocalizeOptions:
    """The options a download command's flags mean (built once, passed down unchanged)."""
    return LocalizeOptions(
        full=full,
        include=tuple(include),
        exclude=tuple(exclude),
        force=force,
        push=not no_s3_upload,
        make_public=make_public,
        allow_private_public=allow_private_public,
    )


def localize_and_report(
    ctx: typer.Context,
    repo_type: RepoType,
    localize: Callable[[HGLocalizationConfig, ProgressListener], LocalizeOutcome],
) -> None:
    """Run one localization (``localize(config, progress)``) with a progress display; tell the outcome."""
    out = output_for(ctx)
    config = state(ctx).config
    with out.progress() as progress:
        outcome = localize(config, progress)
    report_localization(out, repo_type, outcome)


def local_or_hub(
    ctx: typer.Context,
    read_local: Callable[[HGLocalizationConfig, str, str | None], T],
    read_hub: Callable[[HGLocalizationConfig, str, str | None], T],
    repo_id: str,
    revision: str | None,
    try_huggingface: bool,
) -> T:
    """From the store; with --try-huggingface, from the Hub (not cached) when the store lacks it."""
    config = state(ctx).config
    try:
        return read_local(config, repo_id, revision)
    except (NotLocalizedError, EntryNotFoundError) as exc:
        if not try_huggingface:
            raise
        output_for(ctx).info(f"{exc.message} Reading it from the Hub ({config.hf_endpoint}).")
        return read_hub(config, repo_id, revision)
