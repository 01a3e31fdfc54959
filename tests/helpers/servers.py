"""Run an ASGI app (the project's servers, or a wrapper around one) on 127.0.0.1 in a thread.

    with run_server(create_app(source)) as url:
        HfApi(endpoint=url).model_info("hgloc-test/tiny-bert")

The socket is bound before the thread starts (port 0: the kernel picks a free port), so the URL
is valid and no two servers race for a port. ``BackgroundServer`` is the same with explicit
``start()``/``stop()``, for tests that take a server down and bring it back.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

if TYPE_CHECKING:  # conftest imports this module before huggingface_hub may be imported
    from helpers.sample_repos import SampleRepos

#: The read token the test Hub server accepts for the private sample repo.
PRIVATE_TOKEN = "hgloc-test-read-token"
#: Where HF_ENDPOINT points by default during the tests: nothing listens there, so a client that
#: was not given the test server's URL fails at once instead of reaching huggingface.co.
DEAD_ENDPOINT = "http://127.0.0.1:9"

STARTUP_TIMEOUT = 30.0


class BackgroundServer:
    """uvicorn serving ``app`` from a daemon thread; ``url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]  # the same port again after a restart
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2, access_log=False
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError(f"The test server on {self.url} did not start.")
            time.sleep(0.01)
        self._server, self._thread = server, thread
        return self.url

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> BackgroundServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextmanager
def run_server(app: Any, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` in the background for the duration of the block; yields its base URL."""
    server = BackgroundServer(app, host=host, port=port)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@dataclass(frozen=True)
class HubServer:
    """What the ``hub_server`` fixture yields: the Hub-compatible server over the sample repos."""

    url: str
    repos_dir: Path
    token: str
    samples: SampleRepos


def replace_served_file(path: Path, data: bytes) -> None:
    """Change a file a ``--repos`` server serves the way a git checkout does: a new file renamed
    over it. The server sees that on the next request; a rewrite in place (same folder, same name)
    it sees within ``server/folder_signature.py``'s FILE_RECHECK_SECONDS only, and a client that
    asks sooner is answered the commit before (the server's documented promise, tested there)."""
    replacement = path.with_name(path.name + ".replacement")
    replacement.write_bytes(data)
    os.replace(replacement, path)
