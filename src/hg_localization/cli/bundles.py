"""``hg-localization bundle export|import|keygen``: collections carried across an air gap."""

from __future__ import annotations

from pathlib import Path

import typer

from hg_localization.cli.context import output_for, state
from hg_localization.cli.output import Output
from hg_localization.collections.bundle.export import ExportReport, export_bundle
from hg_localization.collections.bundle.importing import ImportReport, import_bundle
from hg_localization.collections.manifest import load_manifest
from hg_localization.errors import StorageError
from hg_localization.ids import is_commit_sha
from hg_localization.sizes import human_size

bundle_app = typer.Typer(
    name="bundle",
    help="Offline bundles: export collections to one verified file, import it where there is no network.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@bundle_app.command("export")
def export(
    ctx: typer.Context,
    output: Path = typer.Option(..., "--output", "-o", help="The bundle file to write (a tar)."),
    file: Path | None = typer.Option(
        None, "--file", "-f", help="The manifest (default: ./hg-localization.yaml)."
    ),
    collection: list[str] = typer.Option(
        [], "--collection", "-c", help="Only this collection (repeatable; default: every collection)."
    ),
    since: Path | None = typer.Option(
        None, "--since", help="An older lock: leave out every file it lists (an incremental bundle)."
    ),
    sign_key: Path | None = typer.Option(
        None, "--sign-key", help="Sign the bundle with this ed25519 private key (PEM; see 'bundle keygen')."
    ),
) -> None:
    """Write the collections' localized revisions, the lock and every file's sha256 to one file."""
    out = output_for(ctx)
    config = state(ctx).config
    manifest = load_manifest(file)
    with out.progress() as progress:
        report = export_bundle(
            config, manifest, output, collection, since=since, sign_key=sign_key, progress=progress
        )
    _show_export(out, report)


@bundle_app.command("import")
def import_(
    ctx: typer.Context,
    bundle: Path = typer.Argument(..., help="The bundle file (from 'bundle export')."),
    verify_key: Path | None = typer.Option(
        None, "--verify-key", help="Refuse the bundle unless this ed25519 public key (PEM) signed it."
    ),
) -> None:
    """Verify a bundle whole, then publish its revisions into the store. Needs no network."""
    out = output_for(ctx)
    config = state(ctx).config
    with out.progress() as progress:
        report = import_bundle(config, bundle, verify_key=verify_key, progress=progress)
    _show_import(out, report)


@bundle_app.command("keygen")
def keygen(
    ctx: typer.Context,
    key_file: Path = typer.Argument(
        ..., help="Where to write the private key; the public key goes to KEY_FILE.pub."
    ),
) -> None:
    """Make an ed25519 key pair for signing bundles (keep the private key; give out the .pub)."""
    from hg_localization.collections.bundle.signing import generate

    out = output_for(ctx)
    public = generate(key_file)
    out.success(f"Wrote the private key {key_file} (keep it secret) and the public key {public}.")
    out.result_text(str(public))


def _show_export(out: Output, report: ExportReport) -> None:
    rows = []
    for bundled in report.revisions:
        metadata = bundled.metadata
        carried = set(bundled.carried)
        size = sum(r.size for r in metadata.files if r.local_path in carried)
        rows.append(
            (
                f"{metadata.repo_type} {metadata.repo_id}",
                f"{shown_revision(metadata.revision)} → {metadata.commit[:12]}",
                f"{len(carried)} of {len(metadata.files)}",
                human_size(size),
            )
        )
    out.table(f"Bundle {report.output}", ["entry", "revision → commit", "files carried", "size"], rows)
    left_out = (
        f"; {report.left_out_files} files left out (the far store has them)" if report.left_out_files else ""
    )
    signed = ", signed" if report.signed else ""
    out.success(
        f"Wrote {report.output}: {len(report.revisions)} revisions, {report.carried_files} files, "
        f"{human_size(report.carried_bytes)}{left_out}{signed}."
    )
    out.result_text(str(report.output))


def _show_import(out: Output, report: ImportReport) -> None:
    rows = []
    for imported in report.revisions:
        metadata = imported.stored.manifest
        before = imported.previous_commit[:12] if imported.previous_commit else "new"
        rows.append(
            (
                f"{metadata.repo_type} {metadata.repo_id}",
                shown_revision(metadata.revision),
                f"{before} → {metadata.commit[:12]}",
                f"{imported.carried_files} from the bundle, {imported.linked_files} from the store",
            )
        )
    out.table(f"Imported from {report.bundle}", ["entry", "revision", "commit", "files"], rows)
    for warning in report.warnings:
        out.warning(warning)
    verified = " (signature verified)" if report.verified else ""
    out.success(f"Imported {len(report.revisions)} revisions, every file verified{verified}.")
    for imported in report.revisions:
        out.result_text(str(imported.stored.path))
    failed = report.upload_errors
    if failed:
        first = failed[0].upload_error
        raise StorageError(
            f"The store has every revision, but uploading {len(failed)} of them to the team bucket failed: "
            f"{first.message if first else ''}",
            hint="Retry with: hg-localization sync-local-model-to-s3 ID --revision REV "
            "(sync-local-dataset-to-s3 for a dataset).",
        )


def shown_revision(revision: str) -> str:
    """A revision as a table shows it: a 40-hex commit id shortened like the commits beside it."""
    return revision[:12] if is_commit_sha(revision) else revision


def register_bundles(app: typer.Typer) -> None:
    app.add_typer(bundle_app, name="bundle")
