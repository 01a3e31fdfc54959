"""``hg-localization doctor``: the configuration in effect and what works, each failure with its fix."""

from __future__ import annotations

import typer

from hg_localization.cli.context import output_for, state
from hg_localization.cli.reporting import count
from hg_localization.usecases import doctor as diagnosis

_MARKS = {"ok": "ok", "warning": "warning", "failed": "FAILED", "skipped": "skipped"}


def doctor(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Show the configuration in effect (never a secret) and check the stores, the Hub and the bucket.

    Exits 0 when every check passes (warnings included), else with the failed check's exit code
    (8 local files, 6 Hub, 7 bucket, 3 access refused; 1 when several kinds failed).
    """
    out = output_for(ctx, json_mode=as_json)
    found = diagnosis.diagnose(state(ctx).config)
    if as_json:
        out.result_json(
            {
                "settings": dict(found.settings),
                "checks": [
                    {"name": c.name, "outcome": c.outcome, "detail": c.detail, "fix": c.fix}
                    for c in found.checks
                ],
            }
        )
    else:
        width = max(len(name) for name, _ in found.settings)
        out.result_text("Configuration:")
        for name, value in found.settings:
            out.result_text(f"  {name:<{width}}  {value}")
        out.result_text("Checks:")
        for check in found.checks:
            out.result_text(f"  [{_MARKS[check.outcome]}] {check.name}: {check.detail}")
            if check.fix and check.outcome in ("failed", "warning"):
                out.result_text(f"      fix: {check.fix}")
    code = diagnosis.exit_code(found)
    if code:
        failed = ", ".join(c.name for c in found.failed)
        out.error(
            f"{count(len(found.failed), 'check')} failed: {failed}.",
            "Each FAILED line above says how to fix it.",
        )
        raise typer.Exit(code)
    out.success("Every check passed.")


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
