"""What the local store holds, as ``list-local-models`` and ``list-local-datasets`` show it.

Listing reads only the store: this module imports no Hub or bucket client, so the list commands
start in a fraction of the time a download does (bench/README.md, "start-up"). Every revision
folder is listed, damaged ones included (``problem`` says what is wrong, ``hint`` how to repair
it), from every scope of the store (:func:`local_stores`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from hg_localization.ids import RepoType
from hg_localization.store.damaged import DamagedRevision
from hg_localization.store.local_store import LocalStore, store_scopes
from hg_localization.store.summary_index import RevisionSummary, SelectionSummary, scan_summaries

if TYPE_CHECKING:
    from hg_localization.config import HGLocalizationConfig


def local_stores(config: HGLocalizationConfig, repo_type: RepoType) -> list[LocalStore]:
    """Every scope of this repo type's store, in lookup order: the configured bucket's, the
    unscoped store, the other buckets' (new copies go to the first)."""
    root = config.models_store_path if repo_type == "model" else config.datasets_store_path
    return store_scopes(root, repo_type, config.bucket_id)


def listed(
    config: HGLocalizationConfig, repo_type: RepoType
) -> list[tuple[str | None, RevisionSummary | DamagedRevision]]:
    """Every revision folder of every scope of the store (damaged ones included), in scope order,
    each with its scope: the bucket id, or None for the unscoped store. Complete ones are read
    from the store's summary index while their metadata file is unchanged (``store/summary_index``)."""
    stores = local_stores(config, repo_type)
    return [(store.scope, item) for store in stores for item in scan_summaries(store)]


# --- describing what a copy holds ------------------------------------------------------------------


@dataclass(frozen=True)
class Contents:
    """What a local copy holds: every file, the files some patterns (or configs) select, or only
    the metadata files (a model's card and config)."""

    kind: Literal["full", "filtered", "metadata"]
    filters: tuple[SelectionSummary, ...] = ()

    def describe(self) -> str:
        if self.kind != "filtered":
            return "full" if self.kind == "full" else "metadata only"
        return "filtered: " + " + ".join(_describe_filter(s) for s in self.filters)

    def as_dict(self) -> dict[str, Any]:
        return {
            "contents": self.kind,
            "filters": [
                {"include": list(s.include), "exclude": list(s.exclude), "config_name": s.config_name}
                for s in self.filters
            ],
        }


METADATA_ONLY = Contents("metadata")
_FULL = Contents("full")


def contents_of(summary: RevisionSummary) -> Contents:
    selections = summary.selections
    if any(s.full and not s.include and not s.exclude and s.config_name is None for s in selections):
        return _FULL
    filters = tuple(s for s in selections if s.full or s.config_name is not None)
    return Contents("filtered", filters) if filters else METADATA_ONLY


def _describe_filter(selection: SelectionSummary) -> str:
    if selection.config_name is not None:
        words = [f"config {selection.config_name}"]
        words += [f"--exclude {p}" for p in selection.exclude]
        return " ".join(words)
    words = [f"--include {p}" for p in selection.include] + [f"--exclude {p}" for p in selection.exclude]
    return " ".join(words)


# --- models ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalModel:
    """One revision folder of the store: complete, or damaged (``problem`` says why, ``hint`` how
    to repair it; it is never used, and what its metadata file said is unknown). ``scope`` is the
    bucket id of the store scope it is in (None: the unscoped store)."""

    model_id: str
    revision: str
    commit: str
    has_card: bool
    has_config: bool
    full: bool
    size: int
    path: str
    public: bool
    problem: str | None = None
    hint: str | None = None
    scope: str | None = None
    contents: Contents = METADATA_ONLY

    @property
    def status(self) -> str:
        return "complete" if self.problem is None else "damaged"

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "revision": self.revision,
            "status": self.status,
            "commit": self.commit,
            "has_card": self.has_card,
            "has_config": self.has_config,
            "full": self.full,
            "size": self.size,
            "path": self.path,
            "is_public": self.public,
            "problem": self.problem,
            "hint": self.hint,
            "bucket_scope": self.scope,
            **self.contents.as_dict(),
        }


def list_models(config: HGLocalizationConfig) -> list[LocalModel]:
    """Every revision folder of every scope of the model store, by id then revision (then scope,
    in lookup order); damaged ones included."""
    found = [
        _describe_model(item, scope) if isinstance(item, RevisionSummary) else _damaged_model(item, scope)
        for scope, item in listed(config, "model")
    ]
    return sorted(found, key=lambda m: (m.model_id, m.revision))


def _damaged_model(damaged: DamagedRevision, scope: str | None) -> LocalModel:
    return LocalModel(
        model_id=damaged.repo_id,
        revision=damaged.revision,
        commit="",
        has_card=False,
        has_config=False,
        full=False,
        size=0,
        path=str(damaged.path),
        public=False,
        problem=damaged.reason,
        hint=damaged.hint,
        scope=scope,
    )


def _describe_model(summary: RevisionSummary, scope: str | None) -> LocalModel:
    contents = contents_of(summary)
    return LocalModel(
        model_id=summary.repo_id,
        revision=summary.revision,
        commit=summary.commit,
        has_card=summary.has_card,
        has_config=summary.has_config,
        full=contents.kind == "full",
        size=summary.size,
        path=summary.path,
        public=summary.public,
        scope=scope,
        contents=contents,
    )


# --- datasets --------------------------------------------------------------------------------------


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
        _describe_dataset(item, scope) if isinstance(item, RevisionSummary) else _damaged_dataset(item, scope)
        for scope, item in listed(config, "dataset")
    ]
    return sorted(found, key=lambda d: (d.dataset_id, d.revision))


def _damaged_dataset(damaged: DamagedRevision, scope: str | None) -> LocalDataset:
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


def _describe_dataset(summary: RevisionSummary, scope: str | None) -> LocalDataset:
    contents = contents_of(summary)
    names = sorted({s.config_name for s in summary.selections if s.config_name is not None})
    return LocalDataset(
        dataset_id=summary.repo_id,
        revision=summary.revision,
        commit=summary.commit,
        config_names=() if contents.kind == "full" else tuple(names),
        full=contents.kind == "full",
        has_card=summary.has_card,
        files=summary.files,
        size=summary.size,
        path=summary.path,
        public=summary.public,
        source=summary.source,
        scope=scope,
        contents=contents,
    )
