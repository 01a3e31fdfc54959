"""CLI commands for datasets: download-dataset, list-local-datasets, show-dataset-card, and the
bucket commands (sync-local-dataset-to-s3, sync-all-local-datasets-to-s3, list-s3-datasets,
list-public-datasets)."""

from __future__ import annotations

import typer

from hg_localization.cli.context import output_for, state
from hg_localization.cli.reporting import human_size, report_localization
from hg_localization.cli.s3 import report_push, report_sync_all, show_entries
from hg_localization.errors import EntryNotFoundError, NotLocalizedError
from hg_localization.usecases import datasets, s3_sync

# Module-level so that the list defaults are not calls in the signature (ruff B008).
_INCLUDE = typer.Option([], "--include", help="Only files matching this glob (repeatable).")
_EXCLUDE = typer.Option([], "--exclude", help="Skip files matching this glob (repeatable).")


def download_dataset(
    ctx: typer.Context,
    dataset_id: str = typer.Argument(..., help="The dataset's id on the Hub, e.g. stanfordnlp/imdb."),
    name: str | None = typer.Option(
        None, "--name", "-n", help="Only this config's files (from the card's configs: or the folder layout)."
    ),
    revision: str | None = typer.Option(
        None, "--revision", "-r", help="Branch, tag or commit (default: main)."
    ),
    include: list[str] = _INCLUDE,
    exclude: list[str] = _EXCLUDE,
    no_s3_upload: bool = typer.Option(False, "--no-s3-upload", help="Do not upload to the team bucket."),
    make_public: bool = typer.Option(False, "--make-public", help="Make it readable without credentials."),
    force: bool = typer.Option(False, "--force", help="Fetch again even when already localized."),
) -> None:
    """Localize a dataset's files as the repo has them (every file, or one config with --name)."""
    out = output_for(ctx)
    config = state(ctx).config
    with out.progress() as progress:
        outcome = datasets.localize_dataset(
            dataset_id,
            revision,
            config=config,
            config_name=name,
            include=include,
            exclude=exclude,
            force=force,
            push=not no_s3_upload,
            make_public=make_public,
            progress=progress,
        )
    report_localization(out, "dataset", outcome)


def list_local_datasets(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the datasets in the local store."""
    out = output_for(ctx, json_mode=as_json)
    found = datasets.list_datasets(state(ctx).config)
    if as_json:
        out.result_json([d.as_dict() for d in found])
        return
    if not found:
        out.info("No datasets in the local store yet. Try: hg-localization download-dataset ORG/NAME")
        return
    out.table(
        "Local datasets",
        ["id", "revision", "commit", "configs", "files", "size", "source"],
        [
            (
                d.dataset_id,
                d.revision,
                d.commit[:12],
                "all" if d.full else ", ".join(d.config_names) or "filtered",
                d.files,
                human_size(d.size),
                d.source,
            )
            for d in found
        ],
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
    config = state(ctx).config
    try:
        text = datasets.read_local_card(config, dataset_id, revision)
    except (NotLocalizedError, EntryNotFoundError) as exc:
        if not try_huggingface:
            raise
        out.info(f"{exc.message} Reading it from the Hub ({config.hf_endpoint}).")
        text = datasets.fetch_card(config, dataset_id, revision)
    out.result_text(text)


# --- the team bucket (the same few lines as the model commands, see cli/s3.py) ----------------------


def sync_local_dataset_to_s3(
    ctx: typer.Context,
    dataset_id: str = typer.Argument(..., help="A dataset in the local store, e.g. stanfordnlp/imdb."),
    revision: str | None = typer.Option(
        None, "--revision", "-r", help="Which local revision (default: main, else the newest)."
    ),
    make_public: bool = typer.Option(
        False, "--make-public", help="Also make it readable by anyone, without credentials."
    ),
) -> None:
    """Upload a localized dataset to the team bucket (only what the bucket does not have yet)."""
    out = output_for(ctx)
    config = state(ctx).config
    with out.progress() as progress:
        report = s3_sync.sync_local_repo(
            config, "dataset", dataset_id, revision, make_public=make_public, progress=progress
        )
    report_push(out, report)


def sync_all_local_datasets_to_s3(
    ctx: typer.Context,
    make_public: bool = typer.Option(False, "--make-public", help="Also make every one of them public."),
) -> None:
    """Upload every localized dataset to the team bucket; one failure does not stop the others."""
    out = output_for(ctx)
    config = state(ctx).config
    with out.progress() as progress:
        results = s3_sync.sync_all_local(config, "dataset", make_public=make_public, progress=progress)
    report_sync_all(out, "dataset", results)


def list_s3_datasets(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    rebuild_index: bool = typer.Option(
        False, "--rebuild-index", help="Rescan the bucket's metadata objects and rewrite its indexes first."
    ),
) -> None:
    """List the datasets in the team bucket (from its index)."""
    out = output_for(ctx, json_mode=as_json)
    listing = s3_sync.list_bucket_repos(state(ctx).config, "dataset", rebuild=rebuild_index)
    for problem in listing.problems:
        out.warning(problem)
    show_entries(out, "dataset", listing.entries, as_json=as_json, title="Datasets in the team bucket")


def list_public_datasets(
    ctx: typer.Context,
    public_url: str | None = typer.Option(
        None,
        "--public-url",
        help="The public URL you were given (default: HGLOC_PUBLIC_URL or the bucket's).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the datasets anyone can download (reads public_datasets.json; no credentials needed)."""
    out = output_for(ctx, json_mode=as_json)
    entries = s3_sync.list_public_repos(state(ctx).config, "dataset", public_url)
    show_entries(out, "dataset", entries, as_json=as_json, title="Public datasets")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the application."""
    app.command("download-dataset")(download_dataset)
    app.command("list-local-datasets")(list_local_datasets)
    app.command("show-dataset-card")(show_dataset_card)
    app.command("sync-local-dataset-to-s3")(sync_local_dataset_to_s3)
    app.command("sync-all-local-datasets-to-s3")(sync_all_local_datasets_to_s3)
    app.command("list-s3-datasets")(list_s3_datasets)
    app.command("list-public-datasets")(list_public_datasets)
