"""Fixtures of the catalog tests: the catalog over the sample repos, as a test client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from catalog.support import TOKENS
from hg_localization.catalog import catalog_app
from hg_localization.server.auth import ServerTokens
from hg_localization.server.folder_source import FolderSource

from helpers.sample_repos import SampleRepos
from helpers.servers import PRIVATE_TOKEN, HubServer, run_server


@pytest.fixture(scope="session")
def hub_server(sample_repos: SampleRepos) -> Iterator[HubServer]:
    """The root conftest's Hub of the sample repos, with the web catalog mounted (``catalog_app``)."""
    source = FolderSource.for_repos_dir(sample_repos.directory)
    with run_server(catalog_app(source, tokens=ServerTokens(read=frozenset({PRIVATE_TOKEN})))) as url:
        yield HubServer(url=url, repos_dir=sample_repos.directory, token=PRIVATE_TOKEN, samples=sample_repos)


@pytest.fixture(scope="module")
def sample_app(sample_repos: SampleRepos) -> Any:
    return catalog_app(FolderSource.for_repos_dir(sample_repos.directory), tokens=TOKENS)


@pytest.fixture
def client(sample_app: Any) -> Iterator[TestClient]:
    """The catalog over the sample repos; ``AUTH`` reads the private one."""
    with TestClient(sample_app) as test_client:
        yield test_client
