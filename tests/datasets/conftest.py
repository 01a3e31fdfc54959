"""Fixtures of the dataset tests: a store in a temp folder, pointed at the test Hub."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hg_localization.config import HGLocalizationConfig


@pytest.fixture
def config(tmp_path: Path, hub_server: Any) -> HGLocalizationConfig:
    return HGLocalizationConfig(
        models_store_path=tmp_path / "store" / "models",
        datasets_store_path=tmp_path / "store" / "datasets",
        hf_endpoint=hub_server.url,
    )
