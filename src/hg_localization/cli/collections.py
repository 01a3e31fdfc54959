"""CLI commands for collections: sync, lock, list-collections, show-collection (and ``bundle …``).

Each command reads the manifest (``hg-localization.yaml``, or ``--file``), calls a use case of
:mod:`hg_localization.collections`, and hands the result to :class:`Output`. A sync ends with one
table (entry, revision → commit, files, size, status); its exit code is 0 only when every entry
succeeded (otherwise the failed entries' exit code when they agree, else 1).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer

from hg_localization.cli.bundles import register_bundles, shown_revision
from hg_localization.cli.context import output_for, state
from hg_localization.cli.output import Output
from hg_localization.collections.manifest import load_manifest
from hg_localization.collections.plan import PlannedEntry, plan_collections
from hg_localization.collections.status import collection_state, collection_summary
from hg_localization.collections.sync import (
    DEFAULT_JOBS,
    MAX_JOBS,
    EntryResult,
    SyncReport,
    failure_error,
    lock_collections,
    sync_collections,
)
from hg_localization.errors import HGLocalizationError
from hg_localization.sizes import human_size

FILE = typer.Option(None, "--file", "-f", help="The manifest (default: ./hg-localization.yaml).")
COLLECTION = typer.Option(
    [], "--collection", "-c", help="Only this collection (repeatable; default: every collection)."
)
JOBS = typer.Option(DEFAULT_JOBS, "--jobs", "-j", min=1, max=MAX_JOBS, help="Entries localized at a time.")
AS_JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")


def sync(
    ctx: typer.Context,
    file: Path | None = FILE,
    collection: list[str] = COLLECTION,
    dry_run: bool = typer.Option(False, "--dry-run", help="Fetch nothing: say what would be fetched."),
    jobs: int = JOBS,
    locked: bool = typer.Option(False, "--locked", help="Localize exactly the commits of the lock."),
    as_json: bool = AS_JSON,
) -> None:
    """Localize every entry of the manifest's collections (like download-model/-dataset each)."""
    out = output_for(ctx, json_mode=as_json)
    config = state(ctx).config
    manifest = load_manifest(file)
    if dry_run:
        planned = plan_collections(config, manifest, collection, jobs=jobs, locked=locked)
        _show_plan(out, planned, as_json=as_json)
        failed = [p for p in planned if p.error is not None]
        if failed:
            raise _plan_failure(failed, len(planned))
        return
    with out.progress() as progress:
        report = sync_collections(
            config,
            manifest,
            collection,
            jobs=jobs,
            locked=locked,
            progress=progress,
            on_result=_announcer(out, sum(len(c.entries) for c in manifest.select(collection))),
        )
    show_sync_report(out, report, as_json=as_json)
    if not report.ok:
        raise failure_error(report.failed, len(report.results))


def lock(
    ctx: typer.Context, file: Path | None = FILE, collection: list[str] = COLLECTION, jobs: int = JOBS
) -> None:
    """Localize every entry, then pin each one's commit and files in hg-localization.lock."""
    out = output_for(ctx)
    config = state(ctx).config
    manifest = load_manifest(file)
    total = sum(len(c.entries) for c in manifest.select(collection))
    with out.progress() as progress:
        report, written = lock_collections(
            config, manifest, collection, jobs=jobs, progress=progress, on_result=_announcer(out, total)
        )
    show_sync_report(out, report, as_json=False)
    if written is None:
        error = failure_error(report.failed, len(report.results))
        error.message = f"{error.message} The lock was not written."
        error.args = (error.message,)
        raise error
    out.success(f"Wrote {manifest.lock_path}: {len(written.entries)} entries pinned.")
    out.result_text(str(manifest.lock_path))
    if not report.ok:
        raise failure_error(report.failed, len(report.results))


def list_collections(ctx: typer.Context, file: Path | None = FILE, as_json: bool = AS_JSON) -> None:
    """List the manifest's collections."""
    out = output_for(ctx, json_mode=as_json)
    manifest = load_manifest(file)
    summaries = [collection_summary(c) for c in manifest.collections]
    if as_json:
        out.result_json(summaries)
        return
    out.table(
        f"Collections in {manifest.path}",
        ["name", "models", "datasets", "public", "description"],
        [
            (s["name"], s["models"], s["datasets"], "yes" if s["public"] else "no", s["description"])
            for s in summaries
        ],
    )


def show_collection(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The collection's name."),
    file: Path | None = FILE,
    as_json: bool = AS_JSON,
) -> None:
    """Show a collection's entries: what each selects, the locked commit, what the store has."""
    out = output_for(ctx, json_mode=as_json)
    states = collection_state(state(ctx).config, load_manifest(file), name)
    if as_json:
        out.result_json([s.as_dict() for s in states])
        return
    rows = []
    for s in states:
        local = "not localized"
        if s.local_commit is not None:
            local = s.local_commit[:12] + ("" if s.complete else " (partly)")
        locked = (
            "-"
            if s.locked_commit is None
            else s.locked_commit[:12] + ("" if s.has_locked_commit else " (not local)")
        )
        rows.append(
            (
                s.entry.repo_type,
                s.entry.repo_id,
                s.entry.revision,
                s.entry.describe_selection(),
                locked,
                local,
            )
        )
    out.table(f"Collection {name}", ["type", "id", "revision", "selects", "locked", "local"], rows)


# --- reporting -------------------------------------------------------------------------------------


def _announcer(out: Output, total: int) -> Callable[[EntryResult], None]:
    done = [0]

    def announce(result: EntryResult) -> None:
        done[0] += 1
        entry = result.job.entry
        revision = shown_revision(entry.revision)
        out.info(f"[{done[0]}/{total}] {entry.repo_type} {entry.repo_id}@{revision}: {result.status}")

    return announce


def show_sync_report(out: Output, report: SyncReport, *, as_json: bool) -> None:
    """The final table (or JSON), then every warning and failure, each once."""
    if as_json:
        out.result_json([_result_dict(r) for r in report.results])
    else:
        out.table(
            "Sync",
            ["collection", "entry", "revision → commit", "files", "size", "status"],
            [_row(r) for r in report.results],
        )
    for result in report.results:
        label = f"{result.job.entry.repo_type} {result.job.entry.label} ({result.job.collection})"
        outcome = result.outcome
        if outcome is not None:
            for warning in outcome.warnings:
                out.warning(f"{label}: {warning}")
            if outcome.missing:
                out.warning(f"{label} has no {', '.join(outcome.missing)}; localized what exists.")
        problem = result.problem
        if problem is not None:
            out.error(f"{label}: {problem.message}", problem.hint)
    ok = sum(1 for r in report.results if r.ok)
    out.info(f"{ok} of {len(report.results)} entries localized.")


def _row(result: EntryResult) -> tuple[object, ...]:
    entry = result.job.entry
    stored = result.stored
    commit = result.commit[:12] if result.commit else "-"
    status: str = result.status
    outcome = result.outcome
    if outcome is not None and result.status == "fetched":
        linked = f", {outcome.reused_files} linked from the store" if outcome.reused_files else ""
        status += f" ({outcome.fetched_files} files{linked})"
    if outcome is not None and outcome.upload_error is not None:
        status += ", upload failed"
    return (
        result.job.collection,
        f"{entry.repo_type} {entry.repo_id}",
        f"{shown_revision(entry.revision)} → {commit}",
        len(stored.manifest.files) if stored else "-",
        human_size(stored.manifest.total_size) if stored else "-",
        status,
    )


def _result_dict(result: EntryResult) -> dict[str, object]:
    entry, stored, problem = result.job.entry, result.stored, result.problem
    return {
        "collection": result.job.collection,
        "repo_type": entry.repo_type,
        "repo_id": entry.repo_id,
        "revision": entry.revision,
        "commit": result.commit,
        "files": len(stored.manifest.files) if stored else None,
        "size": stored.manifest.total_size if stored else None,
        "status": result.status,
        "ok": result.ok,
        "path": str(stored.path) if stored else None,
        "error": problem.message if problem else None,
    }


def _show_plan(out: Output, planned: list[PlannedEntry], *, as_json: bool) -> None:
    if as_json:
        out.result_json([_plan_dict(p) for p in planned])
        return
    rows = []
    for p in planned:
        entry = p.job.entry
        commit = p.commit[:12] if p.commit else "-"
        what = (
            "failed"
            if p.error
            else (f"{len(p.to_fetch)} files, {human_size(p.fetch_bytes)}" if p.to_fetch else "nothing")
        )
        rows.append(
            (
                p.job.collection,
                f"{entry.repo_type} {entry.repo_id}",
                f"{shown_revision(entry.revision)} → {commit}",
                p.files,
                human_size(p.size),
                what,
            )
        )
    out.table(
        "Dry run: nothing was fetched",
        ["collection", "entry", "revision → commit", "files", "size", "would fetch"],
        rows,
    )
    for p in planned:
        if p.error is not None:
            out.error(
                f"{p.job.entry.repo_type} {p.job.entry.label} ({p.job.collection}): {p.error.message}",
                p.error.hint,
            )
    unique = {
        (p.job.entry.repo_type, p.job.entry.repo_id, f.path, f.git_sha1): f.size
        for p in planned
        for f in p.to_fetch
    }
    out.info(
        f"Would fetch {len(unique)} files, {human_size(sum(unique.values()))} ({sum(unique.values())} bytes)."
    )


def _plan_dict(p: PlannedEntry) -> dict[str, object]:
    entry = p.job.entry
    return {
        "collection": p.job.collection,
        "repo_type": entry.repo_type,
        "repo_id": entry.repo_id,
        "revision": entry.revision,
        "commit": p.commit,
        "files": p.files,
        "size": p.size,
        "fetch_files": [{"path": f.path, "size": f.size} for f in p.to_fetch],
        "fetch_bytes": p.fetch_bytes,
        "error": p.error.message if p.error else None,
    }


def _plan_failure(failed: list[PlannedEntry], total: int) -> HGLocalizationError:
    codes = {p.error.exit_code for p in failed if p.error is not None}
    error = HGLocalizationError(
        f"{len(failed)} of {total} entries could not be planned.", hint="The messages above say why."
    )
    error.exit_code = codes.pop() if len(codes) == 1 else 1
    return error


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)
    app.command("lock")(lock)
    app.command("list-collections")(list_collections)
    app.command("show-collection")(show_collection)
    register_bundles(app)
