"""Operating the server: the access log, /metrics, token scopes and names, the audit log, SIGTERM."""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from hg_localization.errors import InvalidInputError
from hg_localization.server.access_log import ACCESS_LOGGER, AUDIT_LOGGER
from hg_localization.server.app import create_app
from hg_localization.server.auth import ServerTokens, token_label
from hg_localization.server.folder_source import FolderSource
from hg_localization.server.hub_write import HubWriteApi
from hg_localization.server.metrics import ServerMetrics

from helpers.servers import run_server
from helpers.weights_fixtures import write_folder

ADMIN = "admin-write-token-0123456789"
ACME_READER = "acme-read-token-0123456789"
ACME_WRITER = "acme-write-token-0123456789"
PLAIN_READER = "plain-read-token-0123456789"
TOKENS_FILE = f"""
# the team's tokens
write:{ADMIN}                    # admin
read:{ACME_READER}:acme/*        # acme-reader
write:{ACME_WRITER}:acme/*,acme-*/* # acme-ci
read:{PLAIN_READER}
"""
FILES = {"config.json": b'{"layers": 2}\n', "weights.bin": bytes(range(256)) * 40}


def write_repo(repos: Path, repo_id: str, *, private: bool) -> None:
    write_folder(repos / "models" / repo_id / "main", FILES)
    if private:
        (repos / "models" / repo_id / "repo.json").write_text(json.dumps({"private": True}))


@pytest.fixture
def team_hub(tmp_path: Path) -> Iterator[tuple[str, ServerMetrics]]:
    """A writable server with acme/private, other/private and acme/public, and the tokens above."""
    repos = tmp_path / "repos"
    write_repo(repos, "acme/private", private=True)
    write_repo(repos, "other/private", private=True)
    write_repo(repos, "acme/public", private=False)
    (tmp_path / "tokens.txt").write_text(TOKENS_FILE)
    tokens = ServerTokens.from_file(tmp_path / "tokens.txt")
    source = FolderSource.for_repos_dir(repos)
    metrics = ServerMetrics()
    app = create_app(source, tokens=tokens, write_api=HubWriteApi(source, tokens), metrics=metrics)
    with run_server(app) as url:
        yield url, metrics


def api(url: str, token: str | None) -> HfApi:
    return HfApi(endpoint=url, token=token if token is not None else False)


def messages(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == logger]


# --- the tokens file ---------------------------------------------------------------------------------


def test_the_tokens_file_gives_names_and_scopes(tmp_path: Path) -> None:
    (tmp_path / "tokens.txt").write_text(TOKENS_FILE)
    tokens = ServerTokens.from_file(tmp_path / "tokens.txt")
    assert tokens.read == {PLAIN_READER} and tokens.write == {ADMIN}  # unscoped only: what the catalog reads
    assert [(g.kind, g.repos, g.label) for g in tokens.grants] == [
        ("write", (), "admin"),
        ("read", ("acme/*",), "acme-reader"),
        ("write", ("acme/*", "acme-*/*"), "acme-ci"),
        ("read", (), token_label(PLAIN_READER)),
    ]
    assert token_label(PLAIN_READER).startswith("token-") and PLAIN_READER not in token_label(PLAIN_READER)
    assert tokens.writable and "0123456789" not in repr(tokens)


@pytest.mark.parametrize(
    "line",
    [
        "read",
        "admin:secret-value",
        "read:secret-value:acme/ x",
        "read:secret-value:acme/*,",
        "read:secret-value # a b",
    ],
)
def test_a_bad_tokens_line_is_refused_without_repeating_the_token(tmp_path: Path, line: str) -> None:
    (tmp_path / "tokens.txt").write_text(f"read:ok-token\n{line}\n")
    with pytest.raises(InvalidInputError) as info:
        ServerTokens.from_file(tmp_path / "tokens.txt")
    assert "line 2" in info.value.message
    assert "secret-value" not in info.value.message + (info.value.hint or "")


# --- the access log and /metrics -----------------------------------------------------------------------


def test_one_access_log_line_per_request_names_the_token_never_its_value(
    team_hub: tuple[str, ServerMetrics], caplog: pytest.LogCaptureFixture
) -> None:
    url, _ = team_hub
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    headers = {"Authorization": f"Bearer {ACME_READER}"}
    with httpx.Client(base_url=url) as client:
        assert (
            client.get("/acme/private/resolve/main/weights.bin?sig=query-secret", headers=headers).status_code
            == 200
        )
        assert (
            client.get("/api/models/acme/public", headers={"Authorization": "Bearer not-ours"}).status_code
            == 200
        )
        assert client.get("/api/models/nobody/nothing").status_code in (401, 404)
        client.get(
            f"/api/models/acme/public/tree/main?token={PLAIN_READER}",
            headers={"Authorization": f"Bearer {PLAIN_READER}"},
        )
    lines = messages(caplog, ACCESS_LOGGER)
    assert len(lines) == 4
    size = len(FILES["weights.bin"])
    assert '"GET /acme/private/resolve/main/weights.bin" 200 ' + str(size) + " " in lines[0]
    assert lines[0].endswith("token=acme-reader") and lines[0].startswith("127.0.0.1:")
    assert '"GET /api/models/acme/public" 200 ' in lines[1] and lines[1].endswith("token=unknown-token")
    assert '"GET /api/models/nobody/nothing" 40' in lines[2] and lines[2].endswith("token=-")
    assert lines[3].endswith(f"token={token_label(PLAIN_READER)}")
    everything = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (ACME_READER, PLAIN_READER, "not-ours", "query-secret"):
        assert secret not in everything


def test_metrics_count_requests_by_route_and_status_and_the_bytes_served(
    team_hub: tuple[str, ServerMetrics],
) -> None:
    url, metrics = team_hub
    with httpx.Client(base_url=url) as client:
        for _ in range(2):
            assert client.get("/acme/public/resolve/main/weights.bin").status_code == 200
        assert client.head("/acme/public/resolve/main/config.json").status_code == 200
        assert client.get("/acme/public/resolve/main/missing.txt").status_code == 404
        assert client.get("/api/models/acme/public").status_code == 200
        metrics.miss()  # what pull-through calls
        metrics.upstream_fetch(nbytes=1234)
        metrics.hit()
        answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith(
        "text/plain; version=0.0.4"
    )
    samples = dict(line.rsplit(" ", 1) for line in answer.text.splitlines() if not line.startswith("#"))
    assert samples['hgloc_http_requests_total{route="resolve",method="GET",status="200"}'] == "2"
    assert samples['hgloc_http_requests_total{route="resolve",method="HEAD",status="200"}'] == "1"
    assert samples['hgloc_http_requests_total{route="resolve",method="GET",status="404"}'] == "1"
    assert samples['hgloc_http_requests_total{route="api-info",method="GET",status="200"}'] == "1"
    assert int(samples['hgloc_http_response_bytes_total{route="resolve"}']) > 2 * len(FILES["weights.bin"])
    assert samples['hgloc_http_request_duration_seconds_count{route="resolve"}'] == "4"
    assert samples["hgloc_http_requests_in_flight"] == "1"  # this scrape
    assert samples["hgloc_upstream_fetches_total"] == "1"
    assert samples["hgloc_upstream_fetched_bytes_total"] == "1234"
    assert samples["hgloc_upstream_hits_total"] == samples["hgloc_upstream_misses_total"] == "1"
    assert samples["hgloc_upstream_failures_total"] == "0"
    assert "acme" not in answer.text  # no repo id in any label


# --- token scopes -------------------------------------------------------------------------------------


def test_a_read_scope_reads_the_private_repos_it_matches_and_no_other(
    team_hub: tuple[str, ServerMetrics], tmp_path: Path
) -> None:
    url, _ = team_hub
    reader = api(url, ACME_READER)
    assert reader.model_info("acme/private").id == "acme/private"
    path = hf_hub_download("acme/private", "weights.bin", endpoint=url, token=ACME_READER, cache_dir=tmp_path)
    assert Path(path).read_bytes() == FILES["weights.bin"]
    with pytest.raises(RepositoryNotFoundError):
        reader.model_info("other/private")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("other/private", "weights.bin", endpoint=url, token=ACME_READER, cache_dir=tmp_path)
    assert sorted(m.id for m in reader.list_models()) == ["acme/private", "acme/public"]
    assert sorted(m.id for m in api(url, PLAIN_READER).list_models()) == [
        "acme/private",
        "acme/public",
        "other/private",
    ]
    assert api(url, ACME_READER).model_info("acme/public").id == "acme/public"  # public: everyone


def test_a_write_scope_commits_only_to_the_repos_it_matches(team_hub: tuple[str, ServerMetrics]) -> None:
    url, _ = team_hub
    api(url, ADMIN).create_repo("other/x")
    writer = api(url, ACME_WRITER)

    def add() -> list[CommitOperationAdd]:
        return [CommitOperationAdd("notes.txt", b"hello\n")]

    done = writer.create_commit("acme/private", add(), commit_message="ok")
    assert api(url, ADMIN).model_info("acme/private").sha == done.oid
    writer.create_repo("acme-labs/new")
    with pytest.raises(HfHubHTTPError) as info:
        writer.create_commit("other/x", add(), commit_message="not mine")
    assert info.value.response.status_code == 403
    assert "acme/*, acme-*/*" in info.value.response.headers["X-Error-Message"]
    with pytest.raises(HfHubHTTPError) as info:
        writer.create_repo("other/y")
    assert info.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as info:
        writer.delete_repo("other/x")
    assert info.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as info:
        writer.create_tag("other/x", tag="v1")
    assert info.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as info:
        api(url, ACME_READER).create_commit("acme/private", add(), commit_message="a reader")
    assert info.value.response.status_code == 403
    assert "notes.txt" not in api(url, ADMIN).list_repo_files("other/x")


# --- the audit log ------------------------------------------------------------------------------------


def test_each_download_from_a_private_repo_is_audited_with_the_token_name(
    team_hub: tuple[str, ServerMetrics], caplog: pytest.LogCaptureFixture
) -> None:
    url, _ = team_hub
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ACME_WRITER}"}) as client:
        assert client.get("/acme/private/resolve/main/config.json").status_code == 200
        assert client.head("/acme/private/resolve/main/weights.bin").status_code == 200  # not a download
        assert client.get("/acme/public/resolve/main/config.json").status_code == 200  # public
        assert client.get("/other/private/resolve/main/config.json").status_code == 401  # refused
    lines = messages(caplog, AUDIT_LOGGER)
    assert len(lines) == 1
    assert lines[0].startswith(
        'download token=acme-ci client=127.0.0.1 model acme/private revision="main" commit='
    )
    assert lines[0].endswith('path="config.json"') and ACME_WRITER not in lines[0]


# --- SIGTERM ------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def write_big_file(path: Path, mib: int) -> str:
    digest = hashlib.sha256()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as sink:
        for _ in range(mib):
            chunk = os.urandom(1024 * 1024)
            digest.update(chunk)
            sink.write(chunk)
    return digest.hexdigest()


@pytest.mark.slow
def test_sigterm_finishes_the_download_under_way_then_exits_zero(tmp_path: Path) -> None:
    repos = tmp_path / "repos"
    expected = write_big_file(repos / "models" / "big" / "model" / "main" / "model.safetensors", 64)
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "hg_localization.cli",
        "serve",
        "--repos",
        str(repos),
        "--port",
        str(port),
    ]
    env = {**os.environ, "HGLOC_MODELS_STORE_PATH": str(tmp_path / "store" / "models")}
    env["HGLOC_DATASETS_STORE_PATH"] = str(tmp_path / "store" / "datasets")
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:  # wait for it to listen (not a timing assertion: a bound on a hang)
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        connection = http.client.HTTPConnection("127.0.0.1", port)
        connection.request("GET", "/big/model/resolve/main/model.safetensors")
        response = connection.getresponse()
        assert response.status == 200
        digest = hashlib.sha256(first := response.read(1024 * 1024))  # a slow client: 1 MiB, then a pause
        server.send_signal(signal.SIGTERM)
        while not refuses_connections(port):  # the listening socket closes; the download goes on
            assert time.monotonic() < deadline + 60, "serve still takes new connections after SIGTERM"
            time.sleep(0.1)
        rest = response.read()
        digest.update(rest)
        connection.close()
        assert len(first) + len(rest) == 64 * 1024 * 1024 and digest.hexdigest() == expected
        _, stderr = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == 0, stderr
    assert f'"GET /big/model/resolve/main/model.safetensors" 200 {64 * 1024 * 1024} ' in stderr
