"""CLI commands for models: download-model, show-model-*, compare-models (the list: :mod:`.listing`)."""

from __future__ import annotations

import json
from typing import Any

import typer

from hg_localization.cli.context import output_for, state
from hg_localization.cli.output import Output
from hg_localization.cli.repo_commands import (
    ALLOW_PRIVATE_PUBLIC,
    EXCLUDE,
    FORCE,
    INCLUDE,
    MAKE_PUBLIC,
    NO_S3_UPLOAD,
    REVISION,
    download_options,
    local_or_hub,
    localize_and_report,
)
from hg_localization.usecases import models


def download_model(
    ctx: typer.Context,
    model_id: str = typer.Argument(
        ..., help="The model's id on the Hub, e.g. google-bert/bert-base-uncased."
    ),
    revision: str | None = REVISION,
    full_model: bool = typer.Option(False, "--full-model", help="Every file (weights, tokenizer, …)."),
    include: list[str] = INCLUDE,
    exclude: list[str] = EXCLUDE,
    no_s3_upload: bool = NO_S3_UPLOAD,
    make_public: bool = MAKE_PUBLIC,
    allow_private_public: bool = ALLOW_PRIVATE_PUBLIC,
    force: bool = FORCE,
) -> None:
    """Localize a model: its card and config by default, every file with --full-model."""
    options = download_options(
        full=full_model,
        include=include,
        exclude=exclude,
        no_s3_upload=no_s3_upload,
        make_public=make_public,
        allow_private_public=allow_private_public,
        force=force,
    )
    localize_and_report(
        ctx,
        "model",
        lambda config, progress: models.localize_model(
            model_id, revision, options, config=config, progress=progress
        ),
    )


def show_model_card(
    ctx: typer.Context,
    model_id: str = typer.Argument(
        ..., help="A model in the local store (or on the Hub, with --try-huggingface), e.g. gpt2."
    ),
    revision: str | None = typer.Option(
        None,
        "--revision",
        "-r",
        help="Branch, tag or commit (default: main, else the most recently fetched).",
    ),
    try_huggingface: bool = typer.Option(
        False, "--try-huggingface", help="When it is not in the store, read it from the Hub (not cached)."
    ),
) -> None:
    """Print a model's card (README) from the local store."""
    out = output_for(ctx)
    out.result_text(
        local_or_hub(ctx, models.read_local_card, models.fetch_card, model_id, revision, try_huggingface)
    )


def show_model_config(
    ctx: typer.Context,
    model_id: str = typer.Argument(...),
    revision: str | None = typer.Option(None, "--revision", "-r"),
    try_huggingface: bool = typer.Option(False, "--try-huggingface", help="Fall back to the Hub."),
) -> None:
    """Print a model's config.json from the local store."""
    out = output_for(ctx)
    out.result_json(
        local_or_hub(ctx, models.read_local_config, models.fetch_config, model_id, revision, try_huggingface)
    )


def compare_models(
    ctx: typer.Context,
    model_a: str = typer.Argument(..., help="First model id (ID or ID@REVISION)."),
    model_b: str = typer.Argument(..., help="Second model id (ID or ID@REVISION)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    only_differences: bool = typer.Option(False, "--only-differences", "-d", help="Hide equal keys."),
    exit_code: bool = typer.Option(
        False,
        "--exit-code",
        help="Exit with 1 when the configs differ, 0 when they are the same (as git diff).",
    ),
) -> None:
    """Compare two models' configs key by key; differences are marked.

    Exits 0 whether or not they differ (the table says); with --exit-code, 1 when they differ.
    """
    out = output_for(ctx, json_mode=as_json)
    config = state(ctx).config
    left = models.config_for_comparison(config, *_split_revision(model_a))
    right = models.config_for_comparison(config, *_split_revision(model_b))
    for compared in (left, right):
        if compared.note:
            out.warning(compared.note)
    left_from, right_from = left.source, right.source
    compared_rows = models.compare_configs(left.config, right.config)
    differing = sum(1 for r in compared_rows if r.differs)
    rows = [r for r in compared_rows if r.differs] if only_differences else compared_rows
    if as_json:
        out.result_json(
            {
                "a": {"model_id": model_a, "source": left_from},
                "b": {"model_id": model_b, "source": right_from},
                "keys": [
                    {
                        "key": r.key,
                        "a": r.left,
                        "b": r.right,
                        "differs": r.differs,
                        "in_a": r.in_left,
                        "in_b": r.in_right,
                    }
                    for r in rows
                ],
            }
        )
    else:
        _comparison_table(out, model_a, model_b, rows)
        out.info(
            f"{differing} of {len(compared_rows)} keys differ (configs from: {left_from}, {right_from})."
        )
    if exit_code and differing:
        raise typer.Exit(1)


def _comparison_table(out: Output, a: str, b: str, rows: list[models.ConfigDifference]) -> None:
    out.table(
        "Config comparison",
        ["", "key", a, b],
        [
            ("≠" if r.differs else "", r.key, _cell(r.left, r.in_left), _cell(r.right, r.in_right))
            for r in rows
        ],
    )


def _split_revision(value: str) -> tuple[str, str | None]:
    model_id, _, revision = value.partition("@")
    return model_id, revision or None


def _cell(value: Any, present: bool) -> str:
    return json.dumps(value) if present else "—"


def register(app: typer.Typer) -> None:
    app.command("download-model")(download_model)
    app.command("show-model-card")(show_model_card)
    app.command("show-model-config")(show_model_config)
    app.command("compare-models")(compare_models)
