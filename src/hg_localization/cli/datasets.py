"""CLI commands for datasets: download-dataset, show-dataset-card (the list: :mod:`.listing`); and the
bucket commands (sync-local-dataset-to-s3, sync-all-local-datasets-to-s3, list-s3-datasets,
list-public-datasets), the same as the model ones (see cli/s3.py)."""

from __future__ import annotations

import typer

from hg_localization.cli.context import output_for
from hg_localization.cli.repo_commands import (
    ALLOW_PRIVATE_PUBLIC,
    EXCLUDE,
    FORCE,
    INCLUDE,
    MAKE_PUBLIC,
    NO_S3_UPLOAD,
    REVISION,
    download_options,
    local_or_hub,
    localize_and_report,
)
from hg_localization.cli.s3 import register_bucket_commands
from hg_localization.datasets import cards, localizing


def download_dataset(
    ctx: typer.Context,
    dataset_id: str = typer.Argument(..., help="The dataset's id on the Hub, e.g. stanfordnlp/imdb."),
    name: str | None = typer.Option(
        None, "--name", "-n", help="Only this config's files (from the card's configs: or the folder layout)."
    ),
    revision: str | None = REVISION,
    include: list[str] = INCLUDE,
    exclude: list[str] = EXCLUDE,
    no_s3_upload: bool = NO_S3_UPLOAD,
    make_public: bool = MAKE_PUBLIC,
    allow_private_public: bool = ALLOW_PRIVATE_PUBLIC,
    force: bool = FORCE,
) -> None:
    """Localize a dataset's files as the repo has them (every file, or one config with --name)."""
    options = download_options(
        include=include,
        exclude=exclude,
        no_s3_upload=no_s3_upload,
        make_public=make_public,
        allow_private_public=allow_private_public,
        force=force,
    )
    localize_and_report(
        ctx,
        "dataset",
        lambda config, progress: localizing.localize_dataset(
            dataset_id, revision, options, config=config, config_name=name, progress=progress
        ),
    )


def show_dataset_card(
    ctx: typer.Context,
    dataset_id: str = typer.Argument(...),
    revision: str | None = typer.Option(None, "--revision", "-r"),
    try_huggingface: bool = typer.Option(
        False, "--try-huggingface", help="When it is not in the store, read it from the Hub (not cached)."
    ),
) -> None:
    """Print a dataset's card (README.md) from the local store."""
    out = output_for(ctx)
    out.result_text(
        local_or_hub(ctx, cards.read_local_card, cards.fetch_card, dataset_id, revision, try_huggingface)
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands, then the dataset bucket commands, to the application."""
    app.command("download-dataset")(download_dataset)
    app.command("show-dataset-card")(show_dataset_card)
    register_bucket_commands(app, "dataset")
