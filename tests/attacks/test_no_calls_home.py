"""Inside the walls, the only Hub the CLI talks to is the one it is given.

huggingface_hub (2.x) builds its User-Agent with ``detect_agent()``, which fetches a registry from
``{HF_ENDPOINT or https://huggingface.co}/api/agent-harnesses`` on any run without a fresh cached copy.
A team that sets only ``HGLOC_HF_ENDPOINT`` would see every command try huggingface.co. These tests
run the real CLI in a child process with a clean environment (no ``HF_HUB_DISABLE_TELEMETRY``, an
empty ``HF_HOME``) and every non-local request sent to a recording proxy: nothing may reach it.
``HF_ENDPOINT`` names a host that does not exist (``hub.invalid``), so that a request the fix
failed to stop would go there, through the proxy, and never be aimed at huggingface.co.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

#: huggingface_hub's own endpoint in these tests: a name that never resolves (RFC 2606).
OTHER_HUB = "http://hub.invalid"


class RecordingProxy:
    """A proxy that records each request line (``GET http://hub.invalid/… HTTP/1.1``) and answers 502."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(5)
                try:
                    first = connection.recv(4096).split(b"\r\n", 1)[0]
                    self.seen.append(first.decode("latin-1"))
                    connection.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    def close(self) -> None:
        self._socket.close()


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    recording = RecordingProxy()
    try:
        yield recording
    finally:
        recording.close()


def _clean_env(tmp_path: Path, proxy: RecordingProxy, **extra: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update(
        HF_HOME=str(tmp_path / "hf-home"),
        HF_ENDPOINT=OTHER_HUB,
        HGLOC_MODELS_STORE_PATH=str(tmp_path / "store" / "models"),
        HGLOC_DATASETS_STORE_PATH=str(tmp_path / "store" / "datasets"),
        HTTP_PROXY=proxy.url,
        HTTPS_PROXY=proxy.url,
        http_proxy=proxy.url,
        https_proxy=proxy.url,
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        **extra,
    )
    return env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hg_localization", *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_localizing_from_the_team_hub_sends_nothing_to_huggingface_co(
    hub_server: Any, tmp_path: Path, proxy: RecordingProxy
) -> None:
    env = _clean_env(tmp_path, proxy, HGLOC_HF_ENDPOINT=hub_server.url)
    model = hub_server.samples.bert
    first = _cli(env, "download-model", model, "--full-model", "--no-s3-upload")
    assert first.returncode == 0, first.stderr
    again = _cli(env, "download-model", model, "--full-model", "--no-s3-upload")  # the warm path
    assert again.returncode == 0, again.stderr
    assert "already localized" in again.stdout + again.stderr
    assert proxy.seen == []


def test_a_user_who_turns_telemetry_on_gets_it(
    hub_server: Any, tmp_path: Path, proxy: RecordingProxy
) -> None:
    """The default is off; an explicit HF_HUB_DISABLE_TELEMETRY=0 is the user's choice and is kept
    (this also proves the proxy above would have seen the registry request)."""
    env = _clean_env(tmp_path, proxy, HGLOC_HF_ENDPOINT=hub_server.url, HF_HUB_DISABLE_TELEMETRY="0")
    done = _cli(env, "download-model", hub_server.samples.bert, "--no-s3-upload")
    assert done.returncode == 0, done.stderr
    assert any("hub.invalid" in line for line in proxy.seen), proxy.seen
