"""How the outcome of a localization or a push is told to a person (models and datasets alike)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hg_localization.cli.output import Output
from hg_localization.errors import StorageError
from hg_localization.sizes import human_size

if TYPE_CHECKING:  # (the bucket commands use this module too, and need no Hub client)
    from hg_localization.s3.push import PushReport
    from hg_localization.usecases.localize import LocalizeOutcome


def count(n: int, thing: str, plural: str | None = None) -> str:
    """``1 file``, ``2 files``: a number and its noun, singular or plural."""
    return f"{n} {thing if n == 1 else plural or thing + 's'}"


def report_localization(out: Output, kind: str, outcome: LocalizeOutcome) -> None:
    """Tell what happened; raise when the local copy is fine but the bucket upload failed."""
    manifest = outcome.stored.manifest
    label = f"{manifest.repo_id} ({manifest.revision} @ {manifest.commit[:12]})"
    for warning in outcome.warnings:
        out.warning(warning)
    if outcome.missing:
        out.warning(f"{label} has no {', '.join(outcome.missing)}; localized what exists.")
    if outcome.status == "already_localized":
        out.success(f"{kind.capitalize()} {label} is already localized; nothing to download.")
    elif outcome.status == "from_bucket":
        out.success(
            f"Fetched {kind} {label} from the team bucket: {count(outcome.fetched_files, 'file')}, "
            f"{human_size(outcome.fetched_bytes)}."
        )
    else:
        reused = (
            f", {count(outcome.reused_files, 'file')} reused from the store" if outcome.reused_files else ""
        )
        verb = "Updated" if outcome.status == "updated" else "Localized"
        out.success(
            f"{verb} {kind} {label}: {count(outcome.fetched_files, 'file')} downloaded "
            f"({human_size(outcome.fetched_bytes)}){reused}."
        )
    if outcome.pushed is not None:
        report_push(out, outcome.pushed)
    out.result_text(str(outcome.stored.path))
    if outcome.upload_error is not None:
        error = outcome.upload_error
        command = "sync-local-model-to-s3" if kind == "model" else "sync-local-dataset-to-s3"
        raise StorageError(
            f"The local copy is complete, but uploading it to the team bucket failed: {error.message}",
            hint=f"Retry with: hg-localization {command} {manifest.repo_id} --revision {manifest.revision}",
        )


def report_push(out: Output, report: PushReport) -> None:
    """What a push did: the files uploaded and where, or that the bucket had them; the public URL."""
    label = f"{report.repo_id} ({report.revision} @ {report.commit[:12]})"
    if report.uploaded_files:
        out.success(
            f"Synced {label} to {report.location}: {count(report.uploaded_files, 'file')} uploaded "
            f"({human_size(report.uploaded_bytes)}), {report.skipped_files} already there."
        )
    else:
        out.success(f"{label} is already in {report.location}; nothing to upload.")
    if report.aborted_uploads:
        out.info(
            f"Aborted {count(report.aborted_uploads, 'incomplete upload')} an interrupted run left behind."
        )
    if report.public_files_copied:
        out.info(f"Copied {count(report.public_files_copied, 'file')} under the public prefix.")
    if report.public_url:
        out.success(f"Public: anyone can read it at {report.public_url}")
        out.info(f"Share: hg-localization list-public-{report.repo_type}s --public-url {report.public_url}")
