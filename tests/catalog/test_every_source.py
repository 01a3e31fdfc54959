"""The catalog shows every source the server has: the bucket (``serve --source bucket``) and the
pull-through store (``serve --upstream``), as well as the store and a folder of repos.

The bucket here is one of the test's own in memory, with the interface of
:class:`~hg_localization.s3.serving.ServingBucket` (metadata objects, ranged reads): what the
catalog reads goes through :class:`BucketSource` exactly as a download does. The upstream of the
pull-through server is the project's own server on 127.0.0.1, recording every request it gets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from huggingface_hub import hf_hub_download
from starlette.testclient import TestClient

from catalog.support import AUTH, TOKENS, card
from hg_localization.catalog import Catalog, SourceCatalog, catalog_app
from hg_localization.config import HGLocalizationConfig
from hg_localization.ids import RepoId, RepoType, parse_repo_id
from hg_localization.s3.serving import MetadataObject, ServingBucket
from hg_localization.server.bucket_source import BucketSource
from hg_localization.server.folder_source import FolderSource
from hg_localization.server.pull_through import PullThroughSource
from hg_localization.server.store_source import StoreSource
from hg_localization.store.layout import StoreLayout
from hg_localization.store.manifest import RevisionManifest, Selection
from hg_localization.usecases.pull_through import RepoPolicy, Upstream

from helpers.sample_repos import SampleRepos
from helpers.servers import BackgroundServer, run_server
from helpers.stored import file_record

CONFIG = b'{"model_type": "bert", "hidden_size": 8}'


# --- the bucket ----------------------------------------------------------------------------------
class _Space:
    def type_prefix(self, repo_type: RepoType) -> str:
        return f"private/{repo_type}s/"


@dataclass
class MemoryBucket:
    """Revisions as a bucket holds them: a metadata object each, and one object per file."""

    objects: dict[str, bytes] = field(default_factory=dict)
    metadata_objects: dict[tuple[RepoType, str, str], bytes] = field(default_factory=dict)
    space: _Space = field(default_factory=_Space)
    reads: list[str] = field(default_factory=list)

    def put(
        self, repo_id: str, files: dict[str, bytes], *, selections: list[Selection], **fields: Any
    ) -> None:
        for path, data in files.items():
            self.objects[self.object_key("model", parse_repo_id(repo_id), "main", path)] = data
        records = [file_record(path, data) for path, data in files.items()]
        manifest = RevisionManifest(
            repo_id=repo_id,
            repo_type="model",
            revision="main",
            commit=hashlib.sha1(repo_id.encode()).hexdigest(),
            selections=selections,
            files=records,
            fetched_at=datetime(2026, 2, 3, 4, 5, tzinfo=UTC),
            **fields,
        )
        self.metadata_objects[("model", repo_id, "main")] = manifest.to_json().encode()

    def describe(self) -> str:
        return "memory://team-bucket"

    def repos(self, repo_type: RepoType) -> list[RepoId]:
        return [parse_repo_id(i) for (t, i, _) in self.metadata_objects if t == repo_type]

    def revisions(self, repo_type: RepoType, repo_id: RepoId) -> list[str]:
        return [r for (t, i, r) in self.metadata_objects if t == repo_type and i == str(repo_id)]

    def metadata(
        self, repo_type: RepoType, repo_id: RepoId, revision: str, etag: str | None = None
    ) -> MetadataObject | None:
        data = self.metadata_objects.get((repo_type, str(repo_id), revision))
        return None if data is None else MetadataObject(data=data, etag=hashlib.md5(data).hexdigest())

    def object_key(self, repo_type: RepoType, repo_id: RepoId, revision: str, local_path: str) -> str:
        return f"private/{repo_type}s/{repo_id}/{revision}/{local_path}"

    def open_range(self, key: str, start: int, end: int, expected_size: int) -> Generator[bytes, None, None]:
        self.reads.append(key)
        data = self.objects[key]
        yield data[start : end + 1] if end >= start else data


@pytest.fixture
def bucket() -> MemoryBucket:
    found = MemoryBucket()
    readme = card("tags: [nlp]\nlicense: mit", "# Shared bert\n\nLoaded from the **bucket**.")
    found.put("team/bert", {"README.md": readme, "config.json": CONFIG}, selections=[Selection()])
    found.put(
        "team/full",
        {"config.json": CONFIG, "w.safetensors": b"w" * 10},
        selections=[Selection(full=True)],
        public=True,
    )
    found.put("team/secret", {"config.json": CONFIG}, selections=[Selection(full=True)], private=True)
    return found


@pytest.fixture
def bucket_client(bucket: MemoryBucket) -> Iterator[TestClient]:
    source = BucketSource(cast(ServingBucket, bucket))
    with TestClient(catalog_app(source, tokens=TOKENS)) as client:
        yield client


def test_a_bucket_server_lists_the_buckets_revisions_with_what_each_holds(bucket_client: TestClient) -> None:
    home = bucket_client.get("/")
    assert home.status_code == 200 and "Sources: bucket" in home.text
    listing = bucket_client.get("/api/catalog/models").json()
    rows = {item["id"]: item for item in listing["items"]}
    assert sorted(rows) == ["team/bert", "team/full"]  # the private one: only with a token
    assert rows["team/bert"]["source"] == "bucket" and rows["team/bert"]["tags"] == ["nlp"]
    assert rows["team/bert"]["default_revision"]["kind"] == "metadata"
    assert rows["team/full"]["default_revision"]["kind"] == "full"
    assert rows["team/full"]["default_revision"]["public"] is True
    with_token = bucket_client.get("/api/catalog/models", headers=AUTH).json()
    assert [item["id"] for item in with_token["items"]] == ["team/bert", "team/full", "team/secret"]
    filtered = bucket_client.get("/models", params={"kind": "metadata"}).text
    assert "team/bert" in filtered and "team/full" not in filtered


def test_a_bucket_repo_page_shows_its_card_and_config_read_from_the_bucket(
    bucket_client: TestClient, bucket: MemoryBucket
) -> None:
    page = bucket_client.get("/team/bert")
    assert page.status_code == 200
    assert "Loaded from the <strong>bucket</strong>." in page.text  # the rendered card
    assert "hidden_size" in page.text and "Metadata only" in page.text
    assert any(key.endswith("/config.json") for key in bucket.reads)


def test_a_bucket_file_that_is_not_as_recorded_is_not_shown(
    bucket_client: TestClient, bucket: MemoryBucket
) -> None:
    key = bucket.object_key("model", parse_repo_id("team/full"), "main", "config.json")
    bucket.objects[key] = b'{"model_type": "evil", "hidden_size": 9}'  # same size, other bytes
    page = bucket_client.get("/team/full")
    assert page.status_code == 200
    assert "evil" not in page.text and "config.json could not be read." in page.text


# --- pull-through --------------------------------------------------------------------------------
@dataclass
class Recorder:
    app: Any
    paths: list[str] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


@pytest.fixture
def upstream(sample_repos: SampleRepos) -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder(catalog_app(FolderSource.for_repos_dir(sample_repos.directory), tokens=TOKENS))
    server = BackgroundServer(recorder)
    server.start()
    try:
        yield server.url, recorder
    finally:
        server.stop()


@pytest.mark.slow
def test_a_pull_through_server_shows_what_it_pulled_and_pulls_nothing_for_a_page(
    upstream: tuple[str, Recorder], sample_repos: SampleRepos, tmp_path: Path
) -> None:
    upstream_url, recorder = upstream
    config = HGLocalizationConfig(
        models_store_path=tmp_path / "store" / "models", datasets_store_path=tmp_path / "store" / "datasets"
    )
    store = StoreSource.for_store(
        StoreLayout(config.models_store_path, "model", config.bucket_id).base,
        StoreLayout(config.datasets_store_path, "dataset", config.bucket_id).base,
    )
    policy = RepoPolicy(deny=("hgloc-test/denied-*",))
    source = PullThroughSource(store, Upstream(config, upstream_url), policy=policy)
    catalog = Catalog([SourceCatalog(source)], ttl=0, background=False)  # the list pages: no ttl to wait
    with run_server(catalog_app(source, tokens=TOKENS, catalog=catalog)) as url:
        home = httpx.get(f"{url}/")
        assert f"anything else is fetched from <strong>{upstream_url}</strong> on first request" in home.text
        not_yet = httpx.get(f"{url}/{sample_repos.bert}")
        assert not_yet.status_code == 404
        assert f"{sample_repos.bert} is not on this server yet" in not_yet.text
        assert f"hf download {sample_repos.bert}" in not_yet.text
        api = httpx.get(f"{url}/api/catalog/models/{sample_repos.bert}")
        assert api.status_code == 404
        assert recorder.paths == []  # no page asked anything upstream
        denied = httpx.get(f"{url}/hgloc-test/denied-model")
        assert denied.status_code == 404 and "not on this server yet" not in denied.text

        hf_hub_download(sample_repos.bert, "config.json", endpoint=url, cache_dir=str(tmp_path / "client"))
        listing = httpx.get(f"{url}/models").text
        assert sample_repos.bert in listing
        page = httpx.get(f"{url}/{sample_repos.bert}")
        assert page.status_code == 200 and "Metadata only" in page.text and "hidden_size" in page.text
        assert f"pulling through from {upstream_url}" in page.text
