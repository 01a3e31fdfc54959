"""Fixtures for use-case tests: a store in a temp folder, pointed at the test Hub."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hg_localization.config import HGLocalizationConfig
from hg_localization.server.app import create_app
from hg_localization.server.auth import ServerTokens
from hg_localization.server.folder_source import FolderSource

from helpers.asgi import RequestRecorder
from helpers.servers import PRIVATE_TOKEN, run_server


def store_config(tmp_path: Path, hub_url: str) -> HGLocalizationConfig:
    """A store in ``tmp_path/store`` whose upstream Hub is ``hub_url``."""
    return HGLocalizationConfig(
        models_store_path=tmp_path / "store" / "models",
        datasets_store_path=tmp_path / "store" / "datasets",
        hf_endpoint=hub_url,
    )


@pytest.fixture
def config(tmp_path: Path, hub_server: Any) -> HGLocalizationConfig:
    return store_config(tmp_path, hub_server.url)


@dataclass
class RecordedHub:
    url: str
    recorder: RequestRecorder
    repos_dir: Path


@pytest.fixture
def recorded_hub(tmp_path: Path, hub_server: Any) -> Iterator[RecordedHub]:
    """A Hub over a private copy of the sample repos (tests may change it), recording requests."""
    repos_dir = tmp_path / "upstream"
    shutil.copytree(hub_server.repos_dir, repos_dir)
    source = FolderSource.for_repos_dir(repos_dir)
    recorder = RequestRecorder(create_app(source, tokens=ServerTokens(read=frozenset({PRIVATE_TOKEN}))))
    with run_server(recorder) as url:
        yield RecordedHub(url=url, recorder=recorder, repos_dir=repos_dir)


@pytest.fixture
def recorded_config(tmp_path: Path, recorded_hub: RecordedHub) -> HGLocalizationConfig:
    return store_config(tmp_path, recorded_hub.url)
