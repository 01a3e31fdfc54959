"""CLI commands for the team bucket: sync local revisions, list the bucket, list public models.

The helpers take a repo type, so the dataset commands are the same few lines
(``report_push``, ``report_sync_all``, ``show_entries``).
"""

from __future__ import annotations

import typer

from hg_localization.cli.context import output_for, state
from hg_localization.cli.output import Output
from hg_localization.cli.reporting import human_size
from hg_localization.errors import StorageError
from hg_localization.ids import RepoType
from hg_localization.s3.catalog import IndexEntry
from hg_localization.s3.push import PushReport
from hg_localization.usecases import s3_sync


def sync_local_model_to_s3(
    ctx: typer.Context,
    model_id: str = typer.Argument(
        ..., help="A model in the local store, e.g. google-bert/bert-base-uncased."
    ),
    revision: str | None = typer.Option(
        None, "--revision", "-r", help="Which local revision (default: main, else the newest)."
    ),
    make_public: bool = typer.Option(
        False, "--make-public", help="Also make it readable by anyone, without credentials."
    ),
) -> None:
    """Upload a localized model to the team bucket (only what the bucket does not have yet)."""
    out = output_for(ctx)
    config = state(ctx).config
    with out.progress() as progress:
        report = s3_sync.sync_local_repo(
            config, "model", model_id, revision, make_public=make_public, progress=progress
        )
    report_push(out, report)


def sync_all_local_models_to_s3(
    ctx: typer.Context,
    make_public: bool = typer.Option(False, "--make-public", help="Also make every one of them public."),
) -> None:
    """Upload every localized model to the team bucket."""
    out = output_for(ctx)
    config = state(ctx).config
    with out.progress() as progress:
        results = s3_sync.sync_all_local(config, "model", make_public=make_public, progress=progress)
    report_sync_all(out, "model", results)


def list_s3_models(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    rebuild_index: bool = typer.Option(
        False, "--rebuild-index", help="Rescan the bucket's metadata objects and rewrite its indexes first."
    ),
) -> None:
    """List the models in the team bucket (from its index)."""
    out = output_for(ctx, json_mode=as_json)
    listing = s3_sync.list_bucket_repos(state(ctx).config, "model", rebuild=rebuild_index)
    for problem in listing.problems:
        out.warning(problem)
    show_entries(out, "model", listing.entries, as_json=as_json, title="Models in the team bucket")


def list_public_models(
    ctx: typer.Context,
    public_url: str | None = typer.Option(
        None,
        "--public-url",
        help="The public URL you were given (default: HGLOC_PUBLIC_URL or the bucket's).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the models anyone can download (reads public_models.json; no credentials needed)."""
    out = output_for(ctx, json_mode=as_json)
    entries = s3_sync.list_public_repos(state(ctx).config, "model", public_url)
    show_entries(out, "model", entries, as_json=as_json, title="Public models", public_column=False)


# --- shared with the dataset commands --------------------------------------------------------------


def report_push(out: Output, report: PushReport) -> None:
    label = f"{report.repo_id} ({report.revision} @ {report.commit[:12]})"
    if report.uploaded_files:
        out.success(
            f"Synced {label} to {report.location}: {_files(report.uploaded_files)} uploaded "
            f"({human_size(report.uploaded_bytes)}), {report.skipped_files} already there."
        )
    else:
        out.success(f"{label} is already in {report.location}; nothing to upload.")
    if report.aborted_uploads:
        out.info(f"Aborted {report.aborted_uploads} incomplete upload(s) an interrupted run left behind.")
    if report.public_files_copied:
        out.info(f"Copied {_files(report.public_files_copied)} under the public prefix.")
    if report.public_url:
        out.success(f"Public: anyone can read it at {report.public_url}")
        out.info(f"Share: hg-localization list-public-models --public-url {report.public_url}")


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def report_sync_all(out: Output, repo_type: RepoType, results: list[s3_sync.SyncResult]) -> None:
    if not results:
        out.info(f"No {repo_type}s in the local store to sync.")
        return
    for result in results:
        if result.report is not None:
            report_push(out, result.report)
        elif result.error is not None:
            out.error(f"{result.repo_id} ({result.revision}): {result.error.message}", result.error.hint)
    failed = [r for r in results if not r.ok]
    if failed:
        raise StorageError(f"{len(failed)} of {len(results)} {repo_type} revisions could not be synced.")


def show_entries(
    out: Output,
    repo_type: RepoType,
    entries: list[IndexEntry],
    *,
    as_json: bool,
    title: str,
    public_column: bool = True,
) -> None:
    id_key = f"{repo_type}_id"
    if as_json:
        out.result_json(
            [
                {
                    id_key: e.repo_id,
                    **{k: v for k, v in e.as_dict().items() if k not in ("repo_id", "repo_type")},
                }
                for e in entries
            ]
        )
        return
    if not entries:
        out.info(f"No {repo_type}s there yet.")
        return
    columns = ["id", "revision", "commit", "files", "size"] + (["public"] if public_column else [])
    rows = []
    for e in entries:
        row = [e.repo_id, e.revision, e.commit[:12], f"{e.files} ({'full' if e.full else 'metadata'})"]
        row.append(human_size(e.size))
        if public_column:
            row.append("yes" if e.public else "no")
        rows.append(row)
    out.table(title, columns, rows)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the application."""
    app.command("sync-local-model-to-s3")(sync_local_model_to_s3)
    app.command("sync-all-local-models-to-s3")(sync_all_local_models_to_s3)
    app.command("list-s3-models")(list_s3_models)
    app.command("list-public-models")(list_public_models)
