"""Faults: a bucket that refuses or cannot be reached, and a server killed in the middle of a sync."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import IntegrityError, StorageError, UpstreamError
from hg_localization.ids import parse_repo_id
from hg_localization.progress import ProgressListener
from hg_localization.s3 import client as s3_client
from hg_localization.s3 import push
from hg_localization.s3.bucket import Bucket
from hg_localization.s3.client import bucket_location
from hg_localization.s3.team_cache import BucketCache
from hg_localization.store.layout import METADATA_FILENAME
from hg_localization.usecases import s3_sync
from hg_localization.usecases.models import localize_model, model_store
from hg_localization.usecases.options import LocalizeOptions
from hg_localization.usecases.s3_sync import bucket_cache

from .conftest import ADMIN_KEY, ADMIN_SECRET, READER_SECRET, bucket_config, free_ports
from .test_sync import big_revision
from helpers.cli import run, use_in_cli
from helpers.stored import publish_one_file

SECRET = "Sup3r-S3cret-Value-never-print-me"


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The real command, in a new process, configured by environment variables only."""
    return subprocess.run(
        [sys.executable, "-m", "hg_localization.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def cli_env(
    tmp_path: Path, hub_url: str, endpoint: str, bucket: str, key: str, secret: str
) -> dict[str, str]:
    return {
        "HGLOC_MODELS_STORE_PATH": str(tmp_path / "models"),
        "HGLOC_DATASETS_STORE_PATH": str(tmp_path / "datasets"),
        "HGLOC_HF_ENDPOINT": hub_url,
        "HGLOC_S3_BUCKET_NAME": bucket,
        "HGLOC_S3_ENDPOINT_URL": endpoint,
        "HGLOC_S3_DATA_PREFIX": "team",
        "HGLOC_AWS_ACCESS_KEY_ID": key,
        "HGLOC_AWS_SECRET_ACCESS_KEY": secret,
    }


def assert_upload_failure_reported(
    result: subprocess.CompletedProcess[str], endpoint: str, bucket: str
) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 7, output
    assert "The local copy is complete" in result.stderr
    assert endpoint in result.stderr and bucket in result.stderr
    assert "hg-localization sync-local-model-to-s3 hgloc-test/tiny-bert --revision main" in result.stderr
    assert SECRET not in output


def test_an_unreachable_bucket_leaves_a_complete_local_copy_and_says_how_to_retry(
    tmp_path: Path, hub_server: Any, s3: Any
) -> None:
    dead = f"http://127.0.0.1:{free_ports(1)[0]}"
    env = cli_env(tmp_path, hub_server.url, dead, "team-bucket", "someone", SECRET)
    result = cli(env, "download-model", hub_server.samples.bert)
    assert_upload_failure_reported(result, dead, "team-bucket")
    assert "cannot be reached" in result.stderr
    folder = Path(result.stdout.strip())
    assert (folder / METADATA_FILENAME).is_file() and (folder / "config.json").is_file()

    result = cli(env, "list-s3-models")
    assert result.returncode == 7 and SECRET not in result.stdout + result.stderr


def test_wrong_credentials_are_denied_without_echoing_the_secret(
    tmp_path: Path, hub_server: Any, s3: Any, bucket_name: str
) -> None:
    env = cli_env(tmp_path, hub_server.url, s3.endpoint, bucket_name, "testadmin", SECRET)
    result = cli(env, "--verbose", "download-model", hub_server.samples.bert)  # botocore's debug log too
    assert_upload_failure_reported(result, s3.endpoint, bucket_name)
    assert "access denied" in result.stderr
    assert s3.objects(bucket_name) == {}


def test_a_read_only_identity_reads_the_bucket_but_cannot_write_to_it(
    tmp_path: Path,
    team: HGLocalizationConfig,
    hub_server: Any,
    s3: Any,
    bucket_name: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    localize_model(hub_server.samples.bert, config=team)  # the admin filled the bucket
    reader = bucket_config(
        tmp_path, s3.endpoint, bucket_name, who="reader", identity="reader", hub_url=hub_server.url
    )
    assert localize_model(hub_server.samples.bert, config=reader).status == "from_bucket"
    assert [e.repo_id for e in s3_sync.list_bucket_repos(reader, "model").entries] == [
        hub_server.samples.bert
    ]

    use_in_cli(monkeypatch, reader)
    code, out, err = run(capsys, "download-model", hub_server.samples.no_namespace)
    assert code == 7
    assert "The local copy is complete" in err and "access denied" in err and bucket_name in err
    assert "sync-local-model-to-s3 tiny-legacy --revision main" in err
    assert READER_SECRET not in out + err
    assert Path(out.strip(), "config.json").is_file()
    assert s3.objects(bucket_name, "team/models/_/") == {}


class KillAtFirstByte(ProgressListener):
    """Takes the S3 server down (SIGKILL) as soon as the first bytes of a file are sent."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.killed = False

    def file_advanced(self, path: str, n_bytes: int) -> None:
        if not self.killed:
            self.killed = True
            self.server.kill()


def test_a_server_killed_mid_upload_shows_no_half_revision_and_a_rerun_resumes_it(
    team: HGLocalizationConfig,
    s3: Any,
    tmp_path: Path,
    teammate: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The re-run completes the upload the dead run began: the parts that arrived are not sent again."""
    monkeypatch.setattr(s3_client, "MULTIPART_THRESHOLD", 5 * 1024 * 1024)
    monkeypatch.setattr(s3_client, "MULTIPART_CHUNKSIZE", 5 * 1024 * 1024)
    data = random.Random(7).randbytes(26 * 1024 * 1024)  # 6 parts, each different
    stored = publish_one_file(team, data, commit="b" * 40)
    killer = KillAtFirstByte(s3)
    with pytest.raises(StorageError, match="cannot be reached"):
        bucket_cache(team).push(stored, progress=killer)
    assert killer.killed

    s3.start()  # the same data folder: whatever arrived before the crash is still there
    bucket = team.s3_bucket_name
    prefix = "team/models/hgloc-test/big-model/main/"
    assert prefix + METADATA_FILENAME not in s3.objects(bucket, prefix)
    assert s3_sync.list_bucket_repos(team, "model").entries == []
    bob = teammate("bob")
    with pytest.raises(UpstreamError, match="Could not reach the Hub"):  # the bucket had no complete copy
        localize_model("hgloc-test/big-model", config=bob, options=LocalizeOptions(full=True))
    admin = s3.client("admin")
    assert admin.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads")  # the dead run's

    cache = bucket_cache(team)
    sent_parts = count_calls(cache, "UploadPart")
    report = cache.push(stored)
    assert report.uploaded_files == 1 and report.metadata_written
    assert report.resumed_parts >= 1 and report.resumed_bytes == report.resumed_parts * 5 * 1024 * 1024
    assert len(sent_parts) == 6 - report.resumed_parts  # the parts already there were not sent again
    assert not admin.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads")
    head = admin.head_object(Bucket=bucket, Key=prefix + "model.safetensors")
    assert head["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest()

    outcome = localize_model("hgloc-test/big-model", config=bob, options=LocalizeOptions(full=True))
    assert outcome.status == "from_bucket"
    assert (outcome.stored.path / "model.safetensors").read_bytes() == data
    assert model_store(bob).get(parse_repo_id("hgloc-test/big-model"), "main") is not None


def count_calls(cache: BucketCache, operation: str) -> list[int]:
    """The part numbers (or 0) of every ``operation`` request the cache's client sends from now on."""
    calls: list[int] = []

    def record(params: dict[str, Any], **kwargs: Any) -> None:
        calls.append(int(params.get("PartNumber", 0)))

    cache.bucket.client.meta.events.register(f"provide-client-params.s3.{operation}", record)
    return calls


def test_the_metadata_object_is_written_after_every_data_object(
    team: HGLocalizationConfig, hub_server: Any
) -> None:
    writes: list[str] = []

    def record(params: dict[str, Any], model: Any, **kwargs: Any) -> None:
        if model.name in ("PutObject", "CompleteMultipartUpload", "CopyObject"):
            writes.append(params["Key"])

    stored = localize_model(
        hub_server.samples.bert, config=team, options=LocalizeOptions(full=True, push=False)
    ).stored
    cache = bucket_cache(team)
    cache.bucket.client.meta.events.register("provide-client-params.s3.*", record)
    cache.push(stored, make_public=True)
    private = [k for k in writes if k.startswith("team/models/")]
    public = [k for k in writes if k.startswith("team/public/models/")]
    assert len(private) > len(stored.manifest.files) and len(public) == len(stored.manifest.files) + 1
    first_meta = writes.index(f"team/models/hgloc-test/tiny-bert/main/{METADATA_FILENAME}")
    assert all(writes.index(k) < first_meta for k in private if not k.endswith(METADATA_FILENAME))
    assert public[-1].endswith(METADATA_FILENAME)
    assert writes.index("team/public/public_models.json") > writes.index(public[-1])


def test_a_moved_branch_never_shows_the_old_commit_over_new_files(
    team: HGLocalizationConfig,
    s3: Any,
    tmp_path: Path,
    teammate: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Objects are keyed by revision name: pushing a moved branch overwrites them in place.

    The old commit's metadata object is withdrawn first, so a push killed half-way leaves no
    revision at all (readers fall back to the Hub), never the old commit vouching for new bytes.
    """
    monkeypatch.setattr(s3_client, "MULTIPART_THRESHOLD", 5 * 1024 * 1024)
    monkeypatch.setattr(s3_client, "MULTIPART_CHUNKSIZE", 5 * 1024 * 1024)
    first = big_revision(tmp_path, team, 12 * 1024 * 1024)
    bucket_cache(team).push(first)
    moved = _moved_branch(team, first, commit="c" * 40)

    killer = KillAtFirstByte(s3)
    with pytest.raises(StorageError, match="cannot be reached"):
        bucket_cache(team).push(moved, progress=killer)
    s3.start()
    prefix = "team/models/hgloc-test/big-model/main/"
    assert prefix + METADATA_FILENAME not in s3.objects(team.s3_bucket_name, prefix)
    bob = teammate("bob")
    with pytest.raises(UpstreamError):  # no complete copy in the bucket: the Hub is asked (and is down)
        localize_model("hgloc-test/big-model", config=bob, options=LocalizeOptions(full=True))

    bucket_cache(team).push(moved)
    outcome = localize_model("hgloc-test/big-model", config=bob, options=LocalizeOptions(full=True))
    assert outcome.status == "from_bucket" and outcome.stored.manifest.commit == "c" * 40
    assert (outcome.stored.path / "model.safetensors").read_bytes() == (
        moved.path / "model.safetensors"
    ).read_bytes()


def _moved_branch(team: HGLocalizationConfig, stored: Any, *, commit: str) -> Any:
    """The same revision name at another commit, with other bytes, published into the store."""
    data = hashlib.sha256(b"moved").digest() * (stored.manifest.files[0].size // 32)
    return publish_one_file(team, data, commit=commit, revision=stored.manifest.revision)


def test_a_local_file_that_cannot_be_read_is_named_with_how_to_repair_the_copy(
    team: HGLocalizationConfig,
    hub_server: Any,
    s3: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bert = hub_server.samples.bert
    stored = localize_model(bert, config=team, options=LocalizeOptions(full=True, push=False)).stored
    unreadable = stored.path / stored.manifest.files[-1].local_path
    real_open = Path.open

    def refuse(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == unreadable:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)  # (root reads a chmod 000 file: refuse it here instead)
    use_in_cli(monkeypatch, team)
    code, _, err = run(capsys, "sync-local-model-to-s3", bert)
    assert code == 8, err
    assert "Unexpected error" not in err
    assert f"Could not read '{unreadable}'" in err and "Permission denied" in err
    assert f"hg-localization download-model {bert} --revision main --force" in err
    objects = s3.objects(team.s3_bucket_name)
    assert not any(k.endswith(METADATA_FILENAME) for k in objects)
    assert not any(k.endswith("/" + unreadable.name) for k in objects)

    monkeypatch.undo()
    unreadable.unlink()  # gone altogether: the same words
    use_in_cli(monkeypatch, team)
    code, _, err = run(capsys, "sync-local-model-to-s3", bert)
    assert code == 8 and "No such file or directory" in err and "--force" in err


def test_a_damaged_local_file_never_completes_an_object_even_when_the_body_is_streamed(
    team: HGLocalizationConfig, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its bytes are hashed as they are sent: the last read fails, so the object is never complete.

    Checked with the body streamed while sending (no payload signing, as over HTTPS on AWS) and
    in parts (multipart); neither leaves an object or an incomplete upload behind.
    """
    monkeypatch.setattr(s3_client, "MULTIPART_THRESHOLD", 5 * 1024 * 1024)
    monkeypatch.setattr(s3_client, "MULTIPART_CHUNKSIZE", 5 * 1024 * 1024)
    bucket_name = team.s3_bucket_name
    assert bucket_name is not None
    admin = s3.client("admin")
    for size in (64 * 1024, 12 * 1024 * 1024):
        stored = big_revision(tmp_path, team, size)
        damaged = bytearray((stored.path / "model.safetensors").read_bytes())
        damaged[-1] ^= 0xFF  # only the last byte: it is found at the last read
        (stored.path / "model.safetensors").write_bytes(bytes(damaged))
        streaming = boto3.client(
            "s3",
            endpoint_url=s3.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ADMIN_KEY,
            aws_secret_access_key=ADMIN_SECRET,
            config=Config(
                s3={"addressing_style": "path", "payload_signing_enabled": False},
                request_checksum_calculation="when_required",
            ),
        )
        with pytest.raises(IntegrityError, match="Checksum mismatch") as caught:
            push.push_revision(Bucket(streaming, bucket_location(team)), stored)
        assert "download-model hgloc-test/big-model --revision main --force" in str(caught.value.hint)
        assert s3.objects(bucket_name) == {}
        assert not admin.list_multipart_uploads(Bucket=bucket_name).get("Uploads")
        model_store(team).remove(parse_repo_id("hgloc-test/big-model"), "main")
