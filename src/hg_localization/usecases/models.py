"""Use cases for models: localize, list, read cards and configs, compare."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import (
    EntryNotFoundError,
    HGLocalizationError,
    InvalidInputError,
    NotLocalizedError,
)
from hg_localization.ids import parse_repo_id, validate_revision
from hg_localization.progress import SILENT, ProgressListener
from hg_localization.store.damaged import DamagedRevisionError
from hg_localization.store.layout import METADATA_FILES, MODEL_CARD_FILENAME
from hg_localization.store.local_store import LocalStore
from hg_localization.store.manifest import Selection

# Listing reads the store alone (no Hub client): it lives in its own module, named here too.
from hg_localization.usecases.listing import LocalModel as LocalModel
from hg_localization.usecases.listing import list_models as list_models
from hg_localization.usecases.listing import local_stores
from hg_localization.usecases.localize import LocalizeOutcome, LocalizeRequest
from hg_localization.usecases.options import DEFAULTS, LocalizeOptions
from hg_localization.usecases.repos import (
    DEFAULT_REVISION,
    check_make_public,
    find_local_revision,
    full_revision,
    local_store,
    localize_request,
    online_hub,
    read_hub_file,
)

MODEL_METADATA_FILES = METADATA_FILES["model"]


def model_store(config: HGLocalizationConfig) -> LocalStore:
    return local_store(config, "model")


def localize_model(
    model_id: str,
    revision: str | None = None,
    options: LocalizeOptions = DEFAULTS,
    *,
    config: HGLocalizationConfig,
    progress: ProgressListener = SILENT,
) -> LocalizeOutcome:
    """Bring a model's card and config (or, with ``options.full`` or patterns, its files) into
    the local store, then push it to the team bucket (see :class:`LocalizeOptions`).

    An abbreviated commit id (7+ hex digits) means the full commit it abbreviates, when that is
    unambiguous.
    """
    check_make_public(config, options)
    repo_id = parse_repo_id(model_id)
    hub = online_hub(config) if options.allow_hub else None
    wanted = validate_revision(revision or DEFAULT_REVISION)
    request = LocalizeRequest(
        repo_type="model",
        repo_id=repo_id,
        revision=full_revision(local_stores(config, "model"), hub, "model", repo_id, wanted),
        selection=Selection(full=options.selects_files, include=options.include, exclude=options.exclude),
        metadata_files=MODEL_METADATA_FILES,
        options=options,
    )
    return localize_request(config, request, hub=hub, progress=progress)


# --- reading the store --------------------------------------------------------------------------


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
        return self.in_left != self.in_right or not _same_value(self.left, self.right)


def _same_value(left: Any, right: Any) -> bool:
    """JSON equality: ``true`` is not ``1`` (Python's ``True == 1``), ``1`` is ``1.0``."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same_value(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_same_value, left, right))
    return bool(left == right)


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


@dataclass(frozen=True)
class ComparedConfig:
    config: dict[str, Any]
    #: "local store" or "Hub".
    source: str
    #: Why the Hub was read although the store has the model (its copy is damaged), if it was.
    note: str | None = None


def config_for_comparison(
    config: HGLocalizationConfig, model_id: str, revision: str | None = None
) -> ComparedConfig:
    """A model's config from the store, else from the Hub; and where it came from.

    A damaged local copy is skipped: the Hub is read instead, and ``note`` says so (when the Hub
    cannot be read either, the damage is the error raised: that is what a person must repair).
    """
    try:
        return ComparedConfig(read_local_config(config, model_id, revision), "local store")
    except DamagedRevisionError as damaged:
        try:
            fetched = fetch_config(config, model_id, revision)
        except HGLocalizationError as exc:
            damaged.message = f"{damaged.message} The Hub could not be read instead: {exc.message}"
            damaged.args = (damaged.message,)
            raise damaged from exc
        return ComparedConfig(fetched, "Hub", note=f"{damaged.message} Its config was read from the Hub.")
    except (NotLocalizedError, EntryNotFoundError):
        return ComparedConfig(fetch_config(config, model_id, revision), "Hub")
