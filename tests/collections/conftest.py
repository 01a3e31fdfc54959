"""Fixtures for the collection tests: stores in a temp folder, the test Hub, a Hub whose ``main`` moves.

``issue_manifest`` is the manifest of the issue, on the sample repos: one model by tag (every
file), one by commit (every file), one metadata-only, and one config of a dataset.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hg_localization.config import HGLocalizationConfig
from hg_localization.server.app import create_app
from hg_localization.server.folder_source import FolderSource

from helpers.collection_fixtures import MovingHub, commit_of, store_config, write_manifest
from helpers.sample_repos import SampleRepos
from helpers.servers import DEAD_ENDPOINT, run_server


@pytest.fixture
def config(tmp_path: Path, hub_server: Any) -> HGLocalizationConfig:
    return store_config(tmp_path / "store", hub_server.url)


@pytest.fixture
def cli_env(tmp_path: Path, hub_server: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI configured as a person does (HGLOC_* variables), run from ``tmp_path/work`` (returned)."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HGLOC_MODELS_STORE_PATH", str(tmp_path / "store" / "models"))
    monkeypatch.setenv("HGLOC_DATASETS_STORE_PATH", str(tmp_path / "store" / "datasets"))
    monkeypatch.setenv("HGLOC_HF_ENDPOINT", hub_server.url)
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def issue_manifest(tmp_path: Path, hub_server: Any) -> Path:
    samples: SampleRepos = hub_server.samples
    return write_manifest(
        tmp_path / "work",
        f"""\
        collections:
          core:
            description: The issue's example
            models:
              - id: {samples.bert}
                revision: {samples.bert_tag}      # a tag
                full: true
              - id: {samples.no_config}
                revision: "{commit_of(hub_server.url, samples.no_config)}"   # a commit
                full: true
              - id: {samples.no_namespace}        # card + config only
            datasets:
              - id: {samples.dataset}
                name: numbers
        """,
    )


@pytest.fixture
def moving_hub(tmp_path: Path, hub_server: Any) -> Iterator[MovingHub]:
    repos = tmp_path / "upstream"
    shutil.copytree(hub_server.repos_dir, repos)
    with run_server(create_app(FolderSource.for_repos_dir(repos))) as url:
        yield MovingHub(url=url, samples=SampleRepos(directory=repos))


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Hub unreachable from here on (as on the far side of an air gap)."""
    monkeypatch.setenv("HGLOC_HF_ENDPOINT", DEAD_ENDPOINT)
