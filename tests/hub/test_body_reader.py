"""The fast body reader sends a file's GET as huggingface_hub's session would, redirects included.

Each test asks a recording server of its own (127.0.0.1) once through :mod:`body_reader` and,
where it compares, once through the session itself: the same headers arrive, the token never
leaves the Hub's own origin, the same errors come back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx2
import pytest
from huggingface_hub import errors as hf_errors
from huggingface_hub.utils import get_session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from hg_localization.hub import body_reader
from hg_localization.hub.http import HubHttp

from helpers.servers import run_server

BODY = bytes(range(256)) * 4096  # 1 MiB
TOKEN = "hf_test_token_never_sent_elsewhere"
#: Differs per request by design (huggingface_hub's request id).
PER_REQUEST = {"x-amzn-trace-id"}


@dataclass
class Recorder:
    """What a server was asked: each request's path and headers."""

    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    #: Where ``/away`` redirects to.
    elsewhere: str = ""

    def app(self) -> Starlette:
        async def file(request: Request) -> Response:
            self._record(request)
            return Response(BODY, media_type="application/octet-stream")

        async def redirect(request: Request) -> Response:
            self._record(request)
            target = {"/same": "/file", "/away": f"{self.elsewhere}/file", "/loop": "/loop"}
            return RedirectResponse(target[request.url.path], status_code=302)

        async def missing(request: Request) -> Response:
            self._record(request)
            return Response("Entry not found", status_code=404, headers={"X-Error-Code": "EntryNotFound"})

        routes = [Route("/file", file), Route("/missing", missing)]
        routes += [Route(path, redirect) for path in ("/same", "/away", "/loop")]
        return Starlette(routes=routes)

    def _record(self, request: Request) -> None:
        self.seen.append((request.url.path, {k.lower(): v for k, v in request.headers.items()}))


@contextmanager
def recorded() -> Iterator[tuple[Recorder, str]]:
    recorder = Recorder()
    with run_server(recorder.app()) as url:
        yield recorder, url


def fast_get(url: str, headers: dict[str, str] | None = None) -> bytes:
    assert body_reader.usable(get_session(), url)
    http = HubHttp("http://hub", dict, timeout=10)
    with http.stream(url, headers or {}) as answer:
        assert isinstance(answer, body_reader.Answer)
        return b"".join(answer.iter_bytes())


def session_get(url: str, headers: dict[str, str] | None = None) -> bytes:
    with get_session().stream("GET", url, headers=headers or {}, follow_redirects=True) as response:
        return response.read()


def comparable(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k not in PER_REQUEST}


def test_the_session_s_headers_arrive_and_the_body_is_whole() -> None:
    asked = {"Authorization": f"Bearer {TOKEN}", "Accept-Encoding": "identity", "Range": "bytes=0-"}
    with recorded() as (recorder, url):
        assert fast_get(f"{url}/file", asked) == session_get(f"{url}/file", asked) == BODY
    (_, fast), (_, session) = recorder.seen
    assert comparable(fast) == comparable(session)
    assert PER_REQUEST <= fast.keys()  # huggingface_hub's request hook ran
    assert fast["authorization"] == f"Bearer {TOKEN}" and fast["range"] == "bytes=0-"


def test_the_token_follows_a_redirect_on_the_hub_s_origin_only() -> None:
    asked = {"Authorization": f"Bearer {TOKEN}", "Range": "bytes=5-"}
    with recorded() as (elsewhere, other_url), recorded() as (hub, url):
        hub.elsewhere = other_url  # another port: another origin
        assert fast_get(f"{url}/same", asked) == BODY
        assert fast_get(f"{url}/away", asked) == BODY
    assert [path for path, _ in hub.seen] == ["/same", "/file", "/away"]
    assert hub.seen[1][1]["authorization"] == f"Bearer {TOKEN}"
    [(_, cdn)] = elsewhere.seen
    assert "authorization" not in cdn
    assert cdn["range"] == "bytes=5-" and cdn["host"] == other_url.removeprefix("http://")


def test_endless_redirects_fail_as_with_the_session() -> None:
    with recorded() as (recorder, url):
        with pytest.raises(httpx2.TooManyRedirects):
            fast_get(f"{url}/loop")
        fast_requests = len(recorder.seen)
        with pytest.raises(httpx2.TooManyRedirects):
            session_get(f"{url}/loop")
    assert fast_requests == len(recorder.seen) - fast_requests == get_session().max_redirects + 1


def test_an_error_answer_raises_huggingface_hub_s_error() -> None:
    http = HubHttp("http://hub", dict, timeout=10)
    with recorded() as (_, url), pytest.raises(hf_errors.RemoteEntryNotFoundError):
        with http.stream(f"{url}/missing", {}):
            pytest.fail("an error answer must not be read as the file")


async def stalling_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Announces 9 bytes, sends 3, then nothing for longer than the read timeout."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"9")]})
    await send({"type": "http.response.body", "body": b"abc", "more_body": True})
    await asyncio.sleep(3)


def test_a_stalled_answer_times_out_as_with_the_session() -> None:
    http = HubHttp("http://hub", dict, timeout=0.3)
    with run_server(stalling_app) as url, pytest.raises(httpx2.ReadTimeout):
        with http.stream(f"{url}/file", {}) as answer:
            assert next(iter(answer.iter_bytes())) == b"abc"  # what arrived, without waiting for more
            list(answer.iter_bytes())


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_proxy_in_the_environment_leaves_the_request_to_the_session(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    assert body_reader.usable(get_session(), "https://hub.example/file")
    monkeypatch.setenv(variable, "http://proxy.example:3128")
    assert not body_reader.usable(get_session(), "https://hub.example/file")


def test_credentials_in_the_url_leave_the_request_to_the_session() -> None:
    assert not body_reader.usable(get_session(), "https://user:secret@hub.example/file")
