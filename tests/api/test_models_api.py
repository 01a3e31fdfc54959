"""The Python API keeps the seed's names and shapes: tuples and dicts, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import hg_localization
from hg_localization import (
    HGLocalizationConfig,
    download_model_metadata,
    get_cached_model_card_content,
    get_cached_model_config_content,
    get_model_card_content,
    get_model_config_content,
    list_local_models,
)


@pytest.fixture
def config(tmp_path: Path, hub_server: Any) -> HGLocalizationConfig:
    return HGLocalizationConfig(models_store_path=tmp_path / "models", hf_endpoint=hub_server.url)


def test_the_public_names_are_exported() -> None:
    for name in hg_localization.__all__:
        assert hasattr(hg_localization, name)
    assert hg_localization.__all__ == sorted(hg_localization.__all__)


def test_download_model_metadata_returns_success_and_path(
    config: HGLocalizationConfig, hub_server: Any
) -> None:
    ok, path = download_model_metadata(hub_server.samples.bert, config=config)
    assert ok
    assert Path(path).is_dir()
    assert (Path(path) / "model_card.md").is_file()
    assert not (Path(path) / "model.safetensors").exists()

    ok, path = download_model_metadata(hub_server.samples.bert, metadata_only=False, config=config)
    assert ok and (Path(path) / "model.safetensors").is_file()


def test_download_model_metadata_returns_the_error_message(config: HGLocalizationConfig) -> None:
    ok, message = download_model_metadata("hgloc-test/missing", config=config)
    assert not ok
    assert "hgloc-test/missing" in message

    ok, message = download_model_metadata("../escape", config=config)
    assert not ok and "relative" in message


def test_skip_hf_fetch_uses_only_the_store(config: HGLocalizationConfig, hub_server: Any) -> None:
    ok, message = download_model_metadata(hub_server.samples.bert, skip_hf_fetch=True, config=config)
    assert not ok and "not in the local store" in message
    assert download_model_metadata(hub_server.samples.bert, config=config)[0]
    assert download_model_metadata(hub_server.samples.bert, skip_hf_fetch=True, config=config)[0]


def test_listing_and_reading_the_store(config: HGLocalizationConfig, hub_server: Any) -> None:
    bert = hub_server.samples.bert
    assert list_local_models(config=config) == []
    assert get_cached_model_card_content(bert, config=config) is None
    download_model_metadata(bert, config=config)

    (entry,) = list_local_models(config=config)
    assert {"model_id", "revision", "has_card", "has_config", "path"} <= set(entry)
    assert entry["model_id"] == bert and entry["revision"] == "main"
    assert entry["has_card"] and entry["has_config"]

    card = get_cached_model_card_content(bert, config=config)
    assert card is not None and card.startswith("---")
    cached_config = get_cached_model_config_content(bert, config=config)
    assert cached_config is not None and cached_config["model_type"] == "bert"


def test_reading_from_the_hub_caches_nothing(config: HGLocalizationConfig, hub_server: Any) -> None:
    bert = hub_server.samples.bert
    assert get_model_card_content(bert, config=config) == hub_server.samples.files(bert)["README.md"].decode()
    fetched = get_model_config_content(bert, config=config)
    assert fetched is not None and fetched["model_type"] == "bert"
    assert get_model_config_content("hgloc-test/missing", config=config) is None
    assert not config.models_store_path.exists()


def test_the_environment_configures_the_api(
    tmp_path: Path, hub_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HGLOC_MODELS_STORE_PATH", str(tmp_path / "from-env"))
    monkeypatch.setenv("HGLOC_HF_ENDPOINT", hub_server.url)
    ok, path = download_model_metadata(hub_server.samples.bert)
    assert ok and Path(path).is_relative_to(tmp_path / "from-env")
