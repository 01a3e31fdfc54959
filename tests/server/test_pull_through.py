"""``serve --upstream``: a repo the store lacks is pulled through from the upstream Hub when asked.

The upstream is the project's own server over a copy of the sample repos (wrapped to count and
record what it is asked), or the tests' hostile Hub; the clients are unmodified huggingface_hub.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from hg_localization.config import HGLocalizationConfig
from hg_localization.server.app import create_app
from hg_localization.server.auth import ServerTokens
from hg_localization.server.folder_source import FolderSource
from hg_localization.server.metrics import ServerMetrics
from hg_localization.server.pull_through import PullThroughSource
from hg_localization.server.store_source import StoreSource
from hg_localization.store.layout import StoreLayout
from hg_localization.usecases.pull_through import RepoPolicy, Upstream

from helpers.asgi import Throttle
from helpers.servers import PRIVATE_TOKEN, BackgroundServer, replace_served_file, run_server

BERT = "hgloc-test/tiny-bert"
PRIVATE = "hgloc-test/private-model"
TEAM_TOKEN = "team-read-token-of-the-pull-server"
BIG = "acme/big-model"


@dataclass
class Recorder:
    """Passes requests to ``app``; remembers ``(method, path)`` and every Authorization header."""

    app: Any
    requests: list[tuple[str, str]] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests.append((scope["method"], scope["path"]))
            headers = dict(scope["headers"])
            if b"authorization" in headers:
                self.authorizations.append(headers[b"authorization"].decode())
        await self.app(scope, receive, send)

    def file_gets(self, name: str) -> int:
        return sum(1 for m, p in self.requests if m == "GET" and "/resolve/" in p and p.endswith(f"/{name}"))


@dataclass
class Upstreamed:
    url: str
    repos: Path
    recorder: Recorder
    server: BackgroundServer


@pytest.fixture
def upstream(sample_repos_dir: Path, tmp_path: Path) -> Iterator[Upstreamed]:
    """The project's server over a copy of the sample repos (and a big model), recording requests."""
    repos = tmp_path / "upstream-repos"
    shutil.copytree(sample_repos_dir, repos)
    big = repos / "models" / "acme" / "big-model" / "main"
    big.mkdir(parents=True)
    (big / "config.json").write_text('{"model_type": "bert"}\n')
    (big / "README.md").write_text("---\nlicense: mit\n---\n# A big model\n")
    (big / "model.safetensors").write_bytes(os.urandom(12 * 1024 * 1024))
    app = create_app(FolderSource.for_repos_dir(repos), tokens=ServerTokens(read=frozenset({PRIVATE_TOKEN})))
    recorder = Recorder(Throttle(app, delay=0.01))
    server = BackgroundServer(recorder)
    server.start()
    try:
        yield Upstreamed(server.url, repos, recorder, server)
    finally:
        server.stop()


def store_config(tmp_path: Path, **settings: Any) -> HGLocalizationConfig:
    return HGLocalizationConfig(
        models_store_path=tmp_path / "store" / "models",
        datasets_store_path=tmp_path / "store" / "datasets",
        **settings,
    )


def pull_through(
    config: HGLocalizationConfig, upstream_url: str, *, tokens: ServerTokens | None = None, **options: Any
) -> Any:
    """The pull-through server over ``config``'s store, as ``serve --upstream`` builds it."""
    models = StoreLayout(config.models_store_path, "model", config.bucket_id).base
    datasets = StoreLayout(config.datasets_store_path, "dataset", config.bucket_id).base
    source = PullThroughSource(
        StoreSource.for_store(models, datasets), Upstream(config, upstream_url), **options
    )
    return run_server(create_app(source, tokens=tokens))


def stored_files(config: HGLocalizationConfig) -> list[str]:
    return sorted(p.name for p in config.models_store_path.rglob("*") if p.is_file())


@pytest.mark.slow
def test_a_never_localized_repo_is_pulled_through_then_served_with_upstream_stopped(
    upstream: Upstreamed, tmp_path: Path, sample_repos_dir: Path
) -> None:
    expected = {
        p.relative_to(sample_repos_dir / "models/hgloc-test/tiny-bert/main").as_posix(): p.read_bytes()
        for p in (sample_repos_dir / "models/hgloc-test/tiny-bert/main").rglob("*")
        if p.is_file()
    }
    config = store_config(tmp_path)
    with pull_through(config, upstream.url) as url:
        first = Path(snapshot_download(BERT, endpoint=url, cache_dir=str(tmp_path / "client-1")))
        assert _files(first) == expected  # bit for bit
        upstream.server.stop()
        again = Path(snapshot_download(BERT, endpoint=url, cache_dir=str(tmp_path / "client-2")))
        assert _files(again) == expected
        assert (
            HfApi(endpoint=url).model_info(BERT).sha
            == HfApi(endpoint=url).model_info(BERT, revision="main").sha
        )


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_metadata_requests_fetch_no_weight_file(upstream: Upstreamed, tmp_path: Path) -> None:
    config = store_config(tmp_path)
    metrics = ServerMetrics()
    with pull_through(config, upstream.url, metrics=metrics) as url:
        api = HfApi(endpoint=url)
        info = api.model_info(BIG, files_metadata=True)
        sizes = {s.rfilename: s.size for s in info.siblings or []}
        assert sizes["model.safetensors"] == 12 * 1024 * 1024
        tree = {entry.path for entry in api.list_repo_tree(BIG, revision=info.sha)}
        assert tree == {"README.md", "config.json", "model.safetensors"}
        (entry,) = api.get_paths_info(BIG, ["model.safetensors"], revision=info.sha)
        assert entry.lfs is not None and entry.size == 12 * 1024 * 1024
        config_path = hf_hub_download(BIG, "config.json", endpoint=url, cache_dir=str(tmp_path / "c"))
        assert Path(config_path).read_text() == '{"model_type": "bert"}\n'
    assert upstream.recorder.file_gets("model.safetensors") == 0
    assert "model.safetensors" not in stored_files(config)
    assert "config.json" in stored_files(config)  # the card and config were localized
    counted = metrics.render()
    assert "hgloc_upstream_fetches_total 1\n" in counted  # one pull: the card and config
    assert "hgloc_upstream_misses_total 1\n" in counted  # the repo; config.json then came from the store


def download_concurrently(urls: list[str], commit: str, cache_root: Path, clients: int = 8) -> list[bytes]:
    """``clients`` threads each download the big model's weights once, taking the URLs in turn; any
    client's error fails the test."""
    got: list[bytes] = []
    errors: list[BaseException] = []

    def client(n: int) -> None:
        try:
            path = hf_hub_download(
                BIG,
                "model.safetensors",
                revision=commit,
                endpoint=urls[n % len(urls)],
                cache_dir=str(cache_root / f"c{n}"),
            )
            got.append(Path(path).read_bytes())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    return got


@pytest.mark.slow
def test_eight_clients_asking_for_the_same_missing_file_cause_one_upstream_fetch(
    upstream: Upstreamed, tmp_path: Path
) -> None:
    config = store_config(tmp_path)
    weights = (upstream.repos / "models/acme/big-model/main/model.safetensors").read_bytes()
    with pull_through(config, upstream.url) as url:
        commit = HfApi(endpoint=url).model_info(BIG).sha
        got = download_concurrently([url], commit, tmp_path)
    assert len(got) == 8 and all(body == weights for body in got)
    assert upstream.recorder.file_gets("model.safetensors") == 1


@dataclass
class Gate:
    """Holds every upstream GET of ``name`` until ``opened`` is set (then passes it on)."""

    app: Any
    name: str
    opened: threading.Event = field(default_factory=threading.Event)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].endswith(f"/{self.name}"):
            while not self.opened.is_set():
                await asyncio.sleep(0.02)
        await self.app(scope, receive, send)


@pytest.mark.slow
def test_a_file_of_a_revision_is_fetched_while_another_of_it_still_is(
    upstream: Upstreamed, tmp_path: Path
) -> None:
    config = store_config(tmp_path)
    weights = (upstream.repos / "models/acme/big-model/main/model.safetensors").read_bytes()
    (upstream.repos / "models/acme/big-model/main/tokenizer.json").write_text('{"version": "1.0"}\n')
    gate = Gate(upstream.recorder.app, "model.safetensors")
    upstream.recorder.app = gate  # the big file's fetch waits, holding whatever it holds
    big: list[bytes] = []
    with pull_through(config, upstream.url) as url:
        commit = HfApi(endpoint=url).model_info(BIG).sha

        def fetch_big() -> None:
            path = hf_hub_download(
                BIG, "model.safetensors", revision=commit, endpoint=url, cache_dir=str(tmp_path / "a")
            )
            big.append(Path(path).read_bytes())

        thread = threading.Thread(target=fetch_big)
        thread.start()
        try:
            while upstream.recorder.file_gets("model.safetensors") == 0 and thread.is_alive():
                threading.Event().wait(0.05)
            small = hf_hub_download(
                BIG, "tokenizer.json", revision=commit, endpoint=url, cache_dir=str(tmp_path / "b")
            )  # before the fix: waited for the big file's fetch (the revision's lock), then timed out
            assert Path(small).read_text() == '{"version": "1.0"}\n'
            assert "model.safetensors" not in stored_files(config)  # still being fetched
        finally:
            gate.opened.set()
            thread.join()
    assert big == [weights]
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(stored_files(config))
    assert not [p for p in config.models_store_path.rglob("*") if ".pull" in p.name and p.is_dir()]


@pytest.mark.slow
def test_the_first_download_streams_before_the_file_is_in_the_store(
    upstream: Upstreamed, tmp_path: Path
) -> None:
    config = store_config(tmp_path)
    weights = (upstream.repos / "models/acme/big-model/main/model.safetensors").read_bytes()
    upstream.recorder.app.delay = 0.2  # the upstream sends a MiB each 0.2 s: seconds in all
    with pull_through(config, upstream.url) as url:
        commit = HfApi(endpoint=url).model_info(BIG).sha
        with httpx.stream("GET", f"{url}/{BIG}/resolve/{commit}/model.safetensors", timeout=60) as answer:
            assert answer.status_code == 200
            assert answer.headers["content-length"] == str(len(weights))
            chunks = answer.iter_bytes()
            received = next(chunks)
            # the client has bytes while the upstream is still sending (the store has no copy yet)
            assert "model.safetensors" not in stored_files(config)
            received += b"".join(chunks)
    assert received == weights
    assert "model.safetensors" in stored_files(config)


def test_denied_and_unlisted_repos_are_refused_without_asking_upstream(
    upstream: Upstreamed, tmp_path: Path
) -> None:
    config = store_config(tmp_path)
    policy = RepoPolicy(allow=("hgloc-test/*",), deny=("HGLOC-TEST/private-*",))
    with pull_through(config, upstream.url, policy=policy) as url:
        api = HfApi(endpoint=url)
        for repo_id, why in ((PRIVATE, "--deny 'HGLOC-TEST/private-*'"), (BIG, "no --allow pattern")):
            with pytest.raises(HfHubHTTPError) as refused:
                api.model_info(repo_id)
            assert refused.value.response.status_code == 403
            assert why in refused.value.response.headers["X-Error-Message"]
        with pytest.raises(RepositoryNotFoundError):
            api.model_info("hgloc-test/no-such-model")  # allowed, but upstream has no such repo
        assert api.model_info(BERT).id == BERT
    asked = " ".join(path for _, path in upstream.recorder.requests)
    assert "private-model" not in asked and "big-model" not in asked


def test_a_private_upstream_repo_stays_private_and_tokens_stay_where_they_belong(
    upstream: Upstreamed, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = store_config(tmp_path, upstream_token=PRIVATE_TOKEN)
    answers: list[str] = []
    with pull_through(config, upstream.url, tokens=ServerTokens(read=frozenset({TEAM_TOKEN}))) as url:
        anonymous = httpx.get(f"{url}/api/models/{PRIVATE}")
        answers.append(anonymous.text + str(anonymous.headers))
        assert anonymous.status_code == 401
        with pytest.raises(HfHubHTTPError) as refused:
            HfApi(endpoint=url).model_info(PRIVATE)
        assert refused.value.response.status_code == 401
        folder = snapshot_download(PRIVATE, endpoint=url, token=TEAM_TOKEN, cache_dir=str(tmp_path / "c"))
        assert (Path(folder) / "model.safetensors").is_file()
        for path in (f"/api/models/{PRIVATE}", f"/api/models/{PRIVATE}/tree/main", "/api/models"):
            seen = httpx.get(f"{url}{path}", headers={"Authorization": f"Bearer {TEAM_TOKEN}"})
            answers.append(seen.text + str(seen.headers))
        assert PRIVATE in answers[-1]  # the catalogue lists it for a reader
        assert PRIVATE not in httpx.get(f"{url}/api/models").text  # and not for anyone else
    assert upstream.recorder.authorizations  # the server's own token went upstream...
    assert set(upstream.recorder.authorizations) == {f"Bearer {PRIVATE_TOKEN}"}  # ...and no client's
    assert not any(PRIVATE_TOKEN in text for text in answers)
    assert PRIVATE_TOKEN not in caplog.text


def test_a_mismatch_ends_the_answer_and_keeps_nothing(tmp_path: Path) -> None:
    from attacks.hostile_upstream import DEFAULT_FILES, serve_hostile_hub

    config = store_config(tmp_path)
    with serve_hostile_hub() as hub, pull_through(config, hub.url) as url:
        commit = HfApi(endpoint=url).model_info(hub.repo_id).sha  # listed with the true checksums
        wrong = bytes(len(DEFAULT_FILES["weights.bin"]))
        hub.files["weights.bin"] = wrong  # then the upstream sends other bytes of the same size
        received = b""
        with (
            pytest.raises(httpx.RemoteProtocolError),
            httpx.stream("GET", f"{url}/{hub.repo_id}/resolve/{commit}/weights.bin", timeout=60) as answer,
        ):
            assert answer.status_code == 200
            for chunk in answer.iter_bytes():
                received += chunk
        assert len(received) < len(wrong)  # never a complete (wrong) body
        assert "weights.bin" not in stored_files(config)
        assert not list(config.models_store_path.rglob("*weights.bin*"))  # no partial file either


def test_a_branch_is_checked_upstream_after_the_interval_and_served_at_its_new_commit(
    upstream: Upstreamed, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = store_config(tmp_path)
    main = upstream.repos / "models/hgloc-test/tiny-bert/main"
    with pull_through(config, upstream.url, revalidate=3600) as url:
        before = HfApi(endpoint=url).model_info(BERT).sha
        replace_served_file(main / "config.json", b'{"model_type": "bert", "moved": true}\n')
        assert HfApi(endpoint=url).model_info(BERT).sha == before  # within the interval: not asked
    with pull_through(config, upstream.url, revalidate=0) as url:
        after = HfApi(endpoint=url).model_info(BERT).sha
        assert after != before
        downloaded = hf_hub_download(BERT, "config.json", endpoint=url, cache_dir=str(tmp_path / "c"))
        assert '"moved": true' in Path(downloaded).read_text()
        upstream.server.stop()
        with caplog.at_level(logging.WARNING):
            assert HfApi(endpoint=url).model_info(BERT).sha == after  # upstream down: what is there
        assert "Could not check whether" in caplog.text


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--allow", "acme/*"], "--allow and --deny choose what --upstream pulls through"),
        (["--upstream", "ftp://hub.example"], "must start with http:// or https://"),
        (["--upstream", "http://127.0.0.1:9", "--repos", "."], "it does not work with --repos"),
    ],
)
def test_serve_refuses_upstream_options_that_cannot_work(
    capsys: pytest.CaptureFixture[str], args: list[str], said: str
) -> None:
    from helpers.cli import run

    code, _, err = run(capsys, "serve", *args)
    assert code == 2
    assert said in " ".join(err.split())


def test_the_upstream_token_is_its_own_setting_else_the_hub_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_usual_token_1234")
    assert HGLocalizationConfig().server_upstream_token == "hf_usual_token_1234"
    monkeypatch.setenv("HGLOC_UPSTREAM_TOKEN", "hf_server_token_5678")
    config = HGLocalizationConfig()
    assert config.server_upstream_token == "hf_server_token_5678"
    assert "hf_server_token_5678" not in repr(config)
