"""``serve --source bucket --upstream``: a miss is pulled from upstream, pushed to the bucket, served.

Real SeaweedFS (tests/s3/conftest.py), the project's own server as the upstream (recording what it
is asked), unmodified huggingface_hub clients. Replicas are stateless over the bucket: what one
pulled, another (with an empty local store, the upstream stopped) serves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download, snapshot_download

from hg_localization.cli.serve import build_app
from hg_localization.config import HGLocalizationConfig, ServeOptions
from hg_localization.s3.bucket import Bucket
from hg_localization.s3.lease import BucketLeases
from s3.conftest import SeaweedServer, bucket_config, bucket_name, s3, seaweed  # noqa: F401
from server.test_pull_through import BIG, Upstreamed, download_concurrently, upstream  # noqa: F401

from helpers.servers import run_server

pytestmark = pytest.mark.slow


def replica(tmp_path: Path, s3: SeaweedServer, bucket: str, who: str) -> HGLocalizationConfig:  # noqa: F811
    """One ``serve`` replica's configuration: the shared bucket, its own (empty) local store."""
    return bucket_config(tmp_path, s3.endpoint, bucket, who=who, serve_bucket_ttl=0.5)


def in_bucket(s3: SeaweedServer, bucket: str, suffix: str) -> bool:  # noqa: F811
    return any(key.endswith(suffix) for key in s3.objects(bucket))


def eventually(check: Callable[[], bool], within: float = 60.0) -> bool:
    """Whether ``check()`` becomes true (asked every 0.2 s) before ``within`` seconds pass."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def serve_bucket(config: HGLocalizationConfig, upstream_url: str | None) -> object:
    """``serve --source bucket [--upstream URL]``, as the command builds it."""
    options = ServeOptions(source="bucket", upstream=upstream_url)
    return run_server(build_app(options, config)[0])


def test_a_miss_is_pulled_pushed_to_the_bucket_and_served_by_another_replica(
    upstream: Upstreamed,  # noqa: F811
    tmp_path: Path,
    s3: SeaweedServer,  # noqa: F811
    bucket_name: str,  # noqa: F811
) -> None:
    weights = (upstream.repos / "models/acme/big-model/main/model.safetensors").read_bytes()
    first = replica(tmp_path, s3, bucket_name, "replica-1")
    with serve_bucket(first, upstream.url) as url:  # type: ignore[attr-defined]
        pulled = Path(snapshot_download(BIG, endpoint=url, cache_dir=str(tmp_path / "client-1")))
        assert (pulled / "model.safetensors").read_bytes() == weights
        commit = HfApi(endpoint=url).model_info(BIG).sha
    assert upstream.recorder.file_gets("model.safetensors") == 1
    # the push follows the answer (the client does not wait for it): wait for it, then look
    assert eventually(lambda: in_bucket(s3, bucket_name, "acme/big-model/main/model.safetensors"))

    upstream.server.stop()  # a second replica, its store empty: everything comes from the bucket
    second = replica(tmp_path, s3, bucket_name, "replica-2")
    with serve_bucket(second, None) as url:  # type: ignore[attr-defined]
        again = Path(snapshot_download(BIG, endpoint=url, cache_dir=str(tmp_path / "client-2")))
        assert (again / "model.safetensors").read_bytes() == weights
        assert HfApi(endpoint=url).model_info(BIG).sha == commit
        one = hf_hub_download(BIG, "config.json", revision=commit, endpoint=url, cache_dir=str(tmp_path))
        assert Path(one).read_text() == '{"model_type": "bert"}\n'
    assert not second.models_store_path.exists()  # served with no local copy


def test_eight_clients_across_two_replicas_cause_one_upstream_fetch(
    upstream: Upstreamed,  # noqa: F811
    tmp_path: Path,
    s3: SeaweedServer,  # noqa: F811
    bucket_name: str,  # noqa: F811
) -> None:
    weights = (upstream.repos / "models/acme/big-model/main/model.safetensors").read_bytes()
    upstream.recorder.app.delay = 0.1  # a MiB each 0.1 s: the clients ask while it is fetched
    first = replica(tmp_path, s3, bucket_name, "replica-1")
    second = replica(tmp_path, s3, bucket_name, "replica-2")
    with serve_bucket(first, upstream.url) as one, serve_bucket(second, upstream.url) as two:  # type: ignore[attr-defined]
        commit = HfApi(endpoint=one).model_info(BIG).sha
        assert HfApi(endpoint=two).model_info(BIG).sha == commit
        got = download_concurrently([one, two], commit, tmp_path)
    assert len(got) == 8 and all(body == weights for body in got)
    assert upstream.recorder.file_gets("model.safetensors") == 1
    assert not any(".leases/" in key for key in s3.objects(bucket_name))  # released


def test_a_lease_is_taken_once_then_only_when_its_holder_stopped_renewing_it(
    tmp_path: Path,
    s3: SeaweedServer,  # noqa: F811
    bucket_name: str,  # noqa: F811
) -> None:
    now = [1000.0]
    config = replica(tmp_path, s3, bucket_name, "replica")
    alice = BucketLeases(Bucket.from_config(config), ttl=60, clock=lambda: now[0])
    bob = BucketLeases(Bucket.from_config(config), ttl=60, clock=lambda: now[0])
    held = alice.try_take("model/acme/big-model@abc/model.safetensors")
    assert held is not None
    assert bob.try_take("model/acme/big-model@abc/model.safetensors") is None  # alice holds it
    now[0] += 59
    assert alice.renew(held)
    now[0] += 59
    assert bob.try_take("model/acme/big-model@abc/model.safetensors") is None  # renewed: still hers
    now[0] += 61  # alice died: her lease expired
    taken = bob.try_take("model/acme/big-model@abc/model.safetensors")
    assert taken is not None
    assert not alice.renew(held)  # hers no more
    alice.release(held)  # leaves bob's alone
    assert alice.try_take("model/acme/big-model@abc/model.safetensors") is None
    bob.release(taken)
    assert alice.try_take("model/acme/big-model@abc/model.safetensors") is not None
