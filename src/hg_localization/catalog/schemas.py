"""The JSON the catalog API answers with: pydantic models, so the OpenAPI description is theirs."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel

from hg_localization.catalog.collection_views import CollectionView, EntryView
from hg_localization.catalog.model import Kind, RefKind, RepoEntry, RevisionEntry
from hg_localization.catalog.paths import repo_url
from hg_localization.ids import RepoType


class ErrorOut(BaseModel):
    error: str


class FileOut(BaseModel):
    path: str
    size: int
    sha256: str
    lfs: bool


class RevisionOut(BaseModel):
    name: str
    ref: RefKind
    commit: str
    kind: Kind
    include: list[str]
    exclude: list[str]
    public: bool
    private: bool
    origin: str
    last_modified: datetime
    size: int
    file_count: int

    @classmethod
    def of(cls, revision: RevisionEntry) -> RevisionOut:
        return cls(
            name=revision.name,
            ref=revision.ref,
            commit=revision.commit,
            kind=revision.kind,
            include=list(revision.include),
            exclude=list(revision.exclude),
            public=revision.public,
            private=revision.private,
            origin=revision.origin,
            last_modified=revision.last_modified,
            size=revision.size,
            file_count=len(revision.files),
        )


class RepoOut(BaseModel):
    id: str
    type: RepoType
    author: str | None
    private: bool
    url: str
    source: str
    also_in: list[str]
    tags: list[str]
    license: str | None
    pipeline_tag: str | None
    library_name: str | None
    default_revision: RevisionOut | None
    revision_count: int

    @classmethod
    def of(cls, repo: RepoEntry) -> RepoOut:
        return cls(
            id=repo.repo_id,
            type=repo.repo_type,
            author=repo.author,
            private=repo.hidden,
            url=repo_url(repo.repo_type, repo.repo_id),
            source=repo.source,
            also_in=list(repo.also_in),
            tags=list(repo.card.tags),
            license=repo.card.license,
            pipeline_tag=repo.card.pipeline_tag,
            library_name=repo.card.library_name,
            default_revision=RevisionOut.of(repo.default) if repo.default else None,
            revision_count=len(repo.revisions),
        )


class RepoListOut(BaseModel):
    items: list[RepoOut]
    total: int
    offset: int
    limit: int


class SnippetOut(BaseModel):
    title: str
    code: str


class RepoDetailOut(BaseModel):
    repo: RepoOut
    revision: RevisionOut
    revisions: list[RevisionOut]
    files: list[FileOut]
    card_html: str
    card_truncated: bool
    card_data: dict[str, Any]
    config: dict[str, Any] | None
    config_problem: str | None
    snippets: list[SnippetOut]


class SideOut(BaseModel):
    id: str
    revision: str
    commit: str


class CompareRowOut(BaseModel):
    key: str
    #: The value as JSON text (``true``, ``0.1``, ``"gelu"``); null when the key is absent.
    a: str | None
    b: str | None
    differs: bool


class CompareOut(BaseModel):
    a: SideOut
    b: SideOut
    differing: int
    rows: list[CompareRowOut]


class StatsOut(BaseModel):
    models: int
    datasets: int
    revisions: int
    size: int
    by_kind: dict[str, int]
    by_source: dict[str, int]
    sources: list[str]


class CollectionEntryOut(BaseModel):
    type: RepoType
    id: str
    #: The revision the manifest asks for (a branch, tag or commit).
    revision: str
    #: What the entry selects, in words ("card + config", "every file matching *.json").
    selects: str
    state: Literal["present", "missing"]
    #: The commit this server serves for the revision (null: missing).
    commit: str | None
    kind: Kind | None
    #: The repo's page on this server (null: missing).
    url: str | None
    #: The commit the lock pins the entry to (null: not locked).
    locked_commit: str | None
    matches_lock: bool | None

    @classmethod
    def of(cls, item: EntryView) -> CollectionEntryOut:
        entry, revision = item.entry, item.revision
        return cls(
            type=entry.repo_type,
            id=entry.repo_id,
            revision=entry.revision,
            selects=entry.describe_selection(),
            state=item.state,
            commit=revision.commit if revision else None,
            kind=revision.kind if revision else None,
            url=repo_url(entry.repo_type, entry.repo_id) if revision else None,
            locked_commit=item.locked_commit,
            matches_lock=item.matches_lock,
        )


class CollectionSummaryOut(BaseModel):
    name: str
    description: str
    public: bool
    models: int
    datasets: int
    #: Entries this server holds (the revision asked for), of ``total``.
    present: int
    total: int
    url: str

    @classmethod
    def of(cls, view: CollectionView) -> CollectionSummaryOut:
        collection = view.collection
        return cls(
            name=collection.name,
            description=collection.description,
            public=collection.public,
            models=len(collection.of_type("model")),
            datasets=len(collection.of_type("dataset")),
            present=view.present,
            total=view.total,
            url=f"/collections/{quote(collection.name, safe='')}",
        )


class CollectionListOut(BaseModel):
    items: list[CollectionSummaryOut]


class CollectionOut(CollectionSummaryOut):
    entries: list[CollectionEntryOut]

    @classmethod
    def of_view(cls, view: CollectionView) -> CollectionOut:
        summary = CollectionSummaryOut.of(view)
        return cls(**summary.model_dump(), entries=[CollectionEntryOut.of(item) for item in view.entries])


def jsonable(value: Any, depth: int = 0) -> Any:
    """A YAML or JSON value as plain JSON: string keys, no NaN, anything else as text."""
    if depth > 50:
        return "…"
    if isinstance(value, dict):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v, depth + 1) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
