"""Fixtures of the catalog tests: the catalog over the sample repos, as a test client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from catalog.support import TOKENS
from hg_localization.demo.sample_repos import SampleRepos
from hg_localization.server.app import create_app
from hg_localization.server.repo_source import RepoSource


@pytest.fixture(scope="module")
def sample_app(sample_repos: SampleRepos) -> Any:
    return create_app(RepoSource.for_repos_dir(sample_repos.directory), tokens=TOKENS)


@pytest.fixture
def client(sample_app: Any) -> Iterator[TestClient]:
    """The catalog over the sample repos; ``AUTH`` reads the private one."""
    with TestClient(sample_app) as test_client:
        yield test_client
