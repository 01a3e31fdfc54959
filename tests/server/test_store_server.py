"""Serving the local store: what was localized is what the unmodified client gets, and no more."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi, snapshot_download
from huggingface_hub.errors import HfHubHTTPError

from hg_localization.config import HGLocalizationConfig
from hg_localization.server.app import create_app
from hg_localization.server.auth import ServerTokens
from hg_localization.server.store_source import StoreSource
from hg_localization.usecases import models
from hg_localization.usecases.options import LocalizeOptions

from helpers.servers import PRIVATE_TOKEN, run_server

TEAM_TOKEN = "team-read-token"


@pytest.fixture
def store_config(tmp_path: Path, hub_server: Any) -> HGLocalizationConfig:
    return HGLocalizationConfig(
        models_store_path=tmp_path / "models",
        datasets_store_path=tmp_path / "datasets",
        hf_endpoint=hub_server.url,
        hf_token=PRIVATE_TOKEN,
    )


def serve_store(config: HGLocalizationConfig, tokens: ServerTokens | None = None) -> Any:
    source = StoreSource.for_store(config.models_store_path, config.datasets_store_path)
    return run_server(create_app(source, tokens=tokens))


def test_a_model_private_upstream_needs_a_token_from_the_store_server(
    store_config: HGLocalizationConfig, hub_server: Any, tmp_path: Path
) -> None:
    private = hub_server.samples.private
    models.localize_model(private, config=store_config, options=LocalizeOptions(full=True))
    models.localize_model(hub_server.samples.bert, config=store_config)
    with serve_store(store_config, ServerTokens(read=frozenset({TEAM_TOKEN}))) as url:
        with pytest.raises(HfHubHTTPError) as info:
            HfApi(endpoint=url).model_info(private)
        assert info.value.response.status_code == 401
        listed = [m.id for m in HfApi(endpoint=url).list_models()]
        assert hub_server.samples.bert in listed and private not in listed

        path = snapshot_download(private, endpoint=url, token=TEAM_TOKEN, cache_dir=str(tmp_path / "cache"))
        assert (Path(path) / "config.json").is_file()


def test_a_commit_is_served_from_the_fullest_folder_at_that_commit(
    store_config: HGLocalizationConfig, hub_server: Any, tmp_path: Path
) -> None:
    """Main localized in full, the same commit also metadata-only under its own name."""
    bert = hub_server.samples.bert
    full = models.localize_model(bert, config=store_config, options=LocalizeOptions(full=True))
    commit = full.stored.manifest.commit
    pinned = models.localize_model(bert, commit, config=store_config)
    assert pinned.stored.path.name == commit and not pinned.stored.manifest.full
    with serve_store(store_config) as url:
        assert "model.safetensors" in HfApi(endpoint=url).list_repo_files(bert, revision=commit)
        path = snapshot_download(bert, endpoint=url, cache_dir=str(tmp_path / "cache"))
    assert (Path(path) / "model.safetensors").is_file()
