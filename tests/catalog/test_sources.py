"""The catalog's index: the store's metadata (full / filtered / metadata only, public), several
sources in one list, visibility, and an index that is rebuilt at most once per ``ttl``."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from catalog.support import AUTH, TOKENS, card, write_repo, write_stored
from hg_localization.catalog import Catalog, Query, SourceCatalog, catalog_app
from hg_localization.catalog.model import RepoEntry
from hg_localization.errors import RepoNotFoundError, StorageError
from hg_localization.ids import RepoType
from hg_localization.server.folder_source import FolderSource
from hg_localization.server.store_source import StoreSource
from hg_localization.store.manifest import Selection

CONFIG = b'{"model_type": "bert", "hidden_size": 8}'


@pytest.fixture
def store(tmp_path: Path) -> StoreSource:
    """A store with one full, one filtered, one metadata-only (public) and one private model."""
    models = tmp_path / "store" / "models"
    readme = card("tags: [nlp]\npipeline_tag: fill-mask", "# Full")
    full = {"README.md": readme, "config.json": CONFIG, "w.safetensors": b"w" * 10}
    write_stored(models, "org/full", full, selections=[Selection(full=True)])
    patterns = Selection(full=True, include=("*.safetensors",), exclude=("*.bin",))
    write_stored(
        models, "org/filtered", {"config.json": CONFIG, "w.safetensors": b"w"}, selections=[patterns]
    )
    meta = {"README.md": card("tags: [vision]", "# Meta"), "config.json": CONFIG}
    write_stored(models, "other/meta", meta, selections=[Selection()], public=True)
    write_stored(
        models, "org/secret", {"config.json": CONFIG}, selections=[Selection(full=True)], private=True
    )
    return StoreSource.for_store(models, tmp_path / "store" / "datasets")


def ids(entries: list[RepoEntry]) -> list[str]:
    return [entry.repo_id for entry in entries]


def test_the_stores_metadata_says_what_each_revision_holds(store: StoreSource) -> None:
    catalog = Catalog([SourceCatalog(store)])
    entries = {e.repo_id: e for e in catalog.visible("model", may_read=True)}
    assert entries["org/full"].default is not None and entries["org/full"].default.kind == "full"
    filtered = entries["org/filtered"].default
    assert filtered is not None and filtered.kind == "filtered"
    assert filtered.include == ("*.safetensors",) and filtered.exclude == ("*.bin",)
    meta = entries["other/meta"].default
    assert meta is not None and meta.kind == "metadata" and meta.public and meta.origin == "hub"
    assert entries["org/full"].source == "store" and entries["org/full"].card.tags == ("nlp",)


def test_filters_over_the_store(store: StoreSource) -> None:
    catalog = Catalog([SourceCatalog(store)])

    def search(**query: object) -> list[str]:
        return ids(catalog.search("model", Query(**query), may_read=False))  # type: ignore[arg-type]

    assert search() == ["org/filtered", "org/full", "other/meta"]  # the private one is hidden
    assert search(kind="metadata") == ["other/meta"]
    assert search(kind="filtered") == ["org/filtered"]
    assert search(public=True) == ["other/meta"]
    assert search(author="org") == ["org/filtered", "org/full"]
    assert search(tag="vision") == ["other/meta"]
    assert search(search="fill-mask") == ["org/full"]  # the task is searched too
    assert ids(catalog.search("model", Query(), may_read=True)) == [
        "org/filtered",
        "org/full",
        "org/secret",
        "other/meta",
    ]
    with pytest.raises(RepoNotFoundError):
        catalog.find("model", "org/secret", may_read=False)


def test_the_store_pages_show_kind_and_hide_private_revisions(store: StoreSource) -> None:
    with TestClient(catalog_app(store, tokens=TOKENS)) as client:
        assert "Metadata only" in client.get("/other/meta").text
        assert "Published to the bucket" in client.get("/other/meta").text
        listing = client.get("/api/catalog/models", params={"kind": "filtered"}).json()
        assert [item["id"] for item in listing["items"]] == ["org/filtered"]
        assert listing["items"][0]["default_revision"]["include"] == ["*.safetensors"]
        assert client.get("/org/secret").status_code == 404
        assert client.get("/org/secret", headers=AUTH).status_code == 200


class _Counting:
    """A source that counts how often it is listed, and can fail."""

    def __init__(self, inner: SourceCatalog, label: str, *, fail: bool = False) -> None:
        self.inner, self._label, self.fail, self.listed = inner, label, fail, 0

    @property
    def label(self) -> str:
        return self._label

    def list_repos(self, repo_type: RepoType) -> list[RepoEntry]:
        self.listed += 1
        if self.fail:
            raise StorageError("The bucket cannot be reached.")
        return [replace(e, source=self._label) for e in self.inner.list_repos(repo_type)]

    def repo(self, repo_type: RepoType, repo_id: str) -> RepoEntry:
        return self.inner.repo(repo_type, repo_id)

    def read_file(self, revision: object, path: str, limit: int) -> bytes | None:
        return self.inner.read_file(revision, path, limit)  # type: ignore[arg-type]


def test_sources_are_merged_first_source_first_and_one_failing_source_hides_nothing(tmp_path: Path) -> None:
    write_repo(tmp_path / "a", "org/shared", {"config.json": CONFIG})
    write_repo(tmp_path / "a", "org/only-a", {"config.json": CONFIG})
    write_repo(tmp_path / "b", "org/shared", {"config.json": CONFIG})
    write_repo(tmp_path / "b", "org/only-b", {"config.json": CONFIG})
    first = _Counting(SourceCatalog(FolderSource.for_repos_dir(tmp_path / "a")), "store")
    second = _Counting(SourceCatalog(FolderSource.for_repos_dir(tmp_path / "b")), "bucket")
    broken = _Counting(first.inner, "pull-through", fail=True)
    catalog = Catalog([first, second, broken])
    entries = {e.repo_id: e for e in catalog.visible("model", may_read=False)}
    assert sorted(entries) == ["org/only-a", "org/only-b", "org/shared"]
    assert entries["org/shared"].source == "store" and entries["org/shared"].also_in == ("bucket",)
    assert ids(catalog.search("model", Query(source="bucket"), may_read=False)) == [
        "org/only-b",
        "org/shared",
    ]


def test_the_index_is_rebuilt_at_most_once_per_ttl(tmp_path: Path) -> None:
    write_repo(tmp_path, "org/one", {"config.json": CONFIG})
    now = [100.0]
    source = _Counting(SourceCatalog(FolderSource.for_repos_dir(tmp_path)), "folder")
    catalog = Catalog([source], ttl=5.0, background=False, clock=lambda: now[0])
    for _ in range(3):
        assert ids(catalog.visible("model", may_read=False)) == ["org/one"]
    assert source.listed == 2  # models and datasets, once
    write_repo(tmp_path, "org/two", {"config.json": CONFIG})
    assert ids(catalog.visible("model", may_read=False)) == ["org/one"]
    now[0] += 5.0
    assert ids(catalog.visible("model", may_read=False)) == ["org/one", "org/two"]
    assert catalog.find("model", "org/two", may_read=False).repo_id == "org/two"  # a repo page: afresh


def test_an_expired_index_is_rebuilt_in_the_background(tmp_path: Path) -> None:
    """No page waits for a rebuild but the very first: the previous index answers meanwhile."""
    write_repo(tmp_path, "org/one", {"config.json": CONFIG})
    now = [100.0]
    catalog = Catalog([SourceCatalog(FolderSource.for_repos_dir(tmp_path))], ttl=5.0, clock=lambda: now[0])
    assert ids(catalog.visible("model", may_read=False)) == ["org/one"]
    write_repo(tmp_path, "org/two", {"config.json": CONFIG})
    now[0] += 5.0
    assert ids(catalog.visible("model", may_read=False)) == ["org/one"]  # the old index, at once
    for thread in threading.enumerate():
        if thread.name == "catalog-index":
            thread.join(timeout=60)
    assert ids(catalog.visible("model", may_read=False)) == ["org/one", "org/two"]
