"""A command line run as its own process: start-up pauses the garbage collector, and the command
itself (a server, a long localization) always runs with it collecting again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hg_localization.config import ServeOptions

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


def test_a_server_worker_keeps_what_it_built_out_of_collections(tmp_path: Path) -> None:
    """``serve --workers N``: each worker's app is frozen out of the collector's full passes."""
    (tmp_path / "repos").mkdir()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "HGLOC_MODELS_STORE_PATH": str(tmp_path / "models"),
        "HGLOC_DATASETS_STORE_PATH": str(tmp_path / "datasets"),
        **ServeOptions(repos=tmp_path / "repos").environment(),
    }
    probe = (
        "import gc; from hg_localization.cli.serve import worker_app; app = worker_app(); "
        "print(gc.get_freeze_count() > 10_000, len(gc.get_objects()) < gc.get_freeze_count())"
    )
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout.splitlines()[-1:] == ["True True"], done.stderr
