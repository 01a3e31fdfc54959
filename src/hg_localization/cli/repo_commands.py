"""What the model and dataset commands share: the download options and flow, the local listing,
and reading a file from the store or, when asked, from the Hub.

``download-model`` and ``download-dataset`` differ only in what they select; the rest (the
options below, the progress display, how the outcome is told) is written once here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

import typer

from hg_localization.cli.context import output_for, state
from hg_localization.cli.output import Output
from hg_localization.cli.reporting import report_localization
from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import EntryNotFoundError, InvalidInputError, NotLocalizedError
from hg_localization.ids import RepoType
from hg_localization.sizes import human_size
from hg_localization.usecases.localize import LocalizeOutcome
from hg_localization.usecases.progress import ProgressListener

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
SORT = typer.Option(
    "id", "--sort", metavar="id|size", help="Order of the list: by id (then revision), or biggest first."
)
#: The "bucket scope" of a copy made without a bucket configured.
UNSCOPED = "(none)"


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


class Described(Protocol):
    """A listed revision: ``problem`` and ``hint`` are set when its folder is damaged."""

    @property
    def revision(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def problem(self) -> str | None: ...

    @property
    def hint(self) -> str | None: ...

    def as_dict(self) -> dict[str, Any]: ...


D = TypeVar("D", bound=Described)


def show_local_repos(
    out: Output,
    repo_type: RepoType,
    found: Sequence[D],
    *,
    as_json: bool,
    columns: Sequence[str],
    row: Callable[[D], Sequence[Any]],
    sort: str = "id",
) -> None:
    """The ``list-local-*`` output: JSON, a hint when the store is empty, or a table and its total.

    ``sort="size"`` lists the biggest revisions first (``--sort size``), else the order found.

    Damaged revision folders are listed too (``status: damaged`` in JSON), and each gets a
    warning on stderr saying what is wrong and how to repair it.
    """
    if sort not in ("id", "size"):
        raise InvalidInputError(f"--sort {sort}: sort by 'id' or 'size'.")
    if sort == "size":
        found = sorted(found, key=lambda item: item.size, reverse=True)
    for item in found:
        if item.problem is not None:
            label = f"{item.as_dict()[f'{repo_type}_id']} ({item.revision})"
            out.warning(f"The local copy of {label} is damaged: {item.problem}. {item.hint or ''}".strip())
    if as_json:
        out.result_json([item.as_dict() for item in found])
        return
    if not found:
        out.info(
            f"No {repo_type}s in the local store yet. Try: hg-localization download-{repo_type} ORG/NAME"
        )
        return
    out.table(f"Local {repo_type}s", columns, [row(item) for item in found])
    total = sum(item.size for item in found)
    revisions = f"{len(found)} revision" if len(found) == 1 else f"{len(found)} revisions"
    out.info(f"Total: {revisions}, {human_size(total)}.")


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
