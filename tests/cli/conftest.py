"""Fixtures for the command tests: the CLI configured as a person does, with environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def cli_stores(tmp_path: Path, hub_server: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI's environment: the stores in ``models/`` and ``datasets/`` of a temp folder (returned),
    the test Hub as upstream."""
    monkeypatch.setenv("HGLOC_MODELS_STORE_PATH", str(tmp_path / "models"))
    monkeypatch.setenv("HGLOC_DATASETS_STORE_PATH", str(tmp_path / "datasets"))
    monkeypatch.setenv("HGLOC_HF_ENDPOINT", hub_server.url)
    return tmp_path
