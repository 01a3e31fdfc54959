"""Fixtures shared by every suite: a clean environment, the sample repos, the test Hub server.

No test reaches the public Hub: before anything imports huggingface_hub (which reads its
constants once, at import), ``HF_ENDPOINT`` points at a port where nothing listens and the
cache and token paths point into a temporary folder. Tests that use a real client pass
``endpoint=hub_server.url`` (or ``HfApi(endpoint=…)``), or run it in a subprocess with
``HF_ENDPOINT`` set (``helpers.clients.run_python``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

# --- before any Hub client is imported ---------------------------------------------------------
_CLEARED_PREFIXES = ("HF_", "HUGGINGFACE_", "HUGGING_FACE_", "TRANSFORMERS_", "HGLOC_", "AWS_")
for _name in list(os.environ):
    if _name.startswith(_CLEARED_PREFIXES):
        del os.environ[_name]
_SESSION_HF_HOME = Path(tempfile.mkdtemp(prefix="hgloc-tests-hf-home-"))

from helpers.servers import DEAD_ENDPOINT, PRIVATE_TOKEN, HubServer, run_server  # noqa: E402


def _hub_client_environment(hf_home: Path) -> dict[str, str]:
    return {
        "HF_HOME": str(hf_home),
        "HF_HUB_CACHE": str(hf_home / "hub"),
        "HF_ENDPOINT": DEAD_ENDPOINT,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


os.environ.update(_hub_client_environment(_SESSION_HF_HOME))

# Only now: the server modules may import huggingface_hub, which reads the variables above once.
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

# The machines are shared (2 cores, other suites running): a property test is judged by what it
# finds, never by how long an example took.
settings.register_profile(
    "shared-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.load_profile("shared-machine")

from hg_localization.server.app import create_app  # noqa: E402
from hg_localization.server.auth import ServerTokens  # noqa: E402
from hg_localization.server.folder_source import FolderSource  # noqa: E402

from helpers.sample_repos import SampleRepos, write_sample_repos  # noqa: E402
from helpers.weights_fixtures import WeightsHub, serve_weights_hub  # noqa: E402


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_SESSION_HF_HOME, ignore_errors=True)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every test starts without tokens, HGLOC_* or AWS_* settings, with its own HF_HOME.

    ``HF_ENDPOINT`` points where nothing listens: give clients the test server's URL explicitly.
    """
    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES):
            monkeypatch.delenv(name)
    for name, value in _hub_client_environment(tmp_path / "hf-home").items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="session")
def sample_repos(tmp_path_factory: pytest.TempPathFactory) -> SampleRepos:
    """The sample repos (``helpers.sample_repos``), written once. Do not modify them."""
    return write_sample_repos(tmp_path_factory.mktemp("sample-repos"))


@pytest.fixture(scope="session")
def sample_repos_dir(sample_repos: SampleRepos) -> Path:
    """The folder of repos (``models/…``, ``datasets/…``) the sample repos were written to."""
    return sample_repos.directory


@pytest.fixture(scope="session")
def hub_server(sample_repos: SampleRepos) -> Iterator[HubServer]:
    """``create_app(FolderSource.for_repos_dir(…))``; ``token`` reads the private repo."""
    app = create_app(
        FolderSource.for_repos_dir(sample_repos.directory),
        tokens=ServerTokens(read=frozenset({PRIVATE_TOKEN})),
    )
    with run_server(app) as url:
        yield HubServer(url=url, repos_dir=sample_repos.directory, token=PRIVATE_TOKEN, samples=sample_repos)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[WeightsHub]:
    """A writable test Hub for weight repos, empty, one per test (``helpers.weights_fixtures``).

    A module that needs more (a repo already there, ``HF_ENDPOINT`` set) overrides it with a
    fixture of the same name that takes this one.
    """
    with serve_weights_hub(tmp_path) as running:
        yield running
