"""A metadata GET to a plain http:// Hub: the very request huggingface_hub's session sends, and the
same answers, retries and errors, without importing httpx2 or making the session.

The Hub here is :mod:`scripted_hub` (127.0.0.1): it records each request as sent.
"""

from __future__ import annotations

import gzip
import json
import logging
import re

import pytest
from huggingface_hub import get_session

from hg_localization.errors import AuthenticationError, RepoNotFoundError, UpstreamError
from hg_localization.hub import plain_http
from hg_localization.hub.client import HubClient
from hg_localization.hub.headers import hub_headers
from hg_localization.hub.http import HubHttp
from hg_localization.hub.retry import RetryPolicy
from hg_localization.ids import RepoId
from hub.scripted_hub import Reply, scripted_hub

from helpers.clients import run_python_json

SHA = "0123456789abcdef0123456789abcdef01234567"
INFO = json.dumps({"sha": SHA}).encode()
REPO = RepoId.parse("org/model")
TOKEN = "hf_NotARealTokenButLongEnough"
QUICK = RetryPolicy(base_delay=0.01)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


pytestmark = pytest.mark.usefixtures("fresh_session")


@pytest.mark.parametrize("token", [None, TOKEN])
def test_the_plain_path_sends_what_the_session_sends(token: str | None) -> None:
    with scripted_hub(Reply(body=INFO)) as hub:
        url = f"{hub.url}/api/models/org/model/tree/main"
        assert plain_http.applies(url)
        HubHttp(hub.url, lambda: hub_headers(token)).get_json(url, {"recursive": "true", "x": "a b/c"})
        get_session().get(url, params={"recursive": "true", "x": "a b/c"}, headers=hub_headers(token))
    plain, session = hub.requests
    assert (
        plain.line == session.line == "GET /api/models/org/model/tree/main?recursive=true&x=a+b%2Fc HTTP/1.1"
    )
    assert [h for h in plain.headers if h[0] != "X-Amzn-Trace-Id"] == [
        h for h in session.headers if h[0] != "X-Amzn-Trace-Id"
    ]
    assert _UUID.fullmatch(plain.header("X-Amzn-Trace-Id") or "")
    assert _UUID.fullmatch(session.header("X-Amzn-Trace-Id") or "")
    assert plain.header("authorization") == (f"Bearer {token}" if token else None)
    assert (plain.header("user-agent") or "").startswith("hg-localization/")


def test_the_warm_request_imports_neither_httpx2_nor_the_session() -> None:
    with scripted_hub(Reply(body=INFO)) as hub:
        found = run_python_json(
            """
            import json, os, sys
            from hg_localization.hub.client import HubClient
            from hg_localization.ids import RepoId
            hub = HubClient(os.environ["HF_ENDPOINT"])
            commit = hub.commit_of("model", RepoId.parse("org/model"), "main")
            print(json.dumps({"commit": commit, "loaded": sorted(
                m for m in ("httpx2", "httpcore2", "huggingface_hub.utils._http") if m in sys.modules
            )}))
            """,
            endpoint=hub.url,
        )
    assert found == {"commit": SHA, "loaded": []}
    assert len(hub.requests) == 1


def test_5xx_and_a_dropped_connection_are_retried() -> None:
    script = (Reply(503, headers=(("Retry-After", "0"),)), Reply(reset=True), Reply(body=INFO))
    with scripted_hub(*script) as hub:
        assert HubClient(hub.url, retry=QUICK).commit_of("model", REPO, "main") == SHA
    assert len(hub.requests) == 3


def test_a_hub_that_keeps_failing_is_reported_with_the_tries() -> None:
    with scripted_hub(Reply(reset=True)) as hub, pytest.raises(UpstreamError) as caught:
        HubClient(hub.url, retry=QUICK).commit_of("model", REPO, "main")
    assert caught.value.message == (
        f"Could not reach the Hub at {hub.url}: Server disconnected without sending a response. "
        "(gave up after 4 tries)"
    )
    assert len(hub.requests) == 4


def test_a_refused_connection_fails_at_once() -> None:
    with scripted_hub() as hub:
        endpoint = hub.url
    with pytest.raises(UpstreamError, match=r"Could not reach the Hub at .*Connection refused"):
        HubClient(endpoint, retry=QUICK).commit_of("model", REPO, "main")


@pytest.mark.parametrize("through_session", [False, True])
def test_error_answers_become_the_same_errors(
    through_session: bool, caplog: pytest.LogCaptureFixture
) -> None:
    missing = Reply(404, b'{"error": "Repository not found"}', (("X-Error-Code", "RepoNotFound"),))
    refused = Reply(401, b'{"error": "Invalid credentials"}', (("X-Error-Message", "Invalid credentials"),))
    caplog.set_level(logging.INFO, logger="hg_localization")
    with scripted_hub(missing, refused) as hub:
        if through_session:
            get_session().cookies.set("kept", "1")  # a session with a cookie serves every request
        client = HubClient(hub.url, TOKEN, retry=QUICK)
        with pytest.raises(RepoNotFoundError):
            client.commit_of("model", REPO, "main")
        with pytest.raises(AuthenticationError) as caught:
            client.commit_of("model", REPO, "main")
    assert caught.value.message == "The Hub refused the token (invalid or expired)."
    assert all((r.header("cookie") is not None) is through_session for r in hub.requests)
    assert TOKEN not in str(caught.value) + caplog.text


def test_a_redirect_and_a_cookie_are_left_to_the_session() -> None:
    moved = Reply(307, b"", (("Location", "/api/models/org/renamed/revision/main"),))
    cookie = Reply(body=INFO, headers=(("Set-Cookie", "route=a; Path=/"),))
    with scripted_hub(moved, moved, cookie, cookie, Reply(body=INFO)) as hub:
        client = HubClient(hub.url)
        assert client.commit_of("model", REPO, "main") == SHA  # plain (307), then the session
        assert client.commit_of("model", REPO, "main") == SHA  # the session now has a cookie
    lines = [r.line.split()[1] for r in hub.requests]
    assert lines[:3] == ["/api/models/org/model/revision/main"] * 2 + [
        "/api/models/org/renamed/revision/main"
    ]
    assert hub.requests[-1].header("cookie") == "route=a"


def test_a_proxy_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    with scripted_hub(Reply(body=INFO)) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY")
        monkeypatch.delenv("no_proxy")
        assert HubClient("http://hub.invalid").commit_of("model", REPO, "main") == SHA
    assert proxy.requests[0].line == "GET http://hub.invalid/api/models/org/model/revision/main HTTP/1.1"


def test_a_compressed_answer_is_read_and_its_size_capped() -> None:
    gzipped = (("Content-Encoding", "gzip"),)
    with scripted_hub(Reply(body=gzip.compress(INFO), headers=gzipped)) as hub:
        assert HubClient(hub.url).commit_of("model", REPO, "main") == SHA
        with pytest.raises(UpstreamError, match="sent more than 0 MiB"):
            HubHttp(hub.url, dict).get_bytes(f"{hub.url}/x", limit=len(INFO) - 1)
    with scripted_hub(Reply(body=gzip.compress(b"0" * 2**20), headers=gzipped)) as hub:
        with pytest.raises(UpstreamError, match="sent more than"):
            HubHttp(hub.url, dict).get_bytes(f"{hub.url}/x", limit=2**19)


@pytest.mark.parametrize(
    "env",
    [
        {"HTTP_PROXY": "http://a:1"},
        {"HTTP_PROXY": "http://a:1", "http_proxy": ""},
        {"HTTPS_PROXY": "http://a:1", "REQUEST_METHOD": "GET", "HTTP_PROXY": "http://b:2"},
        {"ALL_proxy": "socks5://c:3", "no_proxy": "*"},
        {},
    ],
)
def test_proxies_are_read_as_urllib_reads_them(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from urllib.request import getproxies_environment

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert plain_http._environment_proxies() == getproxies_environment()
    expected = any(getproxies_environment().get(s) for s in ("http", "https", "all"))
    assert plain_http.applies("http://127.0.0.1:1/api/models/a/b") is not expected


@pytest.mark.parametrize("path", ["/api/x?", "/api/a%2Fb/c~d?y=%7e&z=a+b", "/a%zzb", "/a'(b)*!$,;=:@", ""])
def test_every_url_is_sent_as_the_session_sends_it(path: str) -> None:
    with scripted_hub(Reply(body=INFO)) as hub:
        url = hub.url.replace("127.0.0.1", "LocalHost") + path
        assert plain_http.applies(url)
        HubHttp(hub.url, dict).get_json(url)
        get_session().get(url, headers={})
    plain, session = hub.requests
    assert plain.line == session.line
    assert plain.header("Host") == session.header("Host") == hub.url.replace("http://127.0.0.1", "localhost")
