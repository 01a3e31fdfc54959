"""A file's body from a plain http:// Hub through http.client (hub/plain_stream.py): the same request,
the same file, the same errors as through huggingface_hub's session; what it does not handle
(a redirect) goes through the session.

The Hub here is a raw socket server on 127.0.0.1 playing scripted answers byte for byte (an answer
may announce more bytes than it sends, to drop the connection mid-body) and recording each request.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hg_localization.hub import plain_http, plain_stream
from hg_localization.hub.download import FileTransfer
from hg_localization.hub.headers import hub_headers
from hg_localization.hub.http import HubHttp
from hg_localization.hub.listing import RemoteFile
from hg_localization.hub.retry import RetryPolicy

DATA = bytes(range(256)) * 12_288  # 3 MiB: the write-behind thread is used
REMOTE = RemoteFile("model.safetensors", len(DATA), "0" * 40, hashlib.sha256(DATA).hexdigest())
TOKEN = "hf_NotARealTokenButLongEnough"
QUICK = RetryPolicy(base_delay=0.01)


def _answer(status: str, body: bytes, *headers: str, length: int | None = None) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body) if length is None else length}", *headers]
    return ("\r\n".join([*head, "Connection: close"]) + "\r\n\r\n").encode() + body


def _content_range(start: int) -> str:
    return f"Content-Range: bytes {start}-{len(DATA) - 1}/{len(DATA)}"


@dataclass
class RawHub:
    url: str
    script: list[bytes]
    requests: list[list[str]] = field(default_factory=list)

    def headers(self, index: int) -> list[str]:
        """A request's header lines but its trace id (a fresh uuid4 per request)."""
        return [h for h in self.requests[index][1:] if not h.startswith("X-Amzn-Trace-Id:")]

    def header(self, index: int, name: str) -> str | None:
        found = [h.split(": ", 1)[1] for h in self.requests[index][1:] if h.lower().startswith(name + ":")]
        return found[0] if found else None


@contextmanager
def raw_hub(*script: bytes) -> Iterator[RawHub]:
    """Each request gets the next answer of ``script`` (the last one repeats), then the connection ends."""
    listener = socket.create_server(("127.0.0.1", 0))
    hub = RawHub(f"http://127.0.0.1:{listener.getsockname()[1]}", list(script))

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                data = b""
                while b"\r\n\r\n" not in data and (chunk := connection.recv(65536)):
                    data += chunk
                hub.requests.append(data.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n"))
                with contextlib.suppress(OSError):
                    connection.sendall(hub.script[min(len(hub.requests), len(hub.script)) - 1])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join(timeout=5)


pytestmark = pytest.mark.usefixtures("fresh_session")


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What each plain_stream.open_stream gave: "stream", "error" or "session" (left to the session)."""
    seen: list[str] = []
    original = plain_stream.open_stream

    @contextmanager
    def spied(*args: object) -> Iterator[object]:
        with original(*args) as answer:  # type: ignore[arg-type]
            kinds = {plain_stream.PlainResponse: "stream", plain_http.Answer: "error"}
            seen.append(kinds.get(type(answer), "session"))
            yield answer

    monkeypatch.setattr(plain_stream, "open_stream", spied)
    return seen


def _fetch(hub: RawHub, destination: Path, retry: RetryPolicy = QUICK) -> None:
    http = HubHttp(hub.url, lambda: hub_headers(TOKEN), retry=retry, timeout=5)
    url = f"{hub.url}/org/model/resolve/main/{REMOTE.path}"
    digest = FileTransfer(http, url, REMOTE, destination).run()
    assert digest.sha256 == REMOTE.lfs_sha256


def _without_plain_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plain_http, "applies", lambda url: False)


def test_the_body_comes_through_http_client_with_the_sessions_request(
    tmp_path: Path, answers: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with raw_hub(_answer("200 OK", DATA)) as hub:
        _fetch(hub, tmp_path / "plain")
        assert answers == ["stream"]
        _without_plain_path(monkeypatch)
        _fetch(hub, tmp_path / "session")
    assert (tmp_path / "plain").read_bytes() == (tmp_path / "session").read_bytes() == DATA
    assert hub.requests[0][0] == hub.requests[1][0] == f"GET /org/model/resolve/main/{REMOTE.path} HTTP/1.1"
    assert hub.headers(0) == hub.headers(1)
    assert hub.header(0, "accept-encoding") == "identity"
    assert hub.header(0, "authorization") == f"Bearer {TOKEN}"


def test_a_partial_file_is_resumed_with_a_range_request(tmp_path: Path, answers: list[str]) -> None:
    kept = 1_000_000
    (tmp_path / "file").write_bytes(DATA[:kept])
    rest = _answer("206 Partial Content", DATA[kept:], _content_range(kept))
    with raw_hub(rest) as hub:
        _fetch(hub, tmp_path / "file")
    assert answers == ["stream"]
    assert hub.header(0, "range") == f"bytes={kept}-"
    assert (tmp_path / "file").read_bytes() == DATA


@pytest.mark.parametrize("through_session", [False, True])
def test_a_dropped_connection_keeps_the_bytes_received_and_asks_for_the_rest(
    tmp_path: Path,
    answers: list[str],
    through_session: bool,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cut = 1_234_567
    dropped = _answer("200 OK", DATA[:cut], length=len(DATA))
    rest = _answer("206 Partial Content", DATA[cut:], _content_range(cut))
    if through_session:
        _without_plain_path(monkeypatch)
    caplog.set_level(logging.INFO, logger="hg_localization")
    with raw_hub(dropped, rest) as hub:
        _fetch(hub, tmp_path / "file")
    assert answers == ([] if through_session else ["stream", "stream"])
    assert [hub.header(i, "range") for i in range(2)] == [None, f"bytes={cut}-"]
    assert (tmp_path / "file").read_bytes() == DATA
    retried = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Retrying")]
    assert retried == [
        f"Retrying {REMOTE.path} at byte {cut} after: peer closed connection without sending complete "
        f"message body (received {cut} bytes, expected {len(DATA)})"
    ]


def test_a_redirect_is_followed_by_the_session(tmp_path: Path, answers: list[str]) -> None:
    moved = _answer("302 Found", b"", "Location: /lfs/elsewhere")
    with raw_hub(moved, moved, _answer("200 OK", DATA)) as hub:
        _fetch(hub, tmp_path / "file")
    assert answers == ["session"]
    assert [r[0].split()[1] for r in hub.requests] == [f"/org/model/resolve/main/{REMOTE.path}"] * 2 + [
        "/lfs/elsewhere"
    ]
    assert (tmp_path / "file").read_bytes() == DATA


@pytest.mark.parametrize(
    "answer",
    [
        _answer("404 Not Found", b'{"error": "Entry not found"}', "X-Error-Code: EntryNotFound"),
        _answer("500 Internal Server Error", b"x" * 200_000),  # bounded: not all of it is read
    ],
)
def test_error_answers_become_the_same_errors(
    tmp_path: Path, answers: list[str], monkeypatch: pytest.MonkeyPatch, answer: bytes
) -> None:
    caught = []
    with raw_hub(answer) as hub:
        for through_session in (False, True):
            if through_session:
                _without_plain_path(monkeypatch)
            with pytest.raises(Exception) as error:
                _fetch(hub, tmp_path / "file", RetryPolicy(attempts=1))
            caught.append(error.value)
    assert answers == ["error"]
    plain, session = caught
    assert type(plain) is type(session)
    assert str(plain) == str(session)
    assert not (tmp_path / "file").stat().st_size
