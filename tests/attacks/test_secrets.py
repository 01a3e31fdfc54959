"""Nothing secret or private leaks.

- Secrets (the Hub token, the S3 secret key, passwords inside URLs) never reach a terminal, a
  log record, the store, the bucket or the server's access log: the leak test runs a
  representative set of commands with canary secrets set and greps everything they touched.
- The one redaction path (:mod:`hg_localization.redact`) is used by every way out: the CLI's
  Output, log records, the API's ``(False, message)`` answers, the server's error answers.
- A revision of a private or gated upstream repo is never made public by accident: refused
  (exit 3) before anything is uploaded, unless ``--allow-private-public``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hg_localization
from hg_localization.api.outcomes import localization_result
from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import UpstreamError
from hg_localization.redact import RedactingFilter, install_log_redaction, redact, register_secret
from hg_localization.server.app import create_app
from hg_localization.server.auth import ServerTokens
from hg_localization.server.folder_source import FolderSource
from hg_localization.server.responses import hub_error
from s3.conftest import ADMIN_SECRET, SeaweedServer, bucket_config, bucket_name, s3, seaweed  # noqa: F401

from helpers.cli import run, use_in_cli
from helpers.servers import run_server

TOKEN = "hf_FAKEtokenLeakCanary0123456789abcdef"
HUB_PASSWORD = "hub-PASSWORD-canary-77"
PUBLIC_PASSWORD = "public-PASSWORD-canary-88"
S3_URL_PASSWORD = "s3url-PASSWORD-canary-99"
SECRETS = (TOKEN, ADMIN_SECRET, HUB_PASSWORD, PUBLIC_PASSWORD, S3_URL_PASSWORD)
BERT, PRIVATE = "hgloc-test/tiny-bert", "hgloc-test/private-model"


def leaked(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [s for s in SECRETS if s.encode() in data]


def with_userinfo(url: str, password: str) -> str:
    return url.replace("://", f"://someone:{password}@", 1)


# --- the one redaction path ------------------------------------------------------------------------


def test_redact_strips_every_urls_password_and_masks_registered_secrets() -> None:
    register_secret(TOKEN)
    text = (
        f"GET http://u:{HUB_PASSWORD}@hub:8000/api and https://x:p@ss@s3.example/b?k=v, "
        f"header 'Bearer {TOKEN}\r', twice {TOKEN}"
    )
    shown = redact(text)
    assert leaked(shown) == [] and "p@ss" not in shown
    assert "http://***@hub:8000/api" in shown and "https://***@s3.example/b?k=v" in shown
    assert shown.count("***") == 4
    assert redact(shown) == shown  # idempotent


@pytest.mark.parametrize(
    "text",
    ["mail a@b.example", "/store/models/a@b/x", "http://host/p?who=a@b", "see https://hf.co/x", "tiny s"],
)
def test_redact_leaves_ordinary_text_alone(text: str) -> None:
    register_secret("s")  # too short to mask: every 's' would go
    assert redact(text) == text


def test_log_records_shown_by_the_cli_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("hg_localization.test")
    register_secret(TOKEN)
    install_log_redaction(logging.getLogger())  # what the CLI does (caplog's handler is on the root)
    install_log_redaction(logging.getLogger())  # once is enough
    assert sum(isinstance(f, RedactingFilter) for f in caplog.handler.filters) == 1
    try:
        raise UpstreamError(f"refused {TOKEN}")
    except UpstreamError:
        logger.warning("endpoint %s with %s", with_userinfo("http://h", HUB_PASSWORD), TOKEN, exc_info=True)
    assert leaked(caplog.text) == [] and "http://***@h" in caplog.text
    assert leaked(caplog.records[-1].getMessage()) == []


def test_api_messages_and_server_errors_are_redacted() -> None:
    register_secret(TOKEN)

    def fails() -> Any:
        raise UpstreamError(f"The Hub at {with_userinfo('http://h', HUB_PASSWORD)} refused 'Bearer {TOKEN}'")

    ok, message = localization_result(fails)
    assert not ok and leaked(message) == [] and "http://***@h" in message

    answer = hub_error(400, f"bad token {TOKEN} for {with_userinfo('http://h', HUB_PASSWORD)}")
    assert leaked(answer.body) == [] and leaked(answer.headers["X-Error-Message"]) == []


# --- servers of these tests ------------------------------------------------------------------------


class AccessLog:
    """An access log as uvicorn writes one (client, request line, status), kept in ``lines``."""

    def __init__(self, app: Any) -> None:
        self.app, self.lines = app, []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def logged(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                query = scope.get("query_string", b"").decode("latin-1")
                line = f'{scope["client"]} "{scope["method"]} {scope["raw_path"].decode()}?{query}"'
                self.lines.append(f"{line} {message['status']}")
            await send(message)

        await self.app(scope, receive, logged)


class GatedInfo:
    """The test Hub, except that every repo's info says ``"gated": "manual"``."""

    INFO = re.compile(r"/api/models/[^/]+/[^/]+(/revision/.+)?")

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.INFO.fullmatch(scope["path"]):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        body = bytearray()

        async def rewritten(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            data = bytes(body)
            if start["status"] == 200 and scope["method"] == "GET":
                data = json.dumps({**json.loads(data), "gated": "manual"}).encode()
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(data)).encode())]})
            await send({"type": "http.response.body", "body": data})

        await self.app(scope, receive, rewritten)


@pytest.fixture(scope="module")
def token_hub(sample_repos: Any) -> Iterator[tuple[str, AccessLog]]:
    """The test Hub whose read token is :data:`TOKEN` (it opens the private repo), with an access log."""
    app = AccessLog(
        create_app(
            FolderSource.for_repos_dir(sample_repos.directory), tokens=ServerTokens(read=frozenset({TOKEN}))
        )
    )
    with run_server(app) as url:
        yield url, app


@pytest.fixture
def team(tmp_path: Path, s3: SeaweedServer, bucket_name: str, token_hub: Any) -> HGLocalizationConfig:  # noqa: F811
    """A teammate with the token, the token Hub upstream and the test bucket (admin credentials)."""
    return bucket_config(tmp_path, s3.endpoint, bucket_name, hub_url=token_hub[0], hf_token=TOKEN)


@pytest.fixture
def cli(
    team: HGLocalizationConfig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Any:
    """``cli(*args)`` as that teammate (HGLOC_* variables and HF_TOKEN): exit code, stdout, stderr."""
    use_in_cli(monkeypatch, team)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    return lambda *args: run(capsys, *args)


# --- the leak test ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_no_secret_reaches_a_terminal_a_log_the_store_the_bucket_or_an_access_log(
    cli: Any,
    team: HGLocalizationConfig,
    s3: SeaweedServer,  # noqa: F811
    token_hub: tuple[str, AccessLog],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    hub_url, access_log = token_hub
    bucket = team.s3_bucket_name
    public = f"{s3.endpoint}/{bucket}/team/public"
    monkeypatch.setenv("HGLOC_PUBLIC_URL", with_userinfo(public, PUBLIC_PASSWORD))
    shown: list[str] = []

    def step(*args: str, expect: int | None = 0) -> str:
        code, out, err = cli(*args)
        shown.append(out + err)
        assert expect is None or code == expect, f"{args}: {code}\n{err}"
        return out + err

    step("download-model", BERT, "--full-model", "-v")
    step("download-model", PRIVATE, "-v")
    step("download-model", PRIVATE, "--make-public", expect=3)
    assert "http://***@" in step("sync-local-model-to-s3", BERT, "--make-public", "-v")
    step("list-s3-models", "--json")
    step("list-local-models", "--json")
    step("compare-models", BERT, PRIVATE, "-v")
    step("list-public-models", "--public-url", with_userinfo(public, PUBLIC_PASSWORD), expect=None)
    monkeypatch.setenv("HF_TOKEN", TOKEN + "\r")  # used to be echoed in an "Illegal header value" error
    step("show-model-card", PRIVATE, "--try-huggingface", "--revision", "v9", expect=2)
    monkeypatch.setenv("HF_TOKEN", TOKEN)

    monkeypatch.setenv("HGLOC_HF_ENDPOINT", with_userinfo(hub_url, HUB_PASSWORD))
    step("download-model", BERT, "--force", "-v")
    assert "http://***@" in step("show-model-card", "nobody/nothing", "--try-huggingface", expect=4)
    monkeypatch.setenv("HGLOC_HF_ENDPOINT", with_userinfo("http://127.0.0.1:9", HUB_PASSWORD))
    step("download-model", "nobody/nothing", "-v", expect=6)
    monkeypatch.setenv("HGLOC_S3_ENDPOINT_URL", with_userinfo("http://127.0.0.1:9", S3_URL_PASSWORD))
    step("list-s3-models", expect=7)

    assert [(n, leaked(text)) for n, text in enumerate(shown) if leaked(text)] == []
    records = [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    assert records and [r for r in records if leaked(r)] == []
    assert access_log.lines and [line for line in access_log.lines if leaked(line)] == []
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) > 5 and [p for p in files if leaked(p.read_bytes())] == []
    objects = s3.objects(bucket)
    admin = s3.client("admin")
    assert len(objects) > 10
    assert [k for k in objects if leaked(admin.get_object(Bucket=bucket, Key=k)["Body"].read())] == []


# --- private never public --------------------------------------------------------------------------


def test_make_public_of_a_private_repo_is_refused_before_anything_is_uploaded(
    cli: Any,
    team: HGLocalizationConfig,
    s3: SeaweedServer,  # noqa: F811
) -> None:
    code, _, err = cli("download-model", PRIVATE, "--make-public")
    assert code == 3, err
    assert f"'{PRIVATE}' (revision 'main') comes from a private or gated repository" in err
    assert "it was not made public, and nothing was uploaded" in err
    assert "--allow-private-public" in err
    assert s3.objects(team.s3_bucket_name) == {}  # not even the private copy
    [kept] = hg_localization.list_local_models(config=team)
    assert kept["model_id"] == PRIVATE
    assert f"The local copy is kept at {kept['path']}." in " ".join(err.split())

    ok, message = hg_localization.download_model_metadata(PRIVATE, make_public=True, config=team)
    assert not ok and "not made public" in message
    ok, message = hg_localization.sync_local_model_to_s3(
        PRIVATE, make_public=True, config=team, allow_private_public=True
    )
    assert ok, message
    assert list(s3.objects(team.s3_bucket_name, f"team/public/models/{PRIVATE}/"))


def test_a_gated_repo_counts_as_private(
    sample_repos: Any,
    tmp_path: Path,
    s3: SeaweedServer,  # noqa: F811
    bucket_name: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with run_server(GatedInfo(create_app(FolderSource.for_repos_dir(sample_repos.directory)))) as url:
        use_in_cli(monkeypatch, bucket_config(tmp_path, s3.endpoint, bucket_name, hub_url=url))
        assert run(capsys, "download-model", BERT, "--no-s3-upload")[0] == 0
    code, _, err = run(capsys, "sync-local-model-to-s3", BERT, "--make-public")
    assert code == 3 and "comes from a private or gated repository" in err
    assert s3.objects(bucket_name) == {}

    code, _, err = run(capsys, "sync-local-model-to-s3", BERT, "--make-public", "--allow-private-public")
    assert code == 0, err
    assert "Public: anyone can read it at" in err
    assert list(s3.objects(bucket_name, f"team/public/models/{BERT}/"))


def test_sync_all_make_public_publishes_the_public_ones_and_refuses_the_private_ones(
    cli: Any,
    team: HGLocalizationConfig,
    s3: SeaweedServer,  # noqa: F811
) -> None:
    for model in (BERT, PRIVATE):
        assert cli("download-model", model, "--no-s3-upload")[0] == 0
    code, _, err = cli("sync-all-local-models-to-s3", "--make-public")
    assert code == 3, err
    assert f"{PRIVATE} (main): '{PRIVATE}' (revision 'main') comes from a private or gated" in " ".join(
        err.split()
    )
    assert "1 of 2 model revisions could not be synced." in err
    assert list(s3.objects(team.s3_bucket_name, f"team/public/models/{BERT}/"))
    assert s3.objects(team.s3_bucket_name, f"team/public/models/{PRIVATE}/") == {}
    assert s3.objects(team.s3_bucket_name, f"team/models/{PRIVATE}/") == {}  # refused whole
