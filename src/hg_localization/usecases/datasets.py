"""Use cases for datasets: localize (whole repo or one config), list, read cards.

A dataset is stored as the repository has it (parquet, csv, json, the README with its
``configs:`` YAML), so the store can be served back through the Hub API and
``datasets.load_dataset`` works against it with ``HF_ENDPOINT``. Loading from the store without
a network, and saving a ``datasets.Dataset`` into it, are in :mod:`.dataset_io` (they need the
optional ``datasets`` package; nothing here does).

Before anything is downloaded the repo is looked at once (its file list and card) to refuse
datasets that need a loading script, and to turn ``--name CONFIG`` into the file patterns of
that config.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import EntryNotFoundError, InvalidInputError, NotLocalizedError, UpstreamError
from hg_localization.hub.client import HubClient, RemoteRevision
from hg_localization.hub.patterns import matching
from hg_localization.ids import RepoId, is_commit_sha, parse_repo_id, validate_revision
from hg_localization.store.damaged import DamagedRevision
from hg_localization.store.local_store import LocalStore, StoredRevision
from hg_localization.store.manifest import Selection
from hg_localization.usecases.dataset_configs import (
    CARD_FILENAME,
    DatasetConfig,
    available_configs,
    find_config,
    loading_script,
    parse_card,
)
from hg_localization.usecases.dataset_files import is_data_file
from hg_localization.usecases.localize import LocalizeOutcome, LocalizeRequest
from hg_localization.usecases.progress import SILENT, ProgressListener
from hg_localization.usecases.repos import (
    DEFAULT_REVISION,
    METADATA_ONLY,
    OFFLINE_HINT,
    Contents,
    at_commit,
    check_make_public,
    contents_of,
    find_local_revision,
    full_revision,
    listed,
    local_store,
    local_stores,
    localize_request,
    online_hub,
    read_hub_file,
)

DATASET_METADATA_FILES = (CARD_FILENAME,)


def dataset_store(config: HGLocalizationConfig) -> LocalStore:
    return local_store(config, "dataset")


def localize_dataset(
    dataset_id: str,
    revision: str | None = None,
    *,
    config: HGLocalizationConfig,
    config_name: str | None = None,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    force: bool = False,
    push: bool = True,
    make_public: bool = False,
    allow_private_public: bool = False,
    progress: ProgressListener = SILENT,
) -> LocalizeOutcome:
    """Bring a dataset into the local store: every file, or (``config_name``) one config's files.

    ``make_public`` refuses a private or gated upstream repo (the local copy is kept) unless
    ``allow_private_public``.
    """
    include, exclude = tuple(include), tuple(exclude)
    if config_name is not None and include:
        raise InvalidInputError(
            "A config name and --include patterns cannot be combined.",
            hint="--name CONFIG already selects that config's files; narrow it with --exclude.",
        )
    check_make_public(config, make_public=make_public, push=push, allow_private_public=allow_private_public)
    repo_id = parse_repo_id(dataset_id)
    stores = local_stores(config, "dataset")
    hub = online_hub(config)
    revision = full_revision(stores, hub, "dataset", repo_id, validate_revision(revision or DEFAULT_REVISION))
    selection = _plan_selection(hub, stores, repo_id, revision, config_name, include, exclude)
    request = LocalizeRequest(
        repo_type="dataset",
        repo_id=repo_id,
        revision=revision,
        selection=selection,
        metadata_files=DATASET_METADATA_FILES,
        force=force,
        push=push,
        make_public=make_public,
        allow_private_public=allow_private_public,
    )
    return localize_request(config, request, hub=hub, progress=progress)


def _plan_selection(
    hub: HubClient | None,
    stores: Sequence[LocalStore],
    repo_id: RepoId,
    revision: str,
    config_name: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
) -> Selection:
    """What to fetch, decided from the repo's file list and card (one look before any download).

    Without the Hub (unreachable, or HF_HUB_OFFLINE), the local copy's card and files decide.
    """
    if hub is None:
        offline = _selection_without_hub(stores, repo_id, revision, config_name, include, exclude)
        if offline is None:
            missing = NotLocalizedError(str(repo_id), revision, "dataset")
            missing.hint = OFFLINE_HINT
            raise missing
        return offline
    try:
        remote = hub.resolve("dataset", repo_id, revision)
    except UpstreamError:
        # The Hub cannot be reached: the store or the team bucket may still have what is asked.
        fallback = _selection_without_hub(stores, repo_id, revision, config_name, include, exclude)
        if fallback is None:
            raise
        return fallback
    paths = [f.path for f in remote.files]
    card_data = _remote_card_data(hub, remote)
    script = loading_script(repo_id.name, paths, card_data)
    if script is not None:
        raise InvalidInputError(
            f"The dataset '{repo_id}' needs a loading script ({script}); "
            "hg-localization does not run remote code, so it was not localized.",
            hint="If the repo has a parquet conversion, localize that instead: "
            "--revision refs/convert/parquet",
        )
    if config_name is None:
        selection = Selection(full=True, include=include, exclude=exclude)
    else:
        chosen = find_config(available_configs(card_data, paths), config_name, str(repo_id))
        selection = config_selection(chosen, exclude)
    _require_data_files(repo_id, paths, selection)
    return selection


def config_selection(chosen: DatasetConfig, exclude: tuple[str, ...] = ()) -> Selection:
    """The files of one config, and the card (so the copy still says how it splits)."""
    return Selection(
        full=True,
        include=(*chosen.download_patterns(), CARD_FILENAME),
        exclude=exclude,
        config_name=chosen.name,
    )


def _selection_without_hub(
    stores: Sequence[LocalStore],
    repo_id: RepoId,
    revision: str,
    config_name: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
) -> Selection | None:
    """The selection, from the local copy's card and file list when a config is named."""
    if config_name is None:
        return Selection(full=True, include=include, exclude=exclude)
    existing = next((s for store in stores if (s := store.get(repo_id, revision)) is not None), None)
    if existing is None and is_commit_sha(revision):
        existing = at_commit([s for store in stores for s in store.revisions_of(repo_id)], revision)
    if existing is None:
        return None  # the config's files are only known from a card
    recorded = next((s for s in existing.manifest.selections if s.config_name == config_name), None)
    card = stored_card_text(existing)
    if recorded is not None or card is None:
        return recorded
    paths = [record.path for record in existing.manifest.files]
    chosen = find_config(available_configs(parse_card(card), paths), config_name, str(repo_id))
    return config_selection(chosen, exclude)


def _remote_card_data(hub: HubClient, remote: RemoteRevision) -> dict[str, Any]:
    if remote.file(CARD_FILENAME) is None:
        return {}
    data = hub.read_file("dataset", remote.repo_id, remote.commit, CARD_FILENAME)
    return parse_card(data.decode("utf-8", errors="replace"))


def _require_data_files(repo_id: RepoId, paths: list[str], selection: Selection) -> None:
    """Refuse a selection that would store a card and no data (a typo in a pattern, an empty config)."""
    matched = matching([p for p in paths if p != CARD_FILENAME], selection.include, selection.exclude)
    if any(is_data_file(p) for p in matched):
        return
    if selection.config_name is not None:
        raise InvalidInputError(f"The config '{selection.config_name}' of '{repo_id}' has no data files.")
    if selection.include or selection.exclude:
        raise InvalidInputError(
            f"No data file of '{repo_id}' matches the --include/--exclude patterns.",
            hint="Patterns match whole repo paths, e.g. 'data/*.parquet'.",
        )
    raise InvalidInputError(f"The dataset '{repo_id}' has no data files.")


# --- reading the store --------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalDataset:
    """One revision folder of the store: complete, or damaged (``problem`` says why, ``hint`` how
    to repair it; it is never used, and what its metadata file said is unknown)."""

    dataset_id: str
    revision: str
    commit: str
    #: Configs fetched by name; empty when the whole repo was fetched.
    config_names: tuple[str, ...]
    full: bool
    has_card: bool
    files: int
    size: int
    path: str
    public: bool
    source: str
    problem: str | None = None
    hint: str | None = None
    #: The bucket id of the store scope it is in (None: the unscoped store).
    scope: str | None = None
    contents: Contents = METADATA_ONLY

    @property
    def status(self) -> str:
        return "complete" if self.problem is None else "damaged"

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset_id": self.dataset_id,
            "revision": self.revision,
            "status": self.status,
            "commit": self.commit,
            "config_names": list(self.config_names),
            "full": self.full,
            "has_card": self.has_card,
            "files": self.files,
            "size": self.size,
            "path": self.path,
            "is_public": self.public,
            "source": self.source,
            "problem": self.problem,
            "hint": self.hint,
            "bucket_scope": self.scope,
            **self.contents.as_dict(),
        }


def list_datasets(config: HGLocalizationConfig) -> list[LocalDataset]:
    """Every revision folder of every scope of the dataset store, by id then revision (then scope,
    in lookup order); damaged ones included."""
    found = [
        _describe(item, scope) if isinstance(item, StoredRevision) else _describe_damaged(item, scope)
        for scope, item in listed(config, "dataset")
    ]
    return sorted(found, key=lambda d: (d.dataset_id, d.revision))


def _describe_damaged(damaged: DamagedRevision, scope: str | None) -> LocalDataset:
    return LocalDataset(
        dataset_id=damaged.repo_id,
        revision=damaged.revision,
        commit="",
        config_names=(),
        full=False,
        has_card=False,
        files=0,
        size=0,
        path=str(damaged.path),
        public=False,
        source="",
        problem=damaged.reason,
        hint=damaged.hint,
        scope=scope,
    )


def _describe(stored: StoredRevision, scope: str | None) -> LocalDataset:
    manifest = stored.manifest
    whole = any(
        s.full and not s.include and not s.exclude and s.config_name is None for s in manifest.selections
    )
    names = sorted({s.config_name for s in manifest.selections if s.config_name is not None})
    return LocalDataset(
        dataset_id=manifest.repo_id,
        revision=manifest.revision,
        commit=manifest.commit,
        config_names=() if whole else tuple(names),
        full=whole,
        has_card=manifest.file(CARD_FILENAME) is not None,
        files=len(manifest.files),
        size=manifest.total_size,
        path=str(stored.path),
        public=manifest.public,
        source=manifest.source,
        scope=scope,
        contents=contents_of(manifest),
    )


def read_local_card(config: HGLocalizationConfig, dataset_id: str, revision: str | None = None) -> str:
    stored = find_local_revision(config, "dataset", dataset_id, revision)
    return stored_card_text(stored) or _no_card(stored)


def stored_card_text(stored: StoredRevision) -> str | None:
    record = stored.manifest.file(CARD_FILENAME)
    if record is None:
        return None
    return stored.file_path(record.local_path).read_text(encoding="utf-8", errors="replace")


def _no_card(stored: StoredRevision) -> str:
    raise EntryNotFoundError(stored.manifest.repo_id, CARD_FILENAME, stored.manifest.revision)


def fetch_card(config: HGLocalizationConfig, dataset_id: str, revision: str | None = None) -> str:
    """A dataset's card read from the Hub (nothing is cached)."""
    data = read_hub_file(config, "dataset", dataset_id, revision, CARD_FILENAME)
    return data.decode("utf-8", errors="replace")
