"""A store revision already answered is answered again without re-reading the store, and any
change to it (its settings, its metadata, its files, a link on the way) is seen at once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from hg_localization.config import HGLocalizationConfig
from hg_localization.ids import RepoType
from hg_localization.server.app import create_app
from hg_localization.server.auth import ServerTokens
from hg_localization.server.disk_repos import REPO_SETTINGS_FILENAME
from hg_localization.server.served import ServedRepo
from hg_localization.server.store_source import StoreSource
from hg_localization.usecases import models
from hg_localization.usecases.options import LocalizeOptions

TEAM_TOKEN = "team-read-token"


class CountingSource(StoreSource):
    """The store's source, counting how often a repo is read from disk."""

    reads = 0

    def repo(self, repo_type: RepoType, repo_id: str) -> ServedRepo:
        self.reads += 1
        return super().repo(repo_type, repo_id)


@pytest.fixture
def stored(tmp_path: Path, hub_server: Any) -> tuple[HGLocalizationConfig, str, Path]:
    config = HGLocalizationConfig(
        models_store_path=tmp_path / "models",
        datasets_store_path=tmp_path / "datasets",
        hf_endpoint=hub_server.url,
    )
    bert = hub_server.samples.bert
    done = models.localize_model(bert, config=config, options=LocalizeOptions(full=True))
    return config, bert, done.stored.path


def _client(config: HGLocalizationConfig) -> tuple[TestClient, CountingSource]:
    source = CountingSource.for_store(config.models_store_path, config.datasets_store_path)
    assert isinstance(source, CountingSource)
    app = create_app(source, tokens=ServerTokens(read=frozenset({TEAM_TOKEN})))
    return TestClient(app), source


def test_an_answered_revision_is_not_read_again_until_it_changes(
    stored: tuple[HGLocalizationConfig, str, Path],
) -> None:
    config, bert, folder = stored
    client, source = _client(config)
    with client:
        url = f"/{bert}/resolve/main/config.json"
        first = [client.head(url) for _ in range(5)]
        infos = [client.get(f"/api/models/{bert}/revision/main").json() for _ in range(5)]
        assert {r.status_code for r in first} == {200}
        assert len({r.headers["etag"] for r in first}) == 1
        assert all(info == infos[0] for info in infos)
        assert source.reads == 1  # read once: every later answer checked a few stats only

        settings = folder.parent / REPO_SETTINGS_FILENAME
        settings.write_text(json.dumps({"private": True}))  # made private: refused at once
        assert client.head(url).status_code == 401
        assert client.get(f"/api/models/{bert}/revision/main").status_code == 401
        allowed = client.head(url, headers={"Authorization": f"Bearer {TEAM_TOKEN}"})
        assert allowed.status_code == 200
        assert allowed.headers["etag"] == first[0].headers["etag"]
        reads = source.reads
        assert client.head(url).status_code == 401  # answered from memory, the token checked again
        assert client.head(url, headers={"Authorization": f"Bearer {TEAM_TOKEN}"}).status_code == 200
        assert source.reads == reads

        settings.unlink()
        (folder / "config.json").unlink()  # a file gone from disk: not served from memory
        assert client.head(url).status_code == 404


def test_a_revision_folder_swapped_for_a_link_is_refused_at_once(
    stored: tuple[HGLocalizationConfig, str, Path], tmp_path: Path
) -> None:
    config, bert, folder = stored
    client, _ = _client(config)
    with client:
        url = f"/{bert}/resolve/main/config.json"
        assert client.head(url).status_code == 200
        outside = tmp_path / "outside"
        shutil.move(str(folder), str(outside))
        folder.symlink_to(outside, target_is_directory=True)  # same bytes, reached through a link
        assert client.head(url).status_code == 404
        assert client.get(f"/api/models/{bert}/revision/main").status_code == 404
