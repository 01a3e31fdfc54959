"""``hg-localization serve``: the store, or a folder of repos, as a Hub-compatible HTTP API."""

from __future__ import annotations

import gc
import logging
import os
import signal
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from hg_localization.cli.context import output_for, state
from hg_localization.collections.manifest import MANIFEST_FILENAME
from hg_localization.config import (
    HGLocalizationConfig,
    ServeOptions,
    load_config,
    serve_options_from_environment,
    url_problem,
)
from hg_localization.errors import InvalidInputError
from hg_localization.redact import install_log_redaction, redact
from hg_localization.server.access_log import enable_server_logs
from hg_localization.server.app import WriteApi
from hg_localization.server.auth import ServerTokens
from hg_localization.server.folder_source import FolderSource
from hg_localization.server.served import Source
from hg_localization.server.store_source import StoreSource
from hg_localization.usecases.repos import local_stores

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from hg_localization.server.metrics import ServerMetrics

#: Seconds the answers under way get to finish on SIGTERM (--graceful-timeout).
GRACEFUL_TIMEOUT = 30

_Repos = Annotated[
    Path | None,
    typer.Option(
        "--repos",
        help="Serve this folder of repos (models/<ns>/<name>/<revision>/…) instead of the local store.",
    ),
]
_SourceKind = Annotated[
    str,
    typer.Option(
        "--source",
        help="What to serve: 'store' (the local store, or --repos DIR) or 'bucket' (every revision "
        "of the team bucket, HGLOC_S3_*, streamed from it with no local copy).",
    ),
]
_Redirect = Annotated[
    bool,
    typer.Option(
        "--redirect",
        help="With --source bucket: answer file downloads with a 302 to a presigned S3 URL "
        "(bytes go from S3 to the client), instead of streaming them through the server.",
    ),
]
_Workers = Annotated[
    int,
    typer.Option(
        "--workers", min=1, max=64, help="Worker processes (each answers the same from the same source)."
    ),
]
_Host = Annotated[str, typer.Option("--host", help="Address to bind.")]
_Port = Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to bind (0: any free port).")]
_TokensFile = Annotated[
    Path | None,
    typer.Option(
        "--tokens-file",
        help="File of 'read:TOKEN' and 'write:TOKEN' lines: who may read private repos and upload.",
    ),
]
_FollowSymlinks = Annotated[
    bool,
    typer.Option(
        "--follow-symlinks",
        help="With --repos: serve files and folders that are symbolic links, wherever they lead "
        "(by default links are refused, so nothing outside DIR is ever read). Read-only.",
    ),
]
_AccessLog = Annotated[
    bool,
    typer.Option("--access-log/--no-access-log", help="Log one line per request to stderr (never a token)."),
]
_Upstream = Annotated[
    str | None,
    typer.Option(
        "--upstream",
        help="Pull through from this Hub (e.g. https://huggingface.co): a repo or revision the store "
        "lacks is localized from it when first asked for (verified, pushed to the bucket if any), then "
        "served. Its token: "
        "HGLOC_UPSTREAM_TOKEN, else HF_TOKEN; a client's token is never sent upstream.",
    ),
]
_Allow = Annotated[
    list[str] | None,
    typer.Option(
        "--allow", help="With --upstream: pull only repo ids matching this glob (repeatable, e.g. 'acme/*')."
    ),
]
_Deny = Annotated[
    list[str] | None,
    typer.Option(
        "--deny", help="With --upstream: never pull repo ids matching this glob (repeatable; wins)."
    ),
]
_Revalidate = Annotated[
    float,
    typer.Option(
        "--revalidate",
        min=0,
        help="With --upstream: seconds after which a branch is asked upstream again whether it moved "
        "(a commit id never is).",
    ),
]
_Collections = Annotated[
    Path | None,
    typer.Option(
        "--collections",
        help="Show the collections of this manifest in the web catalog (/collections), each entry "
        f"present or missing here (default: {MANIFEST_FILENAME} in the working directory, if there is one).",
    ),
]
_GracefulTimeout = Annotated[
    int,
    typer.Option(
        "--graceful-timeout",
        min=0,
        help="On SIGTERM or Ctrl-C: stop taking connections, then let the answers under way finish "
        "for up to this many seconds before cutting them.",
    ),
]


def serve(
    ctx: typer.Context,
    repos: _Repos = None,
    source_kind: _SourceKind = "store",
    redirect: _Redirect = False,
    workers: _Workers = 1,
    host: _Host = "127.0.0.1",
    port: _Port = 8000,
    tokens_file: _TokensFile = None,
    follow_symlinks: _FollowSymlinks = False,
    access_log: _AccessLog = True,
    upstream: _Upstream = None,
    allow: _Allow = None,
    deny: _Deny = None,
    revalidate: _Revalidate = 300.0,
    collections: _Collections = None,
    graceful_timeout: _GracefulTimeout = GRACEFUL_TIMEOUT,
) -> None:
    """Serve the store (or --repos DIR) so that HF_ENDPOINT=http://HOST:PORT clients load from it."""
    import uvicorn

    out = output_for(ctx)
    options = ServeOptions(
        source=_source_kind(source_kind),
        repos=repos,
        tokens_file=tokens_file,
        follow_symlinks=follow_symlinks,
        redirect=redirect,
        upstream=upstream,
        allow=tuple(allow or ()),
        deny=tuple(deny or ()),
        revalidate=revalidate,
        access_log=access_log,
        collections=_collections_manifest(collections),
    )
    app, what = build_app(options, state(ctx).config)
    gc.freeze()  # see worker_app
    if workers > 1:  # each worker process builds its own app from the same options (worker_app)
        os.environ.update(options.environment())
    out.info(f"Serving {what} on http://{host}:{port}" + (f" ({workers} workers)" if workers > 1 else ""))
    out.info(f"Use it with: HF_ENDPOINT=http://{host}:{port}")
    enable_server_logs(access=options.access_log)
    _exit_zero_on_sigterm()
    uvicorn.run(
        WORKER_APP if workers > 1 else app,
        factory=workers > 1,
        workers=workers if workers > 1 else None,
        host=host,
        port=port,
        log_level="warning" if not out.verbose else "info",
        access_log=False,  # ours (hg_localization.server.access) names the token, never its value
        timeout_graceful_shutdown=graceful_timeout,
    )


#: What uvicorn imports in each worker process of ``serve --workers N``.
WORKER_APP = "hg_localization.cli.serve:worker_app"


def worker_app() -> Starlette:
    """The app of one worker of ``serve --workers N``: the options the command left in the environment.

    A worker is a new interpreter: its logs are set up again here (access and audit log, redaction).
    The app and all that was imported to build it (some 50,000 objects) live as long as the
    process: they are frozen out of the garbage collector's full passes, each of which walked them
    all (~40 ms, a pause every request in flight waited for: the p99 of ``bench/bench_rps.py``).
    """
    options = serve_options_from_environment()
    install_log_redaction(
        logging.getLogger(), own=(logging.getLogger("uvicorn.error"), logging.getLogger("uvicorn.access"))
    )
    enable_server_logs(access=options.access_log)
    app = build_app(options, load_config())[0]
    gc.freeze()
    return app


def build_app(options: ServeOptions, config: HGLocalizationConfig) -> tuple[Starlette, str]:
    """The server for ``options`` (the web catalog's pages, then the Hub API), and what it serves in words."""
    from hg_localization.catalog import catalog_app, default_catalog
    from hg_localization.server.metrics import ServerMetrics

    tokens = ServerTokens.from_file(options.tokens_file) if options.tokens_file else ServerTokens()
    _check_options(options, tokens)
    source: Source
    if options.source == "bucket":
        source, what = _bucket_source(options, config, tokens)
    elif options.repos is not None:
        source = FolderSource.for_repos_dir(options.repos, follow_symlinks=options.follow_symlinks)
        links = " (following symbolic links)" if options.follow_symlinks else ""
        what = f"the repos in {options.repos}{links}"
    else:
        source, what = store_source(config), f"the local store ({config.models_store_path})"
    served, metrics = source, ServerMetrics()  # one for the app and the source: upstream fetches count
    if options.upstream:  # from the bucket: a miss is localized in the store (staging), then pushed
        staging = store_source(config) if options.source == "bucket" else None
        served, pulled = _pull_through(source, options, config, metrics, local=staging)
        what = f"{what}, pulling through from {pulled}"
    app = catalog_app(
        served,
        tokens=tokens,
        catalog=default_catalog(served, collections=options.collections),
        write_api=_write_api(source, tokens) if options.source != "bucket" else None,
        metrics=metrics,
    )
    return app, what


def _collections_manifest(given: Path | None) -> Path | None:
    """``--collections FILE`` (absolute, for the workers), else the working directory's manifest if any."""
    if given is not None:
        return given.absolute()
    default = Path.cwd() / MANIFEST_FILENAME
    return default if default.is_file() else None


def store_source(config: HGLocalizationConfig) -> StoreSource:
    """Every scope of the local store (:func:`~hg_localization.usecases.repos.local_stores`: the
    configured bucket's first, then the unscoped store, then the other buckets'): a revision in
    two scopes is served from the first."""
    return StoreSource({"model": local_stores(config, "model"), "dataset": local_stores(config, "dataset")})


def _check_options(options: ServeOptions, tokens: ServerTokens) -> None:
    """Refuse a combination of options that cannot be served, before anything is opened."""
    _check_follow_symlinks(options.follow_symlinks, options.repos, tokens)
    if options.redirect and options.source != "bucket":
        raise InvalidInputError(
            "--redirect works with --source bucket only: other files have no URL to redirect to.",
            hint="Add --source bucket, or leave --redirect out.",
        )
    _check_upstream(options)
    if options.repos is not None and options.source != "bucket" and not options.repos.is_dir():
        raise InvalidInputError(f"--repos {options.repos}: no such folder.")


def _check_upstream(options: ServeOptions) -> None:
    """``--upstream`` fills the store (and the bucket, if any): not a folder of repos."""
    if not options.upstream:
        if options.allow or options.deny:
            raise InvalidInputError(
                "--allow and --deny choose what --upstream pulls through: add --upstream URL.",
                hint="e.g. --upstream https://huggingface.co --allow 'google-bert/*'",
            )
        return
    problem = url_problem(options.upstream)
    if problem:
        raise InvalidInputError(f"--upstream {redact(options.upstream)!r} {problem}.")
    if options.repos is not None:
        raise InvalidInputError(
            "--upstream fills the local store (and the bucket): it does not work with --repos.",
            hint="Leave --repos out: the store (--source store) or the bucket (--source bucket) is filled.",
        )


def _pull_through(
    inner: Source,
    options: ServeOptions,
    config: HGLocalizationConfig,
    metrics: ServerMetrics,
    *,
    local: Source | None = None,
) -> tuple[Source, str]:
    """``--upstream URL``: ``inner``, filled from the upstream Hub on a miss (``local``: the store
    a miss is staged in when ``inner`` is the bucket; see :class:`PullThroughSource`)."""
    from hg_localization.server.pull_through import PullThroughSource
    from hg_localization.usecases.pull_through import RepoPolicy, Upstream

    upstream = Upstream(config, options.upstream or "")
    policy = RepoPolicy(allow=options.allow, deny=options.deny)
    source = PullThroughSource(
        inner, upstream, policy=policy, revalidate=options.revalidate, metrics=metrics, local=local
    )
    return source, upstream.endpoint


def _source_kind(value: str) -> Literal["store", "bucket"]:
    if value == "store":
        return "store"
    if value == "bucket":
        return "bucket"
    raise InvalidInputError(f"--source {value!r}: choose 'store' or 'bucket'.", hint="e.g. --source bucket")


def _bucket_source(
    options: ServeOptions, config: HGLocalizationConfig, tokens: ServerTokens
) -> tuple[Source, str]:
    """``--source bucket``: read-only, nothing on local disk; the bucket is checked once, now."""
    from hg_localization.s3.serving import ServingBucket
    from hg_localization.server.bucket_source import BucketSource

    if options.repos is not None:
        raise InvalidInputError(
            "--repos and --source bucket name two different things to serve.", hint="Keep one of them."
        )
    if tokens.writable:
        raise InvalidInputError(
            "--source bucket serves the bucket read-only: uploads have nowhere to go.",
            hint="Leave the write: tokens out of --tokens-file (push to the bucket with hg-localization).",
        )
    bucket = ServingBucket.from_config(config)
    bucket.repos("model")  # a wrong bucket, endpoint or credentials: said now, not at the first request
    source = BucketSource(
        bucket,
        ttl=config.serve_bucket_ttl,
        redirect=options.redirect,
        presign_expiry=config.serve_presign_expiry,
    )
    how = " (downloads redirected to presigned URLs)" if options.redirect else ""
    return source, f"the bucket {bucket.describe()}{how}"


def _exit_zero_on_sigterm() -> None:
    """SIGTERM is a normal stop: uvicorn finishes the answers under way, then re-raises the signal.

    Without a handler of ours that re-raise would kill the process (exit -15); with it, the
    command ends with exit status 0. A SIGTERM before uvicorn takes over exits at once.
    """

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)


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


def _write_api(source: Source, tokens: ServerTokens) -> WriteApi | None:
    """The upload side, only when the server has write tokens (see server/hub_write.py)."""
    if not tokens.writable:
        return None
    from hg_localization.server.hub_write import HubWriteApi

    return HubWriteApi(source=source, tokens=tokens)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
