"""CLI commands that list the local store: list-local-models, list-local-datasets.

They read the store and nothing else, so this module imports no Hub or bucket client (the
download commands' modules do): ``list-local-models`` starts in a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

import typer

from hg_localization.cli.context import output_for, state
from hg_localization.cli.output import Output
from hg_localization.errors import InvalidInputError
from hg_localization.ids import RepoType
from hg_localization.sizes import human_size
from hg_localization.usecases import listing

AS_JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")
SORT = typer.Option(
    "id", "--sort", metavar="id|size", help="Order of the list: by id (then revision), or biggest first."
)
#: The "bucket scope" of a copy made without a bucket configured.
UNSCOPED = "(none)"


def list_local_models(ctx: typer.Context, as_json: bool = AS_JSON, sort: str = SORT) -> None:
    """List the models in the local store."""
    out = output_for(ctx, json_mode=as_json)
    show_local_repos(
        out,
        "model",
        listing.list_models(state(ctx).config),
        as_json=as_json,
        columns=["id", "revision", "commit", "card", "config", "files", "size", "bucket scope"],
        row=_model_row,
        sort=sort,
    )


def list_local_datasets(ctx: typer.Context, as_json: bool = AS_JSON, sort: str = SORT) -> None:
    """List the datasets in the local store."""
    out = output_for(ctx, json_mode=as_json)
    show_local_repos(
        out,
        "dataset",
        listing.list_datasets(state(ctx).config),
        as_json=as_json,
        columns=["id", "revision", "commit", "configs", "files", "size", "source", "bucket scope"],
        row=_dataset_row,
        sort=sort,
    )


def _model_row(m: listing.LocalModel) -> tuple[object, ...]:
    scope = m.scope or UNSCOPED
    if m.problem is not None:
        return (m.model_id, m.revision, "DAMAGED", "-", "-", "-", "-", scope)
    return (
        m.model_id,
        m.revision,
        m.commit[:12],
        "yes" if m.has_card else "no",
        "yes" if m.has_config else "no",
        m.contents.describe(),
        human_size(m.size),
        scope,
    )


def _dataset_row(d: listing.LocalDataset) -> tuple[object, ...]:
    scope = d.scope or UNSCOPED
    if d.problem is not None:
        return (d.dataset_id, d.revision, "DAMAGED", "-", "-", "-", "-", scope)
    return (
        d.dataset_id,
        d.revision,
        d.commit[:12],
        "all" if d.full else ", ".join(d.config_names) or d.contents.describe(),
        d.files,
        human_size(d.size),
        d.source,
        scope,
    )


class Described(Protocol):
    """A listed revision: ``problem`` and ``hint`` are set when its folder is damaged."""

    @property
    def revision(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def problem(self) -> str | None: ...

    @property
    def hint(self) -> str | None: ...

    def as_dict(self) -> dict[str, Any]: ...


D = TypeVar("D", bound=Described)


def show_local_repos(
    out: Output,
    repo_type: RepoType,
    found: Sequence[D],
    *,
    as_json: bool,
    columns: Sequence[str],
    row: Callable[[D], Sequence[Any]],
    sort: str = "id",
) -> None:
    """The ``list-local-*`` output: JSON, a hint when the store is empty, or a table and its total.

    ``sort="size"`` lists the biggest revisions first (``--sort size``), else the order found.

    Damaged revision folders are listed too (``status: damaged`` in JSON), and each gets a
    warning on stderr saying what is wrong and how to repair it.
    """
    if sort not in ("id", "size"):
        raise InvalidInputError(f"--sort {sort}: sort by 'id' or 'size'.")
    if sort == "size":
        found = sorted(found, key=lambda item: item.size, reverse=True)
    for item in found:
        if item.problem is not None:
            label = f"{item.as_dict()[f'{repo_type}_id']} ({item.revision})"
            out.warning(f"The local copy of {label} is damaged: {item.problem}. {item.hint or ''}".strip())
    if as_json:
        out.result_json([item.as_dict() for item in found])
        return
    if not found:
        out.info(
            f"No {repo_type}s in the local store yet. Try: hg-localization download-{repo_type} ORG/NAME"
        )
        return
    out.table(f"Local {repo_type}s", columns, [row(item) for item in found])
    total = sum(item.size for item in found)
    revisions = f"{len(found)} revision" if len(found) == 1 else f"{len(found)} revisions"
    out.info(f"Total: {revisions}, {human_size(total)}.")


def register(app: typer.Typer) -> None:
    app.command("list-local-models")(list_local_models)
    app.command("list-local-datasets")(list_local_datasets)
