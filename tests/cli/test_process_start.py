"""A command line run as its own process: start-up pauses the garbage collector, and the command
itself (a server, a long localization) always runs with it collecting again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROBE = (
    "import gc, sys; from hg_localization.cli.app import main; sys.argv[0] = 'hg-localization'; "
    "code = main(); print(code, gc.isenabled(), gc.get_freeze_count() > 0)"
)


@pytest.mark.parametrize(
    ("args", "outcome"),
    [
        (["list-local-models"], "0 True True"),  # ran: start-up frozen out of collections
        (["list-local-models", "--no-such-option"], "2 True True"),  # refused by click
        (["--version"], "0 True False"),  # answered from tables, the collector never paused
    ],
)
def test_the_collector_runs_again_once_started(tmp_path: Path, args: list[str], outcome: str) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "HGLOC_MODELS_STORE_PATH": str(tmp_path / "models"),
        "HGLOC_DATASETS_STORE_PATH": str(tmp_path / "datasets"),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.splitlines()[-1] == outcome, done.stderr
