"""CLI commands for weight repos: download-weights, verify-weights, upload-weights.

Thin: options in, one use case, the outcome through :class:`Output`. Tokens come only from the
environment or the stored login (never a flag, which would show in the process list and the
shell history). Uploads ask before sending unless ``--yes``; without a terminal to ask on, and
without ``--yes``, they refuse.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from hg_localization.cli.context import output_for, state
from hg_localization.cli.output import Output
from hg_localization.cli.reporting import count
from hg_localization.errors import ConfirmationRequiredError
from hg_localization.redact import url_without_userinfo
from hg_localization.sizes import human_size
from hg_localization.weights import download as weights
from hg_localization.weights import upload as weights_upload

_REPO_ID_HELP = "The weights repo (default: HGLOC_WEIGHTS_REPO_ID, else MASSIVEMAGNETICS/SongBloom-weights)."


RepoIdOption = Annotated[str | None, typer.Option("--repo-id", help=_REPO_ID_HELP)]


def download_weights(
    ctx: typer.Context,
    repo_id: RepoIdOption = None,
    target_dir: Annotated[
        Path | None, typer.Option("--target-dir", help="Where the files go (default: models/<repo name>).")
    ] = None,
    revision: Annotated[str, typer.Option("--revision", "-r", help="Branch, tag or commit.")] = "main",
    verify: Annotated[
        bool, typer.Option("--verify", help="Hash the files already there again, even unchanged ones.")
    ] = False,
) -> None:
    """Download a weights repo, verified against its checksums.txt; a re-run fetches only what is missing.

    Private repos: set HUGGING_FACE_HUB_TOKEN (or HF_TOKEN), or log in with `hf auth login`.
    """
    out = output_for(ctx)
    config = state(ctx).config
    with out.progress() as progress:
        result = weights.download_weights(
            config,
            repo_id=repo_id,
            target_dir=target_dir,
            revision=revision,
            verify=verify,
            progress=progress,
        )
    label = f"{result.repo_id} ({result.revision} @ {result.commit[:12]})"
    if result.downloaded:
        kept = f"; {len(result.already_present)} already there" if result.already_present else ""
        size = human_size(result.bytes_downloaded)
        out.success(
            f"Downloaded {count(len(result.downloaded), 'file')} of {label} ({size})"
            f" into {result.target_dir}{kept}."
        )
    else:
        out.success(f"{label} is complete in {result.target_dir}; nothing to download.")
    if result.checksums_verified:
        out.info("Every file matches the repo's checksums.txt.")
    else:
        out.info("The repo has no checksums.txt: every file was checked against the Hub's own checksums.")
    out.result_text(str(result.target_dir))


def verify_weights(
    ctx: typer.Context,
    target_dir: Annotated[
        Path | None, typer.Option("--target-dir", help="The weights folder (default: models/<repo name>).")
    ] = None,
    repo_id: RepoIdOption = None,
    rehash: Annotated[bool, typer.Option("--rehash", help="Hash every file, even unchanged ones.")] = False,
) -> None:
    """Check offline that a weights folder is complete: every file its checksums.txt lists, matching."""
    out = output_for(ctx)
    target = target_dir or weights.default_target_dir(repo_id or state(ctx).config.weights_repo_id)
    result = weights.check_weights(target, rehash=rehash, repo_id=repo_id)
    held = ""
    if result.repo_id:
        at = f"{result.revision} @ " if result.revision and result.revision != result.commit else ""
        held = f" ({result.repo_id} {at}{result.commit[:12]})"
    out.success(
        f"The weights in {target}{held} are complete: {count(result.files, 'file')} "
        f"{'matches' if result.files == 1 else 'match'} the {result.source}."
    )
    out.result_text(str(target))


def upload_weights(
    ctx: typer.Context,
    repo_id: Annotated[str, typer.Option("--repo-id", help="The repo to upload to (created when missing).")],
    source_dir: Annotated[
        Path, typer.Option("--source-dir", help="The folder to upload (recursive).")
    ] = weights_upload.DEFAULT_SOURCE_DIR,
    commit_message: Annotated[
        str | None, typer.Option("--commit-message", "-m", help="The commit message.")
    ] = None,
    private: Annotated[
        bool, typer.Option("--private", help="Make the repo private (when this creates it).")
    ] = False,
    revision: Annotated[
        str | None, typer.Option("--revision", help="The branch to commit to (default: main).")
    ] = None,
    create_pr: Annotated[
        bool, typer.Option("--create-pr", help="Open a pull request instead of committing.")
    ] = False,
    tag: Annotated[
        str | None, typer.Option("--tag", help="Tag the new commit (e.g. v2.0); refused if the tag exists.")
    ] = None,
    tag_message: Annotated[str | None, typer.Option("--tag-message", help="The tag's message.")] = None,
    no_card: Annotated[
        bool, typer.Option("--no-card", help="Do not add a model card when the folder has no README.md.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (CI).")] = False,
) -> None:
    """Upload a folder of weights in one commit, with a checksums.txt written for every file.

    Without a README.md in the folder, a minimal model card is added (shown first; --no-card skips
    it). With --tag, the new commit is tagged in the same run (a release: v1.0, v2.0, ...).
    Needs HUGGING_FACE_HUB_TOKEN (or HF_TOKEN, or `hf auth login`) with write access.
    """
    out = output_for(ctx)
    config = state(ctx).config
    weights_upload.upload_token(config)  # no token: say so before anything else happens
    weights_upload.check_options(revision=revision, tag=tag, create_pr=create_pr)
    plan = weights_upload.plan_upload(source_dir, card=not no_card)
    _show_plan(out, plan, repo_id, tag=tag, endpoint=url_without_userinfo(config.hf_endpoint))
    if not yes:
        _confirm(f"Upload {count(len(plan.files), 'file')} ({human_size(plan.total_bytes)}) to {repo_id}?")
    with out.progress() as progress:
        result = weights_upload.upload_weights(
            config,
            plan,
            repo_id=repo_id,
            commit_message=commit_message,
            private=private,
            revision=revision,
            create_pr=create_pr,
            tag=tag,
            tag_message=tag_message,
            progress=progress,
        )
    _report_upload(out, result, source_dir)


def _report_upload(out: Output, result: weights_upload.UploadResult, source_dir: Path) -> None:
    """The last line names the commit (and the tag); stdout gets the commit URL alone."""
    size = human_size(result.total_bytes)
    tagged = f", tagged {result.tag}" if result.tag else ""
    if result.changed:
        out.success(
            f"Uploaded {count(result.files, 'file')} ({size}) to {result.repo_id} in one commit, "
            f"{result.commit_oid}{tagged}."
        )
    else:
        out.success(
            f"{result.repo_id} already has these {count(result.files, 'file')} as they are: nothing was "
            f"sent and no commit was made (it stays at {result.commit_oid}{tagged})."
        )
    if result.checksums_file is None:
        out.warning(f"{source_dir} is read-only: checksums.txt was uploaded but not written there.")
    if result.pull_request_url:
        out.info(f"Pull request: {result.pull_request_url}")
    out.result_text(result.commit_url)


def _show_plan(
    out: Output, plan: weights_upload.UploadPlan, repo_id: str, *, tag: str | None, endpoint: str
) -> None:
    out.info(f"To upload from {plan.source_dir} to {repo_id}:")
    width = max(len(human_size(f.size)) for f in plan.files)
    for planned in plan.files:
        out.info(f"  {human_size(planned.size):>{width}}  {planned.path}")
    note = "rewritten" if plan.replaces_checksums else "written"
    out.info(f"  {'':>{width}}  checksums.txt ({note} for every file above)")
    if plan.adds_card:
        out.info(f"  {'':>{width}}  README.md (a model card: the folder has none; --no-card skips it)")
    out.info(f"Total: {count(len(plan.files), 'file')}, {human_size(plan.total_bytes)}.")
    for skipped in plan.skipped:
        out.info(f"Skipped (hidden): {skipped}")
    if tag:
        out.info(f"The new commit will be tagged {tag}.")
    if plan.adds_card:
        out.info("The model card (README.md) that will be added:")
        for line in plan.card(repo_id, tag=tag, endpoint=endpoint).splitlines():
            out.info(f"  | {line}")


def stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _confirm(question: str) -> None:
    if not stdin_is_terminal():
        raise ConfirmationRequiredError(
            "Not uploading: a confirmation is needed and there is no terminal to ask on.",
            hint="Re-run with --yes to upload without asking (as in CI).",
        )
    if not typer.confirm(question, default=False, err=True):
        raise ConfirmationRequiredError("Upload cancelled: nothing was sent.")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the application."""
    app.command("download-weights")(download_weights)
    app.command("verify-weights")(verify_weights)
    app.command("upload-weights")(upload_weights)
