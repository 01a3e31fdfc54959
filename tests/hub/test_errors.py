"""The Hub's errors become ours at one boundary; a bug in this program does not pass for the Hub's.

A programming error (here a ``TypeError`` raised where the answer is read) must reach the CLI's
"Unexpected error" presenter, which says it is a bug and how to report it, with a non-zero exit;
it must never be told as "the Hub cannot be reached" (exit 6), which would send the user to
check a network that is fine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest

from hg_localization.errors import UpstreamError
from hg_localization.hub import http
from hg_localization.hub.errors import hub_errors

from helpers.cli import run

ENDPOINT = "http://127.0.0.1:9"  # nothing listens: the tests below never get that far


def test_a_connection_failure_becomes_an_upstream_error() -> None:
    with pytest.raises(UpstreamError) as caught, hub_errors(ENDPOINT, "org/name"):
        raise httpx2.ConnectError("connection refused")
    assert caught.value.exit_code == 6
    assert "Could not reach the Hub" in caught.value.message


def test_a_programming_error_is_not_translated() -> None:
    with pytest.raises(TypeError, match="a bug"), hub_errors(ENDPOINT, "org/name"):
        raise TypeError("a bug")


def test_a_bug_reaches_the_unexpected_error_presenter_not_hub_unreachable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")

    monkeypatch.setattr(http.HubHttp, "_get_once", broken)  # our code, where a bug could be
    monkeypatch.setenv("HGLOC_MODELS_STORE_PATH", str(tmp_path / "models"))
    monkeypatch.setenv("HGLOC_HF_ENDPOINT", ENDPOINT)
    code, _out, err = run(capsys, "download-model", "org/name")
    assert code == 1
    assert "Unexpected error: TypeError" in err
    assert "report" in err and "--verbose" in err
    assert "Hub" not in err and "reach" not in err
