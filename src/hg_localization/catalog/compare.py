"""Two models' configs side by side (``/compare?a=ID[@REV]&b=ID[@REV]``), from the catalog.

The diffing is ``compare-models``' own (:func:`hg_localization.usecases.models.compare_configs`):
nested keys dotted, every key of both configs, each marked as differing or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hg_localization.catalog.cards import CONFIG_MAX_BYTES, json_cell, parse_config
from hg_localization.catalog.index import Catalog
from hg_localization.catalog.model import ReadScope, RepoEntry, RevisionEntry
from hg_localization.errors import EntryNotFoundError, InvalidInputError, RepoNotFoundError
from hg_localization.ids import parse_repo_id, validate_revision
from hg_localization.usecases.models import compare_configs


@dataclass(frozen=True)
class Side:
    """One model of a comparison: which revision was read, and its config."""

    spec: str
    repo: RepoEntry
    revision: RevisionEntry
    config: dict[str, Any]


@dataclass(frozen=True)
class Row:
    key: str
    left: str | None
    right: str | None
    differs: bool


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``org/name`` or ``org/name@revision`` → (id, revision or None); InvalidInputError otherwise."""
    text = spec.strip()
    repo_id, at, revision = text.partition("@")
    if at and not revision:
        raise InvalidInputError(f"'{text}': name a revision after '@', or leave the '@' out.")
    parsed = str(parse_repo_id(repo_id))
    return parsed, validate_revision(revision) if at else None


def load_side(catalog: Catalog, spec: str, *, may_read: ReadScope) -> Side:
    """The config of the model ``spec`` names: a not-found error when it names no model served
    here (nor anything that could be one), InvalidInputError when its config cannot be read."""
    try:
        repo_id, revision_name = parse_spec(spec)
    except InvalidInputError as exc:
        raise RepoNotFoundError(spec.strip()[:200], "model", hint=exc.message) from None
    repo = catalog.find("model", repo_id, may_read=may_read)
    revision = catalog.revision(repo, revision_name)
    data = catalog.read_file(revision, repo.source, "config.json", CONFIG_MAX_BYTES + 1)
    if data is None:
        raise EntryNotFoundError(repo.repo_id, "config.json", revision.name)
    config, problem = parse_config(data)
    if config is None:
        raise InvalidInputError(f"{repo.repo_id}@{revision.name}: {problem}")
    return Side(spec=spec.strip(), repo=repo, revision=revision, config=config)


def compare_sides(left: Side, right: Side) -> list[Row]:
    return [
        Row(
            key=difference.key,
            left=json_cell(difference.left) if difference.in_left else None,
            right=json_cell(difference.right) if difference.in_right else None,
            differs=difference.differs,
        )
        for difference in compare_configs(left.config, right.config)
    ]
