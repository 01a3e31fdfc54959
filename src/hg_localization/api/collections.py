"""Collection and bundle functions of the Python API.

``sync_collection`` follows the API's rule for syncs: it never raises for an expected failure
and returns one dict per entry (``ok`` and ``message`` say how it went; a manifest that cannot
be read is one failed entry). ``list_collections`` raises :class:`HGLocalizationError` for a
manifest it cannot read (an empty list would claim there are no collections). The bundle
functions return ``(success, path_or_message)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hg_localization.api.outcomes import EXPECTED, attempt, message_of, redacted_errors
from hg_localization.collections.manifest import load_manifest
from hg_localization.collections.status import collection_state, collection_summary
from hg_localization.collections.sync import DEFAULT_JOBS, EntryResult, sync_collections
from hg_localization.config import HGLocalizationConfig, load_config
from hg_localization.redact import redact


def sync_collection(
    name: str | Sequence[str] | None = None,
    *,
    file: str | Path | None = None,
    locked: bool = False,
    jobs: int = DEFAULT_JOBS,
    config: HGLocalizationConfig | None = None,
) -> list[dict[str, Any]]:
    """Localize every entry of the collection ``name`` (several names, or every collection when
    None) of the manifest ``file`` (default: ``hg-localization.yaml`` in the working directory).

    One dict per entry: ``collection``, ``repo_type``, ``repo_id``, ``revision``, ``commit``,
    ``status`` (fetched, reused, from bucket, failed), ``files``, ``size``, ``path``, ``ok``,
    ``message``. With ``locked``, each entry is localized at the commit the lock pins.
    """
    names = [name] if isinstance(name, str) else list(name or ())
    try:
        manifest = load_manifest(Path(file) if file is not None else None)
        report = sync_collections(load_config(config), manifest, names, jobs=jobs, locked=locked)
    except EXPECTED as exc:
        failed = {"collection": None, "repo_id": None, "status": "failed", "ok": False}
        return [{**failed, "message": message_of(exc)}]
    return [_result(result) for result in report.results]


def _result(result: EntryResult) -> dict[str, Any]:
    entry, stored, problem = result.job.entry, result.stored, result.problem
    return {
        "collection": result.job.collection,
        "repo_type": entry.repo_type,
        "repo_id": entry.repo_id,
        "revision": entry.revision,
        "commit": result.commit,
        "status": result.status,
        "files": len(stored.manifest.files) if stored else 0,
        "size": stored.manifest.total_size if stored else 0,
        "path": str(stored.path) if stored else None,
        "ok": result.ok,
        "message": message_of(problem) if problem is not None else "",
    }


def list_collections(file: str | Path | None = None) -> list[dict[str, Any]]:
    """The manifest's collections: ``name``, ``description``, ``public``, ``models``, ``datasets``."""
    with redacted_errors():
        manifest = load_manifest(Path(file) if file is not None else None)
    return [collection_summary(collection) for collection in manifest.collections]


def show_collection(
    name: str, *, file: str | Path | None = None, config: HGLocalizationConfig | None = None
) -> list[dict[str, Any]]:
    """Each entry of a collection: what it selects, the locked commit, the store's commit."""
    with redacted_errors():
        manifest = load_manifest(Path(file) if file is not None else None)
        states = collection_state(load_config(config), manifest, name)
    return [state.as_dict() for state in states]


def export_bundle(
    output: str | Path,
    name: str | Sequence[str] | None = None,
    *,
    file: str | Path | None = None,
    since: str | Path | None = None,
    sign_key: str | Path | None = None,
    config: HGLocalizationConfig | None = None,
) -> tuple[bool, str]:
    """Write the collections' localized revisions to the bundle ``output``: ``(True, path)`` or
    ``(False, what_went_wrong)``. ``since``: an older lock (an incremental bundle)."""
    from hg_localization.collections.bundle import export

    names = [name] if isinstance(name, str) else list(name or ())
    return attempt(
        lambda: export.export_bundle(
            load_config(config),
            load_manifest(Path(file) if file is not None else None),
            Path(output),
            names,
            since=Path(since) if since is not None else None,
            sign_key=Path(sign_key) if sign_key is not None else None,
        ),
        lambda report: str(report.output),
    )


def import_bundle(
    bundle: str | Path, *, verify_key: str | Path | None = None, config: HGLocalizationConfig | None = None
) -> tuple[bool, str]:
    """Verify the bundle whole and publish its revisions into the store (no network):
    ``(True, summary)`` or ``(False, what_went_wrong)``; nothing is imported on a failure."""
    from hg_localization.collections.bundle import importing

    def run() -> importing.ImportReport:
        return importing.import_bundle(
            load_config(config), Path(bundle), verify_key=Path(verify_key) if verify_key is not None else None
        )

    try:
        report = run()
    except EXPECTED as exc:
        return False, message_of(exc)
    paths = ", ".join(str(r.stored.path) for r in report.revisions)
    failed = report.upload_errors
    if failed:  # the caller asked for both, as a download with a bucket does
        first = failed[0].upload_error
        reason = first.message if first is not None else ""
        return False, redact(
            f"Imported {len(report.revisions)} revisions ({paths}), but uploading {len(failed)} of "
            f"them to the bucket failed: {reason}"
        )
    return True, redact(f"Imported {len(report.revisions)} revisions: {paths}.")
