"""``hg-localization demo``: generate repos, serve them as a Hub, localize from it, serve the store."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer

from hg_localization.cli.context import output_for


def demo(
    ctx: typer.Context,
    workdir: Path | None = typer.Option(
        None,
        "--workdir",
        help="Where to put the generated repos and the demo store (default: a temp folder).",
    ),
) -> None:
    """Run the whole loop on this machine, without huggingface.co (needs the 'demo' extra)."""
    from hg_localization.demo.walkthrough import run_demo

    out = output_for(ctx)
    folder = workdir or Path(tempfile.mkdtemp(prefix="hg-localization-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    run_demo(folder, lambda line: out.result_text(line))


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
