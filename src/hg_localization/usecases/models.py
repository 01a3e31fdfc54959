"""Use cases for models: localize, list, read cards and configs, compare."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import EntryNotFoundError, InvalidInputError, NotLocalizedError
from hg_localization.ids import parse_repo_id, validate_revision
from hg_localization.store.layout import MODEL_CARD_FILENAME
from hg_localization.store.local_store import LocalStore, StoredRevision
from hg_localization.store.manifest import Selection
from hg_localization.usecases.localize import LocalizeOutcome, LocalizeRequest, localize
from hg_localization.usecases.progress import SILENT, ProgressListener
from hg_localization.usecases.repos import (
    DEFAULT_REVISION,
    check_make_public,
    find_local_revision,
    hub_client,
    local_revisions,
    local_store,
    read_hub_file,
    team_cache,
)

MODEL_METADATA_FILES = ("README.md", "config.json")


def model_store(config: HGLocalizationConfig) -> LocalStore:
    return local_store(config, "model")


def localize_model(
    model_id: str,
    revision: str | None = None,
    *,
    config: HGLocalizationConfig,
    full: bool = False,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    force: bool = False,
    allow_hub: bool = True,
    push: bool = True,
    make_public: bool = False,
    progress: ProgressListener = SILENT,
) -> LocalizeOutcome:
    """Bring a model's card and config (or, with ``full``, its files) into the local store."""
    include, exclude = tuple(include), tuple(exclude)
    check_make_public(config, make_public=make_public, push=push)
    repo_id = parse_repo_id(model_id)
    request = LocalizeRequest(
        repo_type="model",
        repo_id=repo_id,
        revision=validate_revision(revision or DEFAULT_REVISION),
        selection=Selection(full=full or bool(include or exclude), include=include, exclude=exclude),
        metadata_files=MODEL_METADATA_FILES,
        force=force,
        allow_hub=allow_hub,
        push=push,
        make_public=make_public,
    )
    return localize(
        request,
        store=model_store(config),
        hub=hub_client(config) if allow_hub else None,
        bucket=team_cache(config),
        max_workers=config.max_workers,
        progress=progress,
    )


# --- reading the store --------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalModel:
    model_id: str
    revision: str
    commit: str
    has_card: bool
    has_config: bool
    full: bool
    size: int
    path: str
    public: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "revision": self.revision,
            "commit": self.commit,
            "has_card": self.has_card,
            "has_config": self.has_config,
            "full": self.full,
            "size": self.size,
            "path": self.path,
            "is_public": self.public,
        }


def list_models(config: HGLocalizationConfig) -> list[LocalModel]:
    return [_describe(stored) for stored in local_revisions(config, "model")]


def _describe(stored: StoredRevision) -> LocalModel:
    manifest = stored.manifest
    return LocalModel(
        model_id=manifest.repo_id,
        revision=manifest.revision,
        commit=manifest.commit,
        has_card=manifest.file("README.md") is not None,
        has_config=manifest.file("config.json") is not None,
        full=manifest.full,
        size=manifest.total_size,
        path=str(stored.path),
        public=manifest.public,
    )


def read_local_card(config: HGLocalizationConfig, model_id: str, revision: str | None = None) -> str:
    stored = find_local_revision(config, "model", model_id, revision)
    record = stored.manifest.file("README.md")
    if record is None:
        raise EntryNotFoundError(model_id, MODEL_CARD_FILENAME, stored.manifest.revision)
    return stored.file_path(record.local_path).read_text(encoding="utf-8", errors="replace")


def read_local_config(
    config: HGLocalizationConfig, model_id: str, revision: str | None = None
) -> dict[str, Any]:
    stored = find_local_revision(config, "model", model_id, revision)
    record = stored.manifest.file("config.json")
    if record is None:
        raise EntryNotFoundError(model_id, "config.json", stored.manifest.revision)
    return _parse_config(stored.file_path(record.local_path).read_bytes(), model_id)


# --- reading the Hub (nothing cached) -------------------------------------------------------------


def fetch_card(config: HGLocalizationConfig, model_id: str, revision: str | None = None) -> str:
    data = read_hub_file(config, "model", model_id, revision, "README.md")
    return data.decode("utf-8", errors="replace")


def fetch_config(config: HGLocalizationConfig, model_id: str, revision: str | None = None) -> dict[str, Any]:
    return _parse_config(read_hub_file(config, "model", model_id, revision, "config.json"), model_id)


def _parse_config(data: bytes, model_id: str) -> dict[str, Any]:
    try:
        parsed = json.loads(data)
    except ValueError as exc:
        raise InvalidInputError(f"The config.json of '{model_id}' is not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise InvalidInputError(f"The config.json of '{model_id}' is not a JSON object.")
    return parsed


# --- comparing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigDifference:
    key: str
    left: Any
    right: Any
    in_left: bool
    in_right: bool

    @property
    def differs(self) -> bool:
        return self.in_left != self.in_right or self.left != self.right


def compare_configs(left: dict[str, Any], right: dict[str, Any]) -> list[ConfigDifference]:
    """Every key of both configs (nested keys dotted), side by side."""
    flat_left, flat_right = _flatten(left), _flatten(right)
    return [
        ConfigDifference(
            key=key,
            left=flat_left.get(key),
            right=flat_right.get(key),
            in_left=key in flat_left,
            in_right=key in flat_right,
        )
        for key in sorted(set(flat_left) | set(flat_right))
    ]


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{dotted}."))
        else:
            flat[dotted] = value
    return flat


def config_for_comparison(
    config: HGLocalizationConfig, model_id: str, revision: str | None = None
) -> tuple[dict[str, Any], str]:
    """A model's config from the store, else from the Hub; and where it came from."""
    try:
        return read_local_config(config, model_id, revision), "local store"
    except (NotLocalizedError, EntryNotFoundError):
        return fetch_config(config, model_id, revision), "Hub"
