"""A tiny HTTP server on 127.0.0.1 that records every request as sent and plays scripted answers.

Each request takes the next :class:`Reply` of the script (the last one repeats). A reply is
an answer (status, headers, body) or ``reset``: the connection is closed before any answer.
A request is recorded as its request line and its header lines, in the order and case sent.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"{}"
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    reset: bool = False


@dataclass
class Recorded:
    line: str
    headers: list[tuple[str, str]]

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


@dataclass
class ScriptedHub:
    url: str
    script: list[Reply]
    requests: list[Recorded] = field(default_factory=list)


@contextmanager
def scripted_hub(*script: Reply) -> Iterator[ScriptedHub]:
    listener = socket.create_server(("127.0.0.1", 0))
    hub = ScriptedHub(f"http://127.0.0.1:{listener.getsockname()[1]}", list(script) or [Reply()])
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                _answer(hub, connection)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        stop.set()
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (a close alone does not)
        listener.close()
        thread.join(timeout=5)


def _answer(hub: ScriptedHub, connection: socket.socket) -> None:
    connection.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return
        data += chunk
    line, *lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    hub.requests.append(Recorded(line, [tuple(h.split(": ", 1)) for h in lines]))  # type: ignore[misc]
    reply = hub.script[min(len(hub.requests), len(hub.script)) - 1]
    if reply.reset:
        return
    head = [f"HTTP/1.1 {reply.status} X", f"Content-Length: {len(reply.body)}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in reply.headers]
    connection.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + reply.body)
