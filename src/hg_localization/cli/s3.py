"""CLI commands for the team bucket: sync local revisions, list the bucket, list what is public.

The same four commands exist for models and datasets (``sync-local-model-to-s3``,
``sync-local-dataset-to-s3``, …): :func:`register_bucket_commands` adds them for one repo type.
"""

from __future__ import annotations

from collections.abc import Callable

import typer

from hg_localization.cli.context import output_for, state
from hg_localization.cli.output import Output
from hg_localization.cli.repo_commands import ALLOW_PRIVATE_PUBLIC
from hg_localization.cli.reporting import report_push
from hg_localization.errors import AuthenticationError, StorageError
from hg_localization.ids import RepoType
from hg_localization.s3.catalog import IndexEntry
from hg_localization.s3.keys import public_index_name
from hg_localization.sizes import human_size
from hg_localization.usecases import s3_sync

#: An id to show in each repo type's help.
_EXAMPLE_IDS: dict[RepoType, str] = {
    "model": "google-bert/bert-base-uncased",
    "dataset": "stanfordnlp/imdb",
}


def register_bucket_commands(app: typer.Typer, repo_type: RepoType) -> None:
    """Add the four bucket commands of ``repo_type`` (``sync-local-model-to-s3``, …, or the dataset ones).

    One implementation serves models and datasets: the use cases take the repo type, and only
    the names and help texts differ (each command is made for its repo type by the function below).
    """
    app.command(
        f"sync-local-{repo_type}-to-s3",
        help=f"Upload a localized {repo_type} to the team bucket (only what the bucket does not have yet).",
    )(_sync_one_command(repo_type))
    app.command(
        f"sync-all-local-{repo_type}s-to-s3",
        help=f"Upload every localized {repo_type} to the team bucket; one failure does not stop the others.",
    )(_sync_all_command(repo_type))
    app.command(f"list-s3-{repo_type}s", help=f"List the {repo_type}s in the team bucket (from its index).")(
        _list_bucket_command(repo_type)
    )
    app.command(
        f"list-public-{repo_type}s",
        help=f"List the {repo_type}s anyone can download (reads {public_index_name(repo_type)}; "
        "no credentials needed).",
    )(_list_public_command(repo_type))


def _sync_one_command(repo_type: RepoType) -> Callable[..., None]:
    """``sync-local-<type>-to-s3``: push one local revision."""

    def sync_local_repo_to_s3(
        ctx: typer.Context,
        repo_id: str = typer.Argument(
            ...,
            metavar=f"{repo_type.upper()}_ID",
            help=f"A {repo_type} in the local store, e.g. {_EXAMPLE_IDS[repo_type]}.",
        ),
        revision: str | None = typer.Option(
            None, "--revision", "-r", help="Which local revision (default: main, else the newest)."
        ),
        make_public: bool = typer.Option(
            False, "--make-public", help="Also make it readable by anyone, without credentials."
        ),
        allow_private_public: bool = ALLOW_PRIVATE_PUBLIC,
    ) -> None:
        out = output_for(ctx)
        config = state(ctx).config
        with out.progress() as progress:
            report = s3_sync.sync_local_repo(
                config,
                repo_type,
                repo_id,
                revision,
                make_public=make_public,
                allow_private_public=allow_private_public,
                progress=progress,
            )
        report_push(out, report)

    return sync_local_repo_to_s3


def _sync_all_command(repo_type: RepoType) -> Callable[..., None]:
    """``sync-all-local-<type>s-to-s3``: push every local revision of the store, one at a time."""

    def sync_all_local_repos_to_s3(
        ctx: typer.Context,
        make_public: bool = typer.Option(
            False,
            "--make-public",
            help="Also make every one of them public (not those of private or gated repos, "
            "unless --allow-private-public).",
        ),
        allow_private_public: bool = ALLOW_PRIVATE_PUBLIC,
    ) -> None:
        out = output_for(ctx)
        config = state(ctx).config
        with out.progress() as progress:
            results = s3_sync.sync_all_local(
                config,
                repo_type,
                make_public=make_public,
                allow_private_public=allow_private_public,
                progress=progress,
            )
        report_sync_all(out, repo_type, results)

    return sync_all_local_repos_to_s3


def _list_bucket_command(repo_type: RepoType) -> Callable[..., None]:
    """``list-s3-<type>s``: what the bucket's index lists."""

    def list_s3_repos(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
        rebuild_index: bool = typer.Option(
            False,
            "--rebuild-index",
            help="Rescan the bucket's metadata objects and rewrite its indexes first.",
        ),
    ) -> None:
        out = output_for(ctx, json_mode=as_json)
        listing = s3_sync.list_bucket_repos(state(ctx).config, repo_type, rebuild=rebuild_index)
        for problem in listing.problems:
            out.warning(problem)
        title = f"{repo_type.capitalize()}s in the team bucket"
        show_entries(out, repo_type, listing.entries, as_json=as_json, title=title)

    return list_s3_repos


def _list_public_command(repo_type: RepoType) -> Callable[..., None]:
    """``list-public-<type>s``: the public index, read anonymously."""

    def list_public_repos(
        ctx: typer.Context,
        public_url: str | None = typer.Option(
            None,
            "--public-url",
            help="The public URL you were given (default: HGLOC_PUBLIC_URL or the bucket's).",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    ) -> None:
        out = output_for(ctx, json_mode=as_json)
        entries = s3_sync.list_public_repos(state(ctx).config, repo_type, public_url)
        # Every entry of a public index is public: no "public" column.
        show_entries(
            out, repo_type, entries, as_json=as_json, title=f"Public {repo_type}s", public_column=False
        )

    return list_public_repos


# --- telling what happened ------------------------------------------------------------------------


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
    if not failed:
        return
    message = f"{len(failed)} of {len(results)} {repo_type} revisions could not be synced."
    if all(isinstance(r.error, AuthenticationError) for r in failed):  # only refusals to publish
        raise AuthenticationError(
            message=message,
            hint="Each error above says why; private or gated upstream repos are made public only "
            "with --allow-private-public.",
        )
    raise StorageError(message)


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
    """Add the model bucket commands (the dataset ones are registered with the dataset commands)."""
    register_bucket_commands(app, "model")
