"""The push record: a push with nothing to send reads no local file and HEADs no object, and is
still exact (an object replaced since, or a file re-localized with other bytes, is sent again)."""

from __future__ import annotations

import builtins
import hashlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hg_localization.config import HGLocalizationConfig
from hg_localization.s3 import client as s3_client
from hg_localization.s3.team_cache import BucketCache
from hg_localization.store.local_store import StoredRevision
from hg_localization.store.push_record import PushRecord
from hg_localization.usecases.models import localize_model
from hg_localization.usecases.options import LocalizeOptions
from hg_localization.usecases.s3_sync import bucket_cache

from helpers.cli import use_in_cli
from helpers.stored import publish_one_file

pytestmark = pytest.mark.slow

BERT_PREFIX = "team/models/hgloc-test/tiny-bert/main/"
BIG_KEY = "team/models/hgloc-test/big-model/main/model.safetensors"


class Watch:
    """The HEADs a bucket client sends and the files under ``folder`` that are opened."""

    def __init__(self, cache: BucketCache, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.heads: list[str] = []
        self.opened: list[Path] = []
        cache.bucket.client.meta.events.register(
            "provide-client-params.s3.HeadObject", lambda params, **kwargs: self.heads.append(params["Key"])
        )
        real_open = io.open

        def counting_open(file: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(file, (str, os.PathLike)) and Path(file).is_relative_to(folder):
                self.opened.append(Path(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(io, "open", counting_open)
        monkeypatch.setattr(builtins, "open", counting_open)

    def data_heads(self, prefix: str) -> list[str]:
        return [key for key in self.heads if key.startswith(prefix) and not key.startswith(prefix + ".")]

    def data_files_opened(self) -> list[Path]:
        return [path for path in self.opened if not path.name.startswith(".")]


@pytest.fixture
def bert(team: HGLocalizationConfig, hub_server: Any) -> StoredRevision:
    return localize_model(
        hub_server.samples.bert, config=team, options=LocalizeOptions(full=True, push=False)
    ).stored


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(s3_client, "MULTIPART_THRESHOLD", 5 * 1024 * 1024)
    monkeypatch.setattr(s3_client, "MULTIPART_CHUNKSIZE", 5 * 1024 * 1024)
    yield


def test_after_a_push_nothing_changed_reads_no_file_and_heads_no_object(
    team: HGLocalizationConfig, bert: StoredRevision, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = bucket_cache(team)
    assert cache.push(bert).uploaded_files == len(bert.manifest.files)
    watch = Watch(cache, bert.path, monkeypatch)
    report = cache.push(bert)
    assert (report.uploaded_files, report.skipped_files, report.metadata_written) == (
        0,
        len(bert.manifest.files),
        False,
    )
    assert watch.data_heads(BERT_PREFIX) == [] and watch.data_files_opened() == []


def test_an_object_replaced_since_the_push_is_sent_again(
    team: HGLocalizationConfig, bert: StoredRevision, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = bucket_cache(team)
    cache.push(bert)
    vocab = (bert.path / "vocab.txt").read_bytes()
    damaged = bytes([vocab[0] ^ 1]) + vocab[1:]  # the same size, other bytes
    s3.client("admin").put_object(Bucket=team.s3_bucket_name, Key=BERT_PREFIX + "vocab.txt", Body=damaged)
    report = cache.push(bert)
    assert (report.uploaded_files, report.skipped_files) == (1, len(bert.manifest.files) - 1)
    answer = s3.client("admin").get_object(Bucket=team.s3_bucket_name, Key=BERT_PREFIX + "vocab.txt")
    assert answer["Body"].read() == vocab
    watch = Watch(cache, bert.path, monkeypatch)
    assert cache.push(bert).uploaded_files == 0  # the record now knows the new object
    assert watch.data_heads(BERT_PREFIX) == [] and watch.data_files_opened() == []


def test_a_big_object_replaced_with_other_bytes_of_its_size_is_sent_again(
    team: HGLocalizationConfig, s3: Any, small_parts: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = 12 * 1024 * 1024
    stored = publish_one_file(team, hashlib.sha256(b"seed").digest() * (size // 32), commit="b" * 40)
    cache = bucket_cache(team)
    assert cache.push(stored).uploaded_files == 1
    watch = Watch(cache, stored.path, monkeypatch)
    assert cache.push(stored).uploaded_files == 0
    assert watch.data_heads(BIG_KEY) == [] and watch.data_files_opened() == []

    admin = s3.client("admin")
    admin.put_object(Bucket=team.s3_bucket_name, Key=BIG_KEY, Body=b"\0" * size)  # no sha256 with it
    assert cache.push(stored).uploaded_files == 1
    body = admin.get_object(Bucket=team.s3_bucket_name, Key=BIG_KEY)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == stored.manifest.files[0].sha256

    # The branch moved: the same key, the same size, other bytes (its sha256 is not the recorded one).
    moved = publish_one_file(team, hashlib.sha256(b"other").digest() * (size // 32), commit="c" * 40)
    assert cache.push(moved).uploaded_files == 1
    body = admin.get_object(Bucket=team.s3_bucket_name, Key=BIG_KEY)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == moved.manifest.files[0].sha256


def test_a_damaged_or_foreign_record_is_as_if_there_were_none(
    team: HGLocalizationConfig, bert: StoredRevision, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = bucket_cache(team)
    cache.push(bert)
    records = list((bert.path.parents[2] / ".locks" / ".pushed").rglob("*.json"))
    assert len(records) == 1 and "tiny-bert" in str(records[0])
    records[0].write_text('{"format": 1, "objects": [')
    watch = Watch(cache, bert.path, monkeypatch)
    assert cache.push(bert).uploaded_files == 0  # compared the slow way: each small file is read
    assert watch.data_files_opened()
    assert PushRecord(records[0], "elsewhere").load() == {}  # rewritten, for its own destination only
    assert PushRecord.for_revision(bert.path.parent / "no such id" / "main", "model", "x") is None


def test_the_record_says_what_the_bucket_holds_not_what_the_folder_holds(tmp_path: Path) -> None:
    record = PushRecord(tmp_path / "r.json", "dest")
    assert record.load() == {}
    record.save({"k": ("etag", "a" * 64)})
    assert record.load() == {"k": ("etag", "a" * 64)}
    assert PushRecord(tmp_path / "r.json", "other").load() == {}
    objects = '{"k": [1, 2], "j": ["e", "s"]}'
    (tmp_path / "r.json").write_text(f'{{"format": 1, "destination": "dest", "objects": {objects}}}')
    assert record.load() == {"j": ("e", "s")}


def test_a_push_needs_no_pydantic() -> None:
    """Every push writes an index entry (a plain dataclass); the public index, still a pydantic
    model, is imported only by what makes something public or reads the public index."""
    code = (
        "import sys, hg_localization.usecases.s3_sync, hg_localization.s3.push; "
        "sys.exit(10 if 'pydantic' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_the_bucket_commands_load_no_hub_client_and_no_http_client() -> None:
    """A sync with nothing to send is mostly start-up: the Hub's client (huggingface_hub's HfApi,
    httpx) costs a quarter of a second that the bucket commands never use."""
    code = (
        "import sys, hg_localization.cli.s3; "
        "heavy = ('hg_localization.hub.client', 'hg_localization.usecases.localize', 'httpx2', 'httpx'); "
        "sys.exit(10 if [m for m in heavy if m in sys.modules] else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_a_sync_with_nothing_to_send_loads_neither_boto3_nor_the_public_index(
    team: HGLocalizationConfig, bert: StoredRevision, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its requests go through botocore alone: boto3 (with its resources and s3transfer, a fifth
    of such a sync) is loaded only when files move, and the public index (a pydantic model) only
    when something is made public."""
    assert bucket_cache(team).push(bert).uploaded_files == len(bert.manifest.files)
    use_in_cli(monkeypatch, team)
    heavy = ("boto3", "s3transfer", "hg_localization.s3.managed", "hg_localization.s3.public")
    code = (
        "import atexit, runpy, sys\n"
        f"atexit.register(lambda: print('LOADED', [m for m in {heavy!r} if m in sys.modules]))\n"
        "sys.argv = ['hg-localization', 'sync-local-model-to-s3', 'hgloc-test/tiny-bert']\n"
        "runpy.run_module('hg_localization', run_name='__main__')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "nothing to upload" in done.stdout + done.stderr
    assert "LOADED []" in done.stdout
