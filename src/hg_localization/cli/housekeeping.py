"""Store management commands: remove-model, remove-dataset, unpublish-model, unpublish-dataset, prune.

Each says what it will delete (and how much space that frees) before it deletes anything, and
asks unless ``--yes``; without a terminal to ask on, and without ``--yes``, it refuses (exit 2).
"""

from __future__ import annotations

import sys

import typer

from hg_localization.cli.context import output_for, state
from hg_localization.cli.output import Output
from hg_localization.cli.reporting import count
from hg_localization.errors import ConfirmationRequiredError
from hg_localization.ids import RepoType
from hg_localization.s3.withdraw import Withdrawn
from hg_localization.sizes import human_size
from hg_localization.usecases import housekeeping

YES = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (scripts, CI).")


def confirm(question: str, *, yes: bool) -> None:
    """Go on with ``--yes`` or when the person at the terminal says yes; refuse otherwise."""
    if yes:
        return
    if sys.stdin is None or not sys.stdin.isatty():
        raise ConfirmationRequiredError(
            "Nothing was deleted: a confirmation is needed and there is no terminal to ask on.",
            hint="Re-run with --yes to delete without asking.",
        )
    if not typer.confirm(question, default=False, err=True):
        raise ConfirmationRequiredError("Cancelled: nothing was deleted.")


def _show(out: Output, removals: list[housekeeping.Removal]) -> int:
    total = sum(r.size for r in removals)
    for removal in removals:
        scope = f" [bucket scope {removal.scope}]" if removal.scope else ""
        out.info(f"  {human_size(removal.size):>9}  {removal.label}{scope}  {removal.path}")
    out.info(f"Total: {count(len(removals), 'folder')}, {human_size(total)}.")
    return total


def _withdrawn(out: Output, what: str, done: Withdrawn) -> None:
    out.success(
        f"{what} {done.repo_id} ({done.revision}) in {done.location}: "
        f"{count(done.objects_deleted, 'object')} deleted ({human_size(done.bytes_deleted)})"
        + ("; its public index entry is gone." if done.was_listed else ".")
    )


def register_repo_commands(app: typer.Typer, repo_type: RepoType) -> None:
    """``remove-<type>`` and ``unpublish-<type>`` for models or datasets (one implementation)."""

    def remove(
        ctx: typer.Context,
        repo_id: str = typer.Argument(..., metavar=f"{repo_type.upper()}_ID", help=f"The {repo_type}'s id."),
        revision: str | None = typer.Option(
            None, "--revision", "-r", help="Only this revision (default: every local revision of it)."
        ),
        bucket: bool = typer.Option(
            False,
            "--bucket",
            help="Delete the team bucket's copy instead (of --revision, default main; its public copy too).",
        ),
        yes: bool = YES,
    ) -> None:
        out = output_for(ctx)
        config = state(ctx).config
        if bucket:
            where = f"{config.s3_bucket_name or 'the team bucket'}"
            confirm(f"Delete {repo_id} ({revision or 'main'}) from {where}?", yes=yes)
            from hg_localization.usecases.unpublish import remove_from_bucket

            _withdrawn(out, "Deleted", remove_from_bucket(config, repo_type, repo_id, revision))
            return
        removals = housekeeping.plan_removal(config, repo_type, repo_id, revision)
        out.info(f"These revision folders of the local {repo_type} store go:")
        total = _show(out, removals)
        confirm(f"Delete {count(len(removals), 'revision')} of {repo_id} ({human_size(total)})?", yes=yes)
        freed = housekeeping.remove_local(config, repo_type, removals)
        out.success(
            f"Removed {count(len(removals), 'revision')} of {repo_id} from the local store "
            f"({human_size(freed)} freed). The team bucket's copy, if any, stays."
        )

    def unpublish(
        ctx: typer.Context,
        repo_id: str = typer.Argument(..., metavar=f"{repo_type.upper()}_ID", help=f"The {repo_type}'s id."),
        revision: str | None = typer.Option(None, "--revision", "-r", help="Which revision (default: main)."),
        yes: bool = YES,
    ) -> None:
        out = output_for(ctx)
        config = state(ctx).config
        confirm(f"Withdraw the public copy of {repo_id} ({revision or 'main'})?", yes=yes)
        from hg_localization.usecases.unpublish import unpublish as withdraw

        done = withdraw(config, repo_type, repo_id, revision)
        _withdrawn(out, "Withdrew the public copy of", done)
        out.info("The private copy in the bucket and the local copies stay.")

    app.command(
        f"remove-{repo_type}",
        help=f"Delete a {repo_type}'s local revisions (one with --revision), or with --bucket its "
        "bucket copy.",
    )(remove)
    app.command(
        f"unpublish-{repo_type}",
        help=f"Withdraw a {repo_type}'s public copy and its public index entry (the private copy stays).",
    )(unpublish)


def prune(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say what would be deleted."),
    yes: bool = YES,
) -> None:
    """Delete what nothing needs: revisions no branch points to, crash leftovers, empty bucket scopes.

    Revisions no branch points to: folders named by a commit id that no branch or tag folder of
    the same repo holds. Crash leftovers: staging folders of interrupted runs (never of a run
    under way). Empty bucket scopes: by_bucket/<id> folders holding no revision, as a mistyped
    bucket name leaves.
    """
    out = output_for(ctx)
    config = state(ctx).config
    plan = housekeeping.plan_prune(config)
    if not plan:
        out.success("Nothing to prune.")
        return
    out.info("Would delete:" if dry_run else "To delete:")
    total = _show(out, plan)
    if dry_run:
        return
    confirm(f"Delete {count(len(plan), 'folder')} ({human_size(total)})?", yes=yes)
    freed = housekeeping.prune(config, plan)
    out.success(f"Pruned {count(len(plan), 'folder')} ({human_size(freed)} freed).")


def register(app: typer.Typer) -> None:
    for repo_type in ("model", "dataset"):
        register_repo_commands(app, repo_type)
    app.command("prune")(prune)
