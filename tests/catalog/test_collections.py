"""``/collections``: the team's manifest, each entry present on this server at a commit or missing,
in the pages and the JSON API; ``serve --collections FILE`` (default: the working directory's)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from catalog.support import AUTH, TOKENS, card, write_stored
from hg_localization.catalog import catalog_app, default_catalog
from hg_localization.cli.serve import _collections_manifest, build_app
from hg_localization.collections.lock import LockedEntry, LockFile, write_lock
from hg_localization.config import HGLocalizationConfig, ServeOptions
from hg_localization.errors import InvalidInputError
from hg_localization.server.store_source import StoreSource
from hg_localization.store.manifest import Selection

CONFIG = b'{"model_type": "bert", "hidden_size": 8}'
MANIFEST = """collections:
  core:
    description: "What every team member needs"
    models:
      - id: org/full
        full: true
      - id: org/secret
        full: true
      - id: org/absent
  extra:
    public: true
    models:
      - id: org/full
        revision: v2
"""


def commit_of(repo_id: str, revision: str = "main") -> str:
    return hashlib.sha1(repo_id.encode() + revision.encode()).hexdigest()  # as write_stored makes it


@pytest.fixture
def store(tmp_path: Path) -> StoreSource:
    models = tmp_path / "store" / "models"
    readme = card("tags: [nlp]", "# Full")
    write_stored(
        models, "org/full", {"README.md": readme, "config.json": CONFIG}, selections=[Selection(full=True)]
    )
    write_stored(
        models, "org/secret", {"config.json": CONFIG}, selections=[Selection(full=True)], private=True
    )
    return StoreSource.for_store(models, tmp_path / "store" / "datasets")


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "team" / "hg-localization.yaml"
    path.parent.mkdir()
    path.write_text(MANIFEST)
    locked = [
        LockedEntry(collection="core", repo_type="model", repo_id="org/full", revision="main",
                    commit=commit_of("org/full"), full=True),
        LockedEntry(collection="core", repo_type="model", repo_id="org/secret", revision="main",
                    commit="e" * 40, full=True),
    ]  # fmt: skip
    write_lock(path.with_name("hg-localization.lock"), LockFile(entries=locked))
    return path


@pytest.fixture
def client(store: StoreSource, manifest: Path) -> TestClient:
    catalog = default_catalog(store, collections=manifest)
    return TestClient(catalog_app(store, tokens=TOKENS, catalog=catalog))


def test_the_collections_page_counts_what_this_server_holds(client: TestClient) -> None:
    page = client.get("/collections")
    assert page.status_code == 200
    assert "What every team member needs" in page.text
    assert "1 of 3 here" in page.text  # the private one counts as missing without a token
    assert "0 of 1 here" in page.text  # extra wants v2: not here
    assert "2 of 3 here" in client.get("/collections", headers=AUTH).text
    assert 'href="/collections"' in client.get("/").text  # in the navigation


def test_a_collection_page_shows_each_entry_present_at_its_commit_or_missing(client: TestClient) -> None:
    page = client.get("/collections/core")
    assert page.status_code == 200
    assert '<a class="repo-link" href="/org/full">org/full</a>' in page.text
    assert commit_of("org/full")[:12] in page.text and "Present" in page.text
    assert "org/absent" in page.text and "Missing" in page.text
    assert "card + config" in page.text  # what org/absent selects
    assert 'href="/org/secret"' not in page.text  # private: missing to an anonymous visitor
    with_token = client.get("/collections/core", headers=AUTH).text
    assert 'href="/org/secret"' in with_token and "differs" in with_token  # locked at another commit


def test_the_collections_api(client: TestClient) -> None:
    listed = client.get("/api/catalog/collections").json()
    assert [(c["name"], c["present"], c["total"]) for c in listed["items"]] == [
        ("core", 1, 3),
        ("extra", 0, 1),
    ]
    core = client.get("/api/catalog/collections/core", headers=AUTH).json()
    states = {e["id"]: (e["state"], e["commit"], e["matches_lock"]) for e in core["entries"]}
    assert states == {
        "org/full": ("present", commit_of("org/full"), True),
        "org/secret": ("present", commit_of("org/secret"), False),
        "org/absent": ("missing", None, None),
    }
    assert core["entries"][0]["url"] == "/org/full"
    missing = client.get("/api/catalog/collections/nope")
    assert missing.status_code == 404 and str(Path.cwd()) not in missing.text
    assert client.get("/collections/nope").status_code == 404


def test_an_edited_manifest_is_shown_and_a_broken_one_leaves_the_last_good_one(
    client: TestClient, manifest: Path
) -> None:
    assert client.get("/collections/core").status_code == 200
    manifest.write_text(MANIFEST.replace("  extra:", "  more:"))
    os.utime(manifest, ns=(1, 1))  # another signature, whatever the clock's resolution
    assert client.get("/collections/more").status_code == 200
    manifest.write_text("collections: [")
    assert client.get("/collections/more").status_code == 200


def test_a_server_without_a_manifest_says_how_to_give_it_one(store: StoreSource) -> None:
    client = TestClient(catalog_app(store, tokens=TOKENS))
    page = client.get("/collections")
    assert page.status_code == 404 and "--collections" in page.text
    assert 'href="/collections"' not in client.get("/").text
    assert client.get("/api/catalog/collections").status_code == 404


def test_serve_collections_option_and_the_working_directorys_manifest(
    tmp_path: Path, manifest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = HGLocalizationConfig(
        models_store_path=tmp_path / "store" / "models", datasets_store_path=tmp_path / "store" / "datasets"
    )
    app, _ = build_app(ServeOptions(collections=manifest), config)
    assert "org/absent" in TestClient(app).get("/collections/core").text
    monkeypatch.chdir(manifest.parent)
    assert _collections_manifest(None) == manifest
    assert _collections_manifest(Path("other.yaml")) == manifest.parent / "other.yaml"
    monkeypatch.chdir(tmp_path)
    assert _collections_manifest(None) is None
    (tmp_path / "bad.yaml").write_text("collections:\n  core:\n    models:\n      - id: not a repo id\n")
    with pytest.raises(InvalidInputError, match="line 4"):
        build_app(ServeOptions(collections=tmp_path / "bad.yaml"), config)
    options = ServeOptions(collections=manifest)
    assert ServeOptions.from_json(options.environment().popitem()[1]).collections == manifest
