"""Localizing a dataset: the whole repo, or one config (``--name``), into the local store.

A dataset is stored as the repository has it (parquet, csv, json, the README with its
``configs:`` YAML), so the store can be served back through the Hub API and
``datasets.load_dataset`` works against it with ``HF_ENDPOINT``. Loading from the store without
a network and saving a ``datasets.Dataset`` into it are :mod:`.loading` and :mod:`.saving` (they
need the optional ``datasets`` package; nothing here does); reading cards is :mod:`.cards`.

Before anything is downloaded the repo is looked at once (its file list and card) to refuse
datasets that need a loading script, and to turn ``--name CONFIG`` into the file patterns of
that config.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hg_localization.config import HGLocalizationConfig
from hg_localization.datasets.cards import stored_card_text
from hg_localization.datasets.configs import (
    CARD_FILENAME,
    DatasetConfig,
    available_configs,
    find_config,
    loading_script,
    parse_card,
)
from hg_localization.datasets.files import is_data_file
from hg_localization.errors import InvalidInputError, NotLocalizedError, UpstreamError
from hg_localization.hub.client import HubClient, RemoteRevision
from hg_localization.hub.patterns import matching
from hg_localization.ids import RepoId, is_commit_sha, parse_repo_id, validate_revision
from hg_localization.progress import SILENT, ProgressListener
from hg_localization.store.layout import METADATA_FILES
from hg_localization.store.local_store import LocalStore
from hg_localization.store.manifest import Selection
from hg_localization.usecases.listing import local_stores
from hg_localization.usecases.localize import LocalizeOutcome, LocalizeRequest
from hg_localization.usecases.options import DEFAULTS, LocalizeOptions
from hg_localization.usecases.repos import (
    DEFAULT_REVISION,
    OFFLINE_HINT,
    at_commit,
    check_make_public,
    full_revision,
    localize_request,
    online_hub,
)

DATASET_METADATA_FILES = METADATA_FILES["dataset"]


def localize_dataset(
    dataset_id: str,
    revision: str | None = None,
    options: LocalizeOptions = DEFAULTS,
    *,
    config: HGLocalizationConfig,
    config_name: str | None = None,
    progress: ProgressListener = SILENT,
) -> LocalizeOutcome:
    """Bring a dataset into the local store: every file, or (``config_name``) one config's files,
    then push it to the team bucket (see :class:`LocalizeOptions`; ``full`` is for models).

    ``config_name`` is not an option: like the revision it names part of the repo, and is
    resolved against the repo's card into the files to fetch (the options say how to fetch them).
    """
    if config_name is not None and options.include:
        raise InvalidInputError(
            "A config name and --include patterns cannot be combined.",
            hint="--name CONFIG already selects that config's files; narrow it with --exclude.",
        )
    check_make_public(config, options)
    repo_id = parse_repo_id(dataset_id)
    stores = local_stores(config, "dataset")
    hub = online_hub(config) if options.allow_hub else None
    revision = full_revision(stores, hub, "dataset", repo_id, validate_revision(revision or DEFAULT_REVISION))
    try:
        selection = _plan_selection(hub, stores, repo_id, revision, config_name, options)
    except NotLocalizedError as exc:
        if config.offline:
            exc.hint = OFFLINE_HINT
        raise
    request = LocalizeRequest(
        repo_type="dataset",
        repo_id=repo_id,
        revision=revision,
        selection=selection,
        metadata_files=DATASET_METADATA_FILES,
        options=options,
    )
    return localize_request(config, request, hub=hub, progress=progress)


def _plan_selection(
    hub: HubClient | None,
    stores: Sequence[LocalStore],
    repo_id: RepoId,
    revision: str,
    config_name: str | None,
    options: LocalizeOptions,
) -> Selection:
    """What to fetch, decided from the repo's file list and card (one look before any download).

    Without the Hub (unreachable, not allowed, or HF_HUB_OFFLINE), the local copy's card and
    files decide.
    """
    include, exclude = options.include, options.exclude
    if hub is None:
        offline = _selection_without_hub(stores, repo_id, revision, config_name, include, exclude)
        if offline is None:
            raise NotLocalizedError(str(repo_id), revision, "dataset")
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
