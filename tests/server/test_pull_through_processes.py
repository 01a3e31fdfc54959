"""Two ``serve --upstream`` processes over one local store: the store's lock makes one upstream fetch.

The upstream is the project's own server in this process (recording what it is asked); the two
pull-through servers are ``hg-localization serve`` processes; the clients are huggingface_hub.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from server.test_pull_through import BIG, Upstreamed, download_concurrently, upstream  # noqa: F401
from server.test_replicas import free_port, started

pytestmark = pytest.mark.slow


def test_eight_clients_across_two_processes_sharing_a_store_cause_one_upstream_fetch(
    upstream: Upstreamed,  # noqa: F811
    tmp_path: Path,
) -> None:
    weights = (upstream.repos / "models/acme/big-model/main/model.safetensors").read_bytes()
    upstream.recorder.app.delay = 0.1  # a MiB each 0.1 s: the clients ask while it is fetched
    env = {
        **os.environ,
        "HGLOC_MODELS_STORE_PATH": str(tmp_path / "store" / "models"),
        "HGLOC_DATASETS_STORE_PATH": str(tmp_path / "store" / "datasets"),
    }
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    serve = [sys.executable, "-m", "hg_localization.cli", "serve", "--upstream", upstream.url]
    with (
        started([*serve, "--port", str(ports[0])], urls[0], tmp_path / "one.log", env),
        started([*serve, "--port", str(ports[1])], urls[1], tmp_path / "two.log", env),
    ):
        commit = HfApi(endpoint=urls[0]).model_info(BIG).sha
        assert HfApi(endpoint=urls[1]).model_info(BIG).sha == commit
        got = download_concurrently(urls, commit, tmp_path)
    assert len(got) == 8 and all(body == weights for body in got)
    assert upstream.recorder.file_gets("model.safetensors") == 1
