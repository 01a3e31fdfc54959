"""A big file's upload cut short resumes: the parts already in the bucket are checked, not sent again.

The server killed mid-upload is in test_faults.py; here the pushing process itself is killed,
and the open uploads that are not this file's (other bytes, or nobody's any more) are dealt with.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import IntegrityError
from hg_localization.s3 import client as s3_client
from hg_localization.s3 import push
from hg_localization.store.layout import METADATA_FILENAME
from hg_localization.usecases.models import localize_model
from hg_localization.usecases.options import LocalizeOptions
from hg_localization.usecases.s3_sync import bucket_cache

from .test_faults import count_calls
from helpers.stored import ONE_FILE_MODEL, publish_one_file

MIB = 1024 * 1024
PREFIX = f"team/models/{ONE_FILE_MODEL}/main/"
KEY = PREFIX + "model.safetensors"

#: Run in a new process: push the revision, and stop for good once the first part is in the bucket.
PUSH_AND_HANG = """
import json, sys, time
from hg_localization.config import HGLocalizationConfig
from hg_localization.ids import parse_repo_id
from hg_localization.s3 import client as s3_client
from hg_localization.usecases.s3_sync import bucket_cache
from hg_localization.usecases.models import model_store
from hg_localization.progress import ProgressListener

s3_client.MULTIPART_THRESHOLD = s3_client.MULTIPART_CHUNKSIZE = 5 * 1024 * 1024

class HangAfterFirstPart(ProgressListener):
    def file_advanced(self, path, n_bytes):
        open(sys.argv[2], "w").close()
        time.sleep(3600)

config = HGLocalizationConfig(**json.load(open(sys.argv[1])))
stored = model_store(config).get(parse_repo_id("hgloc-test/big-model"), "main")
bucket_cache(config).push(stored, progress=HangAfterFirstPart())
"""


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_client, "MULTIPART_THRESHOLD", 5 * MIB)
    monkeypatch.setattr(s3_client, "MULTIPART_CHUNKSIZE", 5 * MIB)


def _config_file(team: HGLocalizationConfig, tmp_path: Path) -> Path:
    data = json.loads(json.dumps(dataclasses.asdict(team), default=str))
    secret = team.aws_secret_access_key
    data["aws_secret_access_key"] = secret.get_secret_value() if secret else None
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    return path


def _open_uploads(s3: Any, bucket: str) -> list[dict[str, Any]]:
    return list(s3.client("admin").list_multipart_uploads(Bucket=bucket).get("Uploads", []))


@pytest.mark.slow
def test_a_push_killed_mid_upload_is_resumed_by_the_next_one(
    team: HGLocalizationConfig, s3: Any, tmp_path: Path, teammate: Any, small_parts: None
) -> None:
    data = random.Random(11).randbytes(31 * MIB)  # 7 parts
    publish_one_file(team, data, commit="b" * 40)
    marker = tmp_path / "first-part-sent"
    pusher = subprocess.Popen(
        [sys.executable, "-c", PUSH_AND_HANG, str(_config_file(team, tmp_path)), str(marker)]
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and pusher.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the push never sent a part"
    finally:
        pusher.send_signal(signal.SIGKILL)  # a crash: no clean-up of any kind
        pusher.wait(timeout=30)
    bucket = team.s3_bucket_name
    assert bucket is not None and len(_open_uploads(s3, bucket)) == 1
    assert KEY not in s3.objects(bucket)

    cache = bucket_cache(team)
    sent = count_calls(cache, "UploadPart")
    stored = publish_one_file(team, data, commit="b" * 40)
    report = cache.push(stored)
    assert report.resumed_parts >= 1 and len(sent) + report.resumed_parts == 7
    assert sorted(sent) == sorted(set(sent))  # no part sent twice either
    assert _open_uploads(s3, bucket) == []
    outcome = localize_model(ONE_FILE_MODEL, config=teammate("bob"), options=LocalizeOptions(full=True))
    assert outcome.status == "from_bucket"
    assert (outcome.stored.path / "model.safetensors").read_bytes() == data


def test_an_open_upload_begun_for_other_bytes_never_vouches_for_this_file(
    team: HGLocalizationConfig, s3: Any, teammate: Any, small_parts: None
) -> None:
    """Same key, same first part, but begun for another file: its sha256 metadata is not kept."""
    data = random.Random(12).randbytes(12 * MIB)
    admin = s3.client("admin")
    bucket = team.s3_bucket_name
    other = admin.create_multipart_upload(Bucket=bucket, Key=KEY, Metadata={"sha256": "0" * 64})
    admin.upload_part(Bucket=bucket, Key=KEY, UploadId=other["UploadId"], PartNumber=1, Body=data[: 5 * MIB])

    report = bucket_cache(team).push(publish_one_file(team, data, commit="b" * 40))
    assert report.uploaded_files == 1
    assert admin.head_object(Bucket=bucket, Key=KEY)["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert _open_uploads(s3, bucket) == []
    assert bucket_cache(team).push(publish_one_file(team, data, commit="b" * 40)).uploaded_files == 0


def test_a_damaged_local_file_aborts_the_upload_it_would_have_resumed(
    team: HGLocalizationConfig, s3: Any, small_parts: None
) -> None:
    data = random.Random(13).randbytes(12 * MIB)
    admin = s3.client("admin")
    bucket = team.s3_bucket_name
    stored = publish_one_file(team, data, commit="b" * 40)
    dead = admin.create_multipart_upload(
        Bucket=bucket, Key=KEY, Metadata={"sha256": hashlib.sha256(data).hexdigest()}
    )
    admin.upload_part(Bucket=bucket, Key=KEY, UploadId=dead["UploadId"], PartNumber=1, Body=data[: 5 * MIB])
    damaged = bytearray(data)
    damaged[-1] ^= 0xFF  # found only when the last byte is read
    (stored.path / "model.safetensors").write_bytes(bytes(damaged))

    with pytest.raises(IntegrityError, match="Checksum mismatch"):
        bucket_cache(team).push(stored)
    assert s3.objects(bucket) == {}  # no object, no metadata object
    assert _open_uploads(s3, bucket) == []


def test_open_uploads_nobody_resumes_are_aborted_once_stale(
    team: HGLocalizationConfig, s3: Any, small_parts: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = random.Random(14).randbytes(6 * MIB)
    admin = s3.client("admin")
    bucket = team.s3_bucket_name
    stored = publish_one_file(team, data, commit="b" * 40)
    bucket_cache(team).push(stored)
    for key in (PREFIX + "removed-since.bin", KEY):  # a file no longer listed; one already complete
        admin.create_multipart_upload(Bucket=bucket, Key=key)
    assert len(_open_uploads(s3, bucket)) == 2

    assert bucket_cache(team).push(stored).aborted_uploads == 0  # young: maybe someone's running push
    monkeypatch.setattr(push, "STALE_UPLOAD_AGE", timedelta(0))
    report = bucket_cache(team).push(stored)
    assert report.aborted_uploads == 2 and report.uploaded_files == 0
    assert _open_uploads(s3, bucket) == []
    assert PREFIX + METADATA_FILENAME in s3.objects(bucket)


def test_an_identity_that_may_not_list_uploads_still_pushes(
    team: HGLocalizationConfig, s3: Any, small_parts: None
) -> None:
    """Resuming is best effort: without the right to list open uploads, the file is sent whole."""
    data = random.Random(15).randbytes(6 * MIB)
    cache = bucket_cache(team)
    denied = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}

    def refuse(**kwargs: Any) -> None:
        raise ClientError(denied, "ListMultipartUploads")

    cache.bucket.client.meta.events.register("before-call.s3.ListMultipartUploads", refuse)
    report = cache.push(publish_one_file(team, data, commit="b" * 40))
    assert report.uploaded_files == 1 and report.resumed_parts == 0


def test_an_open_upload_that_cannot_be_completed_is_replaced_by_a_fresh_one(
    team: HGLocalizationConfig, s3: Any, small_parts: None
) -> None:
    """Begun with another checksum algorithm than this client sends: resuming it fails, so it is
    aborted and the file is uploaded afresh (never a push that fails the same way every time)."""
    data = random.Random(16).randbytes(12 * MIB)
    admin = s3.client("admin")
    bucket = team.s3_bucket_name
    other = admin.create_multipart_upload(
        Bucket=bucket,
        Key=KEY,
        Metadata={"sha256": hashlib.sha256(data).hexdigest()},
        ChecksumAlgorithm="SHA1",
    )
    admin.upload_part(
        Bucket=bucket,
        Key=KEY,
        UploadId=other["UploadId"],
        PartNumber=1,
        Body=data[: 5 * MIB],
        ChecksumAlgorithm="SHA1",
    )

    report = bucket_cache(team).push(publish_one_file(team, data, commit="b" * 40))
    assert report.uploaded_files == 1 and report.resumed_parts == 0
    assert admin.get_object(Bucket=bucket, Key=KEY)["Body"].read() == data
    assert _open_uploads(s3, bucket) == []
