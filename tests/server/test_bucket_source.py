"""``serve --source bucket``: the unmodified client loads from the bucket, with no local copy.

The revisions are localized from a test Hub and pushed to a real SeaweedFS bucket; then that Hub
is stopped, and the server reads the bucket alone, from a store folder that does not exist.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.datastructures import Headers

from hg_localization.config import HGLocalizationConfig
from hg_localization.ids import RepoType
from hg_localization.progress import SILENT
from hg_localization.s3.serving import ServingBucket
from hg_localization.server.app import create_app
from hg_localization.server.auth import ServerTokens
from hg_localization.server.bucket_source import BucketSource
from hg_localization.server.file_response import UNSATISFIABLE, requested_range
from hg_localization.server.folder_source import FolderSource
from hg_localization.server.served import ServedRepo
from hg_localization.usecases.models import localize_model
from hg_localization.usecases.options import LocalizeOptions
from hg_localization.usecases.s3_sync import bucket_cache
from s3.conftest import SeaweedServer, bucket_config, bucket_name, s3, seaweed  # noqa: F401

from helpers.cli import run, use_in_cli
from helpers.clients import run_python_json
from helpers.sample_repos import SampleRepos
from helpers.servers import PRIVATE_TOKEN, BackgroundServer, run_server
from helpers.stored import ONE_FILE_MODEL, publish_one_file

pytestmark = pytest.mark.slow
COMMIT_A, COMMIT_B = "a" * 40, "b" * 40


@dataclass
class Published:
    seaweed: SeaweedServer
    bucket: str
    samples: SampleRepos
    #: The server's configuration: the bucket, and a store folder that was never created.
    config: HGLocalizationConfig


@pytest.fixture(scope="module")
def published(
    seaweed: SeaweedServer,  # noqa: F811
    sample_repos: SampleRepos,
    tmp_path_factory: pytest.TempPathFactory,
) -> Published:
    """bert (main and its tag) and the private repo, localized from a Hub that is then stopped."""
    root = tmp_path_factory.mktemp("bucket-source")
    bucket = f"hgloc-{uuid.uuid4().hex[:12]}"
    seaweed.client("admin").create_bucket(Bucket=bucket)
    upstream = BackgroundServer(
        create_app(
            FolderSource.for_repos_dir(sample_repos.directory),
            tokens=ServerTokens(read=frozenset({PRIVATE_TOKEN})),
        )
    )
    upstream.start()
    try:
        pusher = bucket_config(
            root, seaweed.endpoint, bucket, hub_url=upstream.url, who="pusher", hf_token=PRIVATE_TOKEN
        )
        for repo_id, revision in (
            (sample_repos.bert, None),
            (sample_repos.bert, sample_repos.bert_tag),
            (sample_repos.private, None),
        ):
            outcome = localize_model(repo_id, revision, config=pusher, options=LocalizeOptions(full=True))
            assert outcome.upload_error is None
    finally:
        upstream.stop()
    server = bucket_config(root, seaweed.endpoint, bucket, who="server")
    return Published(seaweed=seaweed, bucket=bucket, samples=sample_repos, config=server)


def bucket_app(config: HGLocalizationConfig, **options: Any) -> Any:
    source = BucketSource(ServingBucket.from_config(config), **options)
    return create_app(source, tokens=ServerTokens(read=frozenset({PRIVATE_TOKEN})))


@pytest.fixture
def served(published: Published, seaweed: SeaweedServer) -> Iterator[str]:  # noqa: F811
    if not seaweed.running:
        seaweed.start()
    with run_server(bucket_app(published.config)) as url:
        yield url
    assert not published.config.models_store_path.exists()  # nothing was written locally


CLIENT = """
import json, os
from huggingface_hub import HfApi, HfFileSystem, snapshot_download
repo = "{repo}"
folder = snapshot_download(repo, cache_dir=os.environ["HF_HOME"] + "/c")
files = {{}}
for root, _, names in os.walk(folder):
    for name in names:
        path = os.path.join(root, name)
        files[os.path.relpath(path, folder).replace(os.sep, "/")] = open(path, "rb").read().hex()
api = HfApi()
info = api.model_info(repo, files_metadata=True)
tree = sorted(e.path for e in api.list_repo_tree(repo, recursive=True) if e.__class__.__name__ == "RepoFile")
refs = api.list_repo_refs(repo)
fs = HfFileSystem()
ranged = fs.cat_file(repo + "/config.json", start=3, end=20).hex()
print(json.dumps({{
    "files": files, "sha": info.sha, "siblings": sorted(s.rfilename for s in info.siblings),
    "card": info.card_data.to_dict() if info.card_data else {{}}, "tree": tree,
    "branches": sorted(b.name for b in refs.branches), "tags": sorted(t.name for t in refs.tags),
    "ranged": ranged,
}}))
"""


def test_the_unmodified_client_gets_every_file_bit_for_bit_from_the_bucket_alone(
    published: Published, served: str
) -> None:
    samples = published.samples
    got = run_python_json(CLIENT.format(repo=samples.bert), endpoint=served)
    expected = samples.files(samples.bert)
    assert {path: bytes.fromhex(data) for path, data in got["files"].items()} == expected
    assert got["siblings"] == got["tree"] == sorted(expected)
    assert len(got["sha"]) == 40
    assert got["branches"] == ["main"] and got["tags"] == [samples.bert_tag]
    assert bytes.fromhex(got["ranged"]) == expected["config.json"][3:20]
    assert got["card"]  # the card's front matter, read from the bucket


def test_a_range_is_answered_with_206_and_a_range_past_the_end_with_416(
    published: Published, served: str
) -> None:
    config = published.samples.files(published.samples.bert)["config.json"]
    url = f"{served}/{published.samples.bert}/resolve/main/config.json"
    partial = httpx.get(url, headers={"Range": "bytes=-5"})
    assert partial.status_code == 206 and partial.content == config[-5:]
    assert partial.headers["Content-Range"] == f"bytes {len(config) - 5}-{len(config) - 1}/{len(config)}"
    assert partial.headers["X-Repo-Commit"] and partial.headers["ETag"]
    past = httpx.get(url, headers={"Range": f"bytes={len(config)}-"})
    assert past.status_code == 416 and past.headers["Content-Range"] == f"bytes */{len(config)}"
    head = httpx.head(url)
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(config))


def test_a_private_revision_needs_a_token(published: Published, served: str) -> None:
    private = published.samples.private
    refused = httpx.get(f"{served}/api/models/{private}")
    assert refused.status_code == 401 and refused.headers["X-Error-Code"] == "RepoNotFound"
    code = f"""
import json
from huggingface_hub import hf_hub_download
print(json.dumps(open(hf_hub_download("{private}", "config.json"), "rb").read().hex()))
"""
    got = run_python_json(code, endpoint=served, token=PRIVATE_TOKEN)
    assert bytes.fromhex(got) == published.samples.files(private)["config.json"]
    listed = httpx.get(f"{served}/api/models").json()
    assert private not in {m["id"] for m in listed}


def test_with_redirect_the_client_follows_a_presigned_url_that_carries_the_hub_headers(
    published: Published,
    seaweed: SeaweedServer,  # noqa: F811
) -> None:
    samples = published.samples
    with run_server(bucket_app(published.config, redirect=True)) as url:
        answer = httpx.head(f"{url}/{samples.bert}/resolve/main/config.json")
        got = run_python_json(CLIENT.format(repo=samples.bert), endpoint=url)
    expected = samples.files(samples.bert)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(f"{seaweed.endpoint}/{published.bucket}/")
    assert len(answer.headers["X-Repo-Commit"]) == 40
    assert answer.headers["ETag"] and answer.headers["X-Linked-Size"] == str(len(expected["config.json"]))
    assert {path: bytes.fromhex(data) for path, data in got["files"].items()} == expected
    assert bytes.fromhex(got["ranged"]) == expected["config.json"][3:20]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def own_bucket(s3: SeaweedServer, bucket_name: str, tmp_path: Path) -> HGLocalizationConfig:  # noqa: F811
    return bucket_config(tmp_path, s3.endpoint, bucket_name, who="pusher")


def push_one_file(config: HGLocalizationConfig, data: bytes, commit: str, revision: str = "main") -> None:
    stored = publish_one_file(config, data, commit=commit, revision=revision)
    bucket_cache(config).push(stored, make_public=False, progress=SILENT)


def test_a_revision_pushed_after_the_server_started_is_served_once_the_ttl_has_passed(
    own_bucket: HGLocalizationConfig,
) -> None:
    clock = Clock()
    with run_server(
        bucket_app(own_bucket.with_overrides(models_store_path="/nonexistent"), clock=clock)
    ) as url:
        info = f"{url}/api/models/{ONE_FILE_MODEL}"
        assert httpx.get(info).headers["X-Error-Code"] == "RepoNotFound"
        push_one_file(own_bucket, b"first", COMMIT_A)
        assert httpx.get(info).status_code == 404  # the listing is still fresh
        clock.now += 6
        assert httpx.get(info).json()["sha"] == COMMIT_A
        push_one_file(own_bucket, b"second", COMMIT_B)
        clock.now += 6  # the metadata object changed: its new ETag is read
        assert httpx.get(info).json()["sha"] == COMMIT_B
        body = httpx.get(f"{url}/{ONE_FILE_MODEL}/resolve/main/model.safetensors")
        assert body.content == b"second"


class CountingBucketSource(BucketSource):
    """The bucket's source, counting how often a repo is read (from the bucket, or its caches)."""

    reads = 0

    def repo(self, repo_type: RepoType, repo_id: str) -> ServedRepo:
        self.reads += 1
        return super().repo(repo_type, repo_id)


def test_answers_within_the_ttl_come_from_memory_and_a_push_is_served_once_it_has_passed(
    own_bucket: HGLocalizationConfig,
) -> None:
    clock = Clock()
    push_one_file(own_bucket, b"first", COMMIT_A)
    source = CountingBucketSource(ServingBucket.from_config(own_bucket), clock=clock)
    file = f"/{ONE_FILE_MODEL}/resolve/main/model.safetensors"
    info = f"/api/models/{ONE_FILE_MODEL}/revision/main"
    with run_server(create_app(source)) as url:
        first = [httpx.head(url + file) for _ in range(2)] + [httpx.get(url + info) for _ in range(2)]
        reads = source.reads
        again = [httpx.head(url + file) for _ in range(5)] + [httpx.get(url + info) for _ in range(5)]
        assert source.reads == reads  # within the ttl: answered from memory, the source not asked
        heads, infos = first[:2] + again[:5], first[2:] + again[5:]
        assert {a.headers["X-Repo-Commit"] for a in heads} == {COMMIT_A}
        assert {a.json()["sha"] for a in infos} == {COMMIT_A}
        push_one_file(own_bucket, b"second", COMMIT_B)
        clock.now += 3
        assert httpx.head(url + file).headers["X-Repo-Commit"] == COMMIT_A  # as before: within the ttl
        clock.now += 3  # the ttl has passed: read again, and the new revision served at once
        assert httpx.head(url + file).headers["X-Repo-Commit"] == COMMIT_B
        assert httpx.get(url + info).json()["sha"] == COMMIT_B
        assert httpx.get(url + file).content == b"second"
        reads = source.reads
        later = [httpx.head(url + file) for _ in range(5)]
        assert source.reads == reads  # from memory again, until the ttl passes again
        assert {a.headers["X-Repo-Commit"] for a in later} == {COMMIT_B}
        clock.now += 6
        assert httpx.head(url + file).headers["X-Repo-Commit"] == COMMIT_B
        assert source.reads == reads + 1  # read again once the ttl passed, though nothing changed


def test_a_damaged_metadata_object_is_skipped_and_the_rest_served(
    own_bucket: HGLocalizationConfig,
    s3: SeaweedServer,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    push_one_file(own_bucket, b"weights", COMMIT_A)
    push_one_file(own_bucket, b"old weights", COMMIT_B, revision="v1")
    key = f"team/models/hgloc-test/big-model/v1/{'.hg_localization_bucket_metadata.json'}"
    s3.client("admin").put_object(Bucket=own_bucket.s3_bucket_name, Key=key, Body=b"{not json")
    with run_server(bucket_app(own_bucket)) as url:
        refs = httpx.get(f"{url}/api/models/{ONE_FILE_MODEL}/refs").json()
        damaged = httpx.get(f"{url}/api/models/{ONE_FILE_MODEL}/revision/v1")
        main = httpx.get(f"{url}/{ONE_FILE_MODEL}/resolve/main/model.safetensors")
    assert [b["name"] for b in refs["branches"]] == ["main"]
    assert damaged.headers["X-Error-Code"] == "RevisionNotFound"
    assert main.content == b"weights"
    assert "Not serving hgloc-test/big-model at v1" in caplog.text


def test_an_object_whose_bytes_are_not_the_recorded_ones_is_never_completed(
    own_bucket: HGLocalizationConfig,
    s3: SeaweedServer,  # noqa: F811
) -> None:
    push_one_file(own_bucket, b"the right bytes", COMMIT_A)
    key = "team/models/hgloc-test/big-model/main/model.safetensors"
    s3.client("admin").put_object(Bucket=own_bucket.s3_bucket_name, Key=key, Body=b"the wrong bytes")
    with run_server(bucket_app(own_bucket)) as url, pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{url}/{ONE_FILE_MODEL}/resolve/main/model.safetensors")
    assert hashlib.sha256(b"the wrong bytes").hexdigest() != hashlib.sha256(b"the right bytes").hexdigest()


def test_serve_refuses_redirect_without_the_bucket_and_a_bucket_source_without_a_bucket(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "serve", "--redirect", "--port", "0")
    assert code == 2 and "--redirect works with --source bucket only" in err
    code, _, err = run(capsys, "serve", "--source", "bucket", "--port", "0")
    assert code == 2 and "No team bucket is configured" in err


def test_serve_source_bucket_refuses_write_tokens(
    own_bucket: HGLocalizationConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_in_cli(monkeypatch, own_bucket)
    tokens = tmp_path / "tokens"
    tokens.write_text("write:hgloc-writer-token\n")
    code, _, err = run(capsys, "serve", "--source", "bucket", "--tokens-file", str(tokens), "--port", "0")
    assert code == 2 and "read-only" in err


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-3", (0, 3)),
        ("bytes=5-", (5, 9)),
        ("bytes=-4", (6, 9)),
        ("bytes=8-100", (8, 9)),
        ("bytes=10-", UNSATISFIABLE),
        ("bytes=-0", UNSATISFIABLE),
        ("bytes=0-1,4-5", None),  # several ranges: the whole file
        ("bytes=4-2", None),
        ("items=0-1", None),
        ("bytes=x-1", None),
    ],
)
def test_requested_range(header: str, expected: tuple[int, int] | None) -> None:
    assert requested_range(Headers({"range": header}), 10, '"etag"') == expected


def test_a_range_with_a_stale_if_range_gets_the_whole_file() -> None:
    headers = Headers({"range": "bytes=0-1", "if-range": '"old"'})
    assert requested_range(headers, 10, '"new"') is None
