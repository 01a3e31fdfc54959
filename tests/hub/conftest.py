"""Fixtures of the hub/ tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from huggingface_hub import close_session


@pytest.fixture
def fresh_session(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No proxy from the machine, and huggingface_hub's session without other tests' cookies."""
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    close_session()
    yield
    close_session()
