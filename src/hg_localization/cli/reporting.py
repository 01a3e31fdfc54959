"""How the outcome of a localization is told to a person (models and datasets alike)."""

from __future__ import annotations

from hg_localization.cli.output import Output
from hg_localization.errors import StorageError
from hg_localization.usecases.localize import LocalizeOutcome


def human_size(n_bytes: int) -> str:
    size = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n_bytes} B"  # pragma: no cover


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
            f"Fetched {kind} {label} from the team bucket: {outcome.fetched_files} files, "
            f"{human_size(outcome.fetched_bytes)}."
        )
    else:
        reused = f", {outcome.reused_files} reused from the store" if outcome.reused_files else ""
        verb = "Updated" if outcome.status == "updated" else "Localized"
        out.success(
            f"{verb} {kind} {label}: {outcome.fetched_files} files downloaded "
            f"({human_size(outcome.fetched_bytes)}){reused}."
        )
    out.result_text(str(outcome.stored.path))
    if outcome.upload_error is not None:
        error = outcome.upload_error
        command = "sync-local-model-to-s3" if kind == "model" else "sync-local-dataset-to-s3"
        raise StorageError(
            f"The local copy is complete, but uploading it to the team bucket failed: {error.message}",
            hint=f"Retry with: hg-localization {command} {manifest.repo_id} --revision {manifest.revision}",
        )
