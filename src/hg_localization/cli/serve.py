"""``hg-localization serve``: the store, or a folder of repos, as a Hub-compatible HTTP API."""

from __future__ import annotations

from pathlib import Path

import typer

from hg_localization.cli.context import output_for, state
from hg_localization.errors import InvalidInputError
from hg_localization.server.app import WriteApi
from hg_localization.server.auth import ServerTokens
from hg_localization.server.repo_source import RepoSource
from hg_localization.store.layout import StoreLayout


def serve(
    ctx: typer.Context,
    repos: Path | None = typer.Option(
        None,
        "--repos",
        help="Serve this folder of repos (models/<ns>/<name>/<revision>/…) instead of the local store.",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to bind (0: any free port)."),
    tokens_file: Path | None = typer.Option(
        None,
        "--tokens-file",
        help="File of 'read:TOKEN' and 'write:TOKEN' lines: who may read private repos and upload.",
    ),
    follow_symlinks: bool = typer.Option(
        False,
        "--follow-symlinks",
        help="With --repos: serve files and folders that are symbolic links, wherever they lead "
        "(by default links are refused, so nothing outside DIR is ever read). Read-only.",
    ),
) -> None:
    """Serve the store (or --repos DIR) so that HF_ENDPOINT=http://HOST:PORT clients load from it."""
    import uvicorn

    from hg_localization.server.app import create_app

    out = output_for(ctx)
    config = state(ctx).config
    tokens = ServerTokens.from_file(tokens_file) if tokens_file else ServerTokens()
    _check_follow_symlinks(follow_symlinks, repos, tokens)
    if repos is not None:
        if not repos.is_dir():
            raise InvalidInputError(f"--repos {repos}: no such folder.")
        source = RepoSource.for_repos_dir(repos, follow_symlinks=follow_symlinks)
        what = f"the repos in {repos}" + (" (following symbolic links)" if follow_symlinks else "")
    else:
        models = StoreLayout(config.models_store_path, "model", config.bucket_id).base
        datasets = StoreLayout(config.datasets_store_path, "dataset", config.bucket_id).base
        source = RepoSource.for_store(models, datasets)
        what = f"the local store ({config.models_store_path})"
    app = create_app(source, tokens=tokens, write_api=_write_api(source, tokens))
    out.info(f"Serving {what} on http://{host}:{port}")
    out.info(f"Use it with: HF_ENDPOINT=http://{host}:{port}")
    uvicorn.run(app, host=host, port=port, log_level="warning" if not out.verbose else "info")


def _check_follow_symlinks(follow: bool, repos: Path | None, tokens: ServerTokens) -> None:
    """``--follow-symlinks`` is for a read-only folder of repos: never the store, never uploads."""
    if not follow:
        return
    if repos is None:
        raise InvalidInputError(
            "--follow-symlinks works with --repos only: the local store is never served through links.",
            hint="Add --repos DIR, or leave --follow-symlinks out.",
        )
    if tokens.writable:
        raise InvalidInputError(
            "--follow-symlinks serves a folder read-only: a commit would write through the links "
            "and leave linked files out of the new revision.",
            hint="Leave the write: tokens out of --tokens-file, or leave --follow-symlinks out.",
        )


def _write_api(source: RepoSource, tokens: ServerTokens) -> WriteApi | None:
    """The upload side, only when the server has write tokens (see server/hub_write.py)."""
    if not tokens.writable:
        return None
    from hg_localization.server.hub_write import HubWriteApi

    return HubWriteApi(source=source, tokens=tokens)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
