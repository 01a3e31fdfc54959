"""Syncing local revisions to the bucket: incremental, multipart for big files, listed by the index."""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import hg_localization
from hg_localization.config import HGLocalizationConfig
from hg_localization.ids import parse_repo_id
from hg_localization.progress import ProgressListener
from hg_localization.s3 import client as s3_client
from hg_localization.s3.bucket import Bucket
from hg_localization.s3.push import push_revision
from hg_localization.store.layout import METADATA_FILENAME
from hg_localization.store.local_store import StoredRevision
from hg_localization.usecases import s3_sync
from hg_localization.usecases.models import localize_model, model_store
from hg_localization.usecases.options import LocalizeOptions
from hg_localization.usecases.s3_sync import bucket_cache

from helpers.cli import CliRun, run
from helpers.stored import publish_one_file

BERT_PREFIX = "team/models/hgloc-test/tiny-bert/main/"


class Recorder(ProgressListener):
    def __init__(self) -> None:
        self.started: list[tuple[str, int]] = []
        self.advanced: dict[str, int] = {}

    def file_started(self, path: str, size: int) -> None:
        self.started.append((path, size))

    def file_advanced(self, path: str, n_bytes: int) -> None:
        self.advanced[path] = self.advanced.get(path, 0) + n_bytes


def test_sync_uploads_what_was_kept_local_then_only_what_changed(
    team: HGLocalizationConfig,
    hub_server: Any,
    s3: Any,
    team_cli: CliRun,
) -> None:
    bert = hub_server.samples.bert
    assert team_cli("download-model", bert, "--full-model", "--no-s3-upload")[0] == 0
    assert s3.objects(team.s3_bucket_name) == {}

    code, _, err = team_cli("sync-local-model-to-s3", bert)
    assert code == 0, err
    stored = model_store(team).get(parse_repo_id(bert), "main")
    assert stored is not None
    n_files = len(stored.manifest.files)
    assert f"{n_files} files uploaded" in err and "0 already there" in err

    code, _, err = team_cli("sync-local-model-to-s3", bert)
    assert code == 0 and "nothing to upload" in err

    # Someone damaged one object in the bucket: the next sync re-uploads it, and only it.
    s3.client("admin").put_object(Bucket=team.s3_bucket_name, Key=BERT_PREFIX + "vocab.txt", Body=b"x")
    report = s3_sync.sync_local_repo(team, "model", bert)
    assert (report.uploaded_files, report.skipped_files, report.metadata_written) == (1, n_files - 1, False)


def test_sync_all_and_list_s3_models_as_table_and_json(
    team: HGLocalizationConfig,
    hub_server: Any,
    team_cli: CliRun,
) -> None:
    samples = hub_server.samples
    for model in (samples.bert, samples.no_namespace):
        assert team_cli("download-model", model, "--no-s3-upload")[0] == 0
    assert team_cli("download-model", samples.bert, "--revision", samples.bert_pr, "--no-s3-upload")[0] == 0
    code, out, err = team_cli("list-s3-models", "--json")
    assert code == 0 and json.loads(out) == []

    code, _, err = team_cli("sync-all-local-models-to-s3")
    assert code == 0, err
    assert err.count("Synced") == 3

    code, out, _ = team_cli("list-s3-models", "--json")
    listed = [(m["model_id"], m["revision"]) for m in json.loads(out)]
    assert listed == [(samples.bert, "main"), (samples.bert, samples.bert_pr), (samples.no_namespace, "main")]
    first = json.loads(out)[0]
    assert first["files"] == 2 and first["public"] is False and len(first["commit"]) == 40

    code, out, _ = team_cli("list-s3-models")
    assert code == 0 and "tiny-bert" in out and "refs/pr/1" in out and "tiny-legacy" in out

    api = hg_localization.list_s3_models(config=team)
    assert [(m["model_id"], m["revision"]) for m in api] == listed
    assert api[0]["is_public"] is False


def test_the_python_api_reports_success_and_failure(team: HGLocalizationConfig, hub_server: Any) -> None:
    ok, message = hg_localization.sync_local_model_to_s3(hub_server.samples.bert, config=team)
    assert not ok and "not in the local store" in message
    localize_model(hub_server.samples.bert, config=team, options=LocalizeOptions(push=False))
    ok, message = hg_localization.sync_local_model_to_s3(hub_server.samples.bert, config=team)
    assert ok and "2 files uploaded" in message
    results = hg_localization.sync_all_local_models_to_s3(config=team)
    assert results == [
        {
            "model_id": hub_server.samples.bert,
            "revision": "main",
            "ok": True,
            "message": results[0]["message"],
        }
    ]
    assert "nothing to upload" in results[0]["message"]


def big_revision(tmp_path: Path, team: HGLocalizationConfig, size: int) -> StoredRevision:
    """A local revision with one file of ``size`` bytes, written straight into the store."""
    return publish_one_file(team, hashlib.sha256(b"seed").digest() * (size // 32), commit="b" * 40)


def test_big_files_go_multipart_with_progress_and_come_back_verified(
    team: HGLocalizationConfig, s3: Any, tmp_path: Path, teammate: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3_client, "MULTIPART_THRESHOLD", 5 * 1024 * 1024)
    monkeypatch.setattr(s3_client, "MULTIPART_CHUNKSIZE", 5 * 1024 * 1024)
    stored = big_revision(tmp_path, team, 12 * 1024 * 1024)
    progress = Recorder()
    report = bucket_cache(team).push(stored, progress=progress)
    assert report.uploaded_files == 1 and report.uploaded_bytes == 12 * 1024 * 1024
    assert progress.advanced["model.safetensors"] == 12 * 1024 * 1024
    head = s3.client("admin").head_object(
        Bucket=team.s3_bucket_name, Key="team/models/hgloc-test/big-model/main/model.safetensors"
    )
    assert head["ETag"].strip('"').endswith("-3")  # three parts
    assert head["Metadata"]["sha256"] == stored.manifest.files[0].sha256

    bob = localize_model("hgloc-test/big-model", config=teammate("bob"), options=LocalizeOptions(full=True))
    assert bob.status == "from_bucket"
    assert (bob.stored.path / "model.safetensors").read_bytes() == (
        stored.path / "model.safetensors"
    ).read_bytes()


def test_a_damaged_local_file_is_never_uploaded(team: HGLocalizationConfig, s3: Any, tmp_path: Path) -> None:
    stored = big_revision(tmp_path, team, 64 * 1024)
    (stored.path / "model.safetensors").write_bytes(b"\0" * 64 * 1024)
    with pytest.raises(hg_localization.HGLocalizationError, match="Checksum mismatch"):
        bucket_cache(team).push(stored)
    assert s3.objects(team.s3_bucket_name) == {}


def test_a_metadata_only_push_does_not_shrink_a_full_copy_in_the_bucket(
    team: HGLocalizationConfig, hub_server: Any, s3: Any, teammate: Any
) -> None:
    full = localize_model(hub_server.samples.bert, config=team, options=LocalizeOptions(full=True))
    carol_config = teammate("carol", hf_endpoint=hub_server.url)
    carol = localize_model(
        hub_server.samples.bert, config=carol_config, options=LocalizeOptions(push=False, force=True)
    )
    assert len(carol.stored.manifest.files) == 2
    report = s3_sync.sync_revision_to_bucket(carol.stored, carol_config)
    assert report.uploaded_files == 0 and not report.metadata_written
    listed = s3_sync.list_bucket_repos(team, "model").entries
    assert [(e.files, e.full) for e in listed] == [(len(full.stored.manifest.files), True)]


def test_no_bucket_configured_says_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HGLOC_MODELS_STORE_PATH", str(tmp_path / "models"))
    code, _, err = run(capsys, "list-s3-models")
    assert code == 2 and "HGLOC_S3_BUCKET_NAME" in err


def test_without_hgloc_keys_the_standard_aws_chain_is_used(
    tmp_path: Path, s3: Any, bucket_name: str, hub_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = tmp_path / "aws" / "credentials"
    credentials.parent.mkdir()
    credentials.write_text("[team]\naws_access_key_id = testadmin\naws_secret_access_key = testadminsecret\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws" / "config"))
    monkeypatch.setenv("AWS_PROFILE", "team")
    config = HGLocalizationConfig(
        models_store_path=tmp_path / "models",
        datasets_store_path=tmp_path / "datasets",
        hf_endpoint=hub_server.url,
        s3_bucket_name=bucket_name,
        s3_endpoint_url=s3.endpoint,
        s3_data_prefix="team",
    )
    outcome = localize_model(hub_server.samples.bert, config=config)
    assert outcome.upload_error is None
    listed = s3_sync.list_bucket_repos(config, "model").entries
    assert [e.repo_id for e in listed] == [hub_server.samples.bert]

    monkeypatch.delenv("AWS_PROFILE")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testreader")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testreadersecret")
    outcome = localize_model(hub_server.samples.no_namespace, config=config)
    assert outcome.upload_error is not None and "access denied" in outcome.upload_error.message


def test_half_a_key_pair_is_refused(tmp_path: Path) -> None:
    config = HGLocalizationConfig(
        models_store_path=tmp_path, s3_bucket_name="team-bucket", aws_access_key_id="only-the-id"
    )
    with pytest.raises(hg_localization.HGLocalizationError, match="Only one of HGLOC_AWS_ACCESS_KEY_ID"):
        s3_sync.list_bucket_repos(config, "model")


# --- pushes that meet: conditional metadata writes, never a step back ------------------------------

METADATA_KEY = BERT_PREFIX + METADATA_FILENAME


def before_put(bucket: Bucket, key: str, action: Callable[[], object], *, nth: int = 1) -> None:
    """Run ``action`` once, just before this bucket's ``nth`` PutObject of ``key`` goes out."""
    seen = 0

    def hook(params: dict[str, Any], **kwargs: Any) -> None:
        nonlocal seen
        if params.get("Key") == key:
            seen += 1
            if seen == nth:
                action()

    bucket.client.meta.events.register("provide-client-params.s3.PutObject", hook)


def test_a_full_and_a_metadata_only_push_at_once_keep_the_full_listing(
    team: HGLocalizationConfig, hub_server: Any, teammate: Any
) -> None:
    """Both read "no metadata object"; the metadata-only push writes last, and must merge, not replace."""
    bert = hub_server.samples.bert
    full = localize_model(bert, config=team, options=LocalizeOptions(full=True, push=False)).stored
    carol_config = teammate("carol", hf_endpoint=hub_server.url)
    small = localize_model(bert, config=carol_config, options=LocalizeOptions(push=False)).stored
    assert small.manifest.commit == full.manifest.commit and len(small.manifest.files) == 2

    carol = bucket_cache(carol_config).bucket
    before_put(carol, METADATA_KEY, lambda: push_revision(bucket_cache(team).bucket, full))
    report = push_revision(carol, small)

    assert not report.metadata_written  # the full listing already said everything hers would
    listed = s3_sync.list_bucket_repos(team, "model").entries
    assert [(e.files, e.full) for e in listed] == [(len(full.manifest.files), True)]


def test_make_public_marks_the_listing_a_concurrent_push_wrote_without_shrinking_it(
    team: HGLocalizationConfig, hub_server: Any, teammate: Any, s3: Any
) -> None:
    bert = hub_server.samples.bert
    full = localize_model(bert, config=team, options=LocalizeOptions(full=True, push=False)).stored
    carol_config = teammate("carol", hf_endpoint=hub_server.url)
    small = localize_model(bert, config=carol_config, options=LocalizeOptions(push=False)).stored

    carol = bucket_cache(carol_config).bucket
    # Her second write of the private metadata object is the one saying "public" at the end.
    before_put(carol, METADATA_KEY, lambda: push_revision(bucket_cache(team).bucket, full), nth=2)
    push_revision(carol, small, make_public=True)

    [entry] = s3_sync.list_bucket_repos(team, "model").entries
    assert (entry.files, entry.full, entry.public) == (len(full.manifest.files), True, True)
    stored = json.loads(
        s3.client("admin").get_object(Bucket=team.s3_bucket_name, Key=METADATA_KEY)["Body"].read()
    )
    assert len(stored["files"]) == len(full.manifest.files) and stored["public"] is True


def revision_at(
    config: HGLocalizationConfig, commit: str, fetched_at: datetime, *, seed: bytes
) -> StoredRevision:
    """``hgloc-test/big-model`` at ``main`` in this store: one 64 KiB file, at ``commit``, fetched then."""
    return publish_one_file(
        config, hashlib.sha256(seed).digest() * 2048, commit=commit, fetched_at=fetched_at
    )


def test_a_sync_from_an_old_store_never_moves_a_branch_back(
    team: HGLocalizationConfig, s3: Any, teammate: Any, team_cli: CliRun
) -> None:
    now = datetime.now(UTC)
    revision_at(team, "a" * 40, now - timedelta(days=30), seed=b"old")  # Alice's old copy of main
    bob = teammate("bob")
    newer = revision_at(bob, "b" * 40, now - timedelta(hours=1), seed=b"new")
    s3_sync.sync_revision_to_bucket(newer, bob)
    key = "team/models/hgloc-test/big-model/main/"
    before = s3.objects(team.s3_bucket_name, key)

    code, _, err = team_cli("sync-all-local-models-to-s3")
    assert code == 7, err
    assert "The bucket has a newer commit of model 'hgloc-test/big-model' at 'main' (bbbbbbbbbbbb" in err
    assert "than the local copy (aaaaaaaaaaaa" in err and "it was not replaced" in err
    assert "hg-localization download-model hgloc-test/big-model --revision main --force" in err
    [entry] = s3_sync.list_bucket_repos(team, "model").entries
    assert entry.commit == "b" * 40
    after = s3.objects(team.s3_bucket_name, key)
    assert {k: v["ETag"] for k, v in after.items()} == {k: v["ETag"] for k, v in before.items()}

    # Once Alice's copy is newer (she localized again), her push moves the branch forward.
    revision_at(team, "c" * 40, now, seed=b"newest")
    code, _, err = team_cli("sync-all-local-models-to-s3")
    assert code == 0, err
    [entry] = s3_sync.list_bucket_repos(team, "model").entries
    assert entry.commit == "c" * 40


# --- the push reads the local copy under its lock, once -------------------------------------------


@pytest.mark.parametrize("how", ["one", "all"])
def test_a_sync_waits_for_whoever_holds_the_revision_lock(
    team: HGLocalizationConfig, hub_server: Any, s3: Any, how: str
) -> None:
    """A localization of the same revision (which holds the lock) is never read half-done."""
    bert = hub_server.samples.bert
    localize_model(bert, config=team, options=LocalizeOptions(push=False))
    lock = model_store(team).lock(parse_repo_id(bert), "main")
    results: list[object] = []

    def sync() -> None:
        if how == "one":
            results.append(s3_sync.sync_local_repo(team, "model", bert))
        else:
            results.append(s3_sync.sync_all_local(team, "model"))

    with lock:
        pusher = threading.Thread(target=sync)
        pusher.start()
        pusher.join(timeout=1.5)
        assert pusher.is_alive(), "the sync did not wait for the revision's lock"
        assert s3.objects(team.s3_bucket_name) == {}
    pusher.join(timeout=60)
    assert not pusher.is_alive() and len(results) == 1
    assert [e.repo_id for e in s3_sync.list_bucket_repos(team, "model").entries] == [bert]


def test_a_push_reads_each_local_file_once(
    team: HGLocalizationConfig, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sha256 is computed from the bytes as they are sent: no hashing pass before the upload."""
    monkeypatch.setattr(s3_client, "MULTIPART_THRESHOLD", 5 * 1024 * 1024)
    monkeypatch.setattr(s3_client, "MULTIPART_CHUNKSIZE", 5 * 1024 * 1024)
    stored = big_revision(tmp_path, team, 12 * 1024 * 1024)
    target = stored.path / "model.safetensors"
    opened: list[str] = []
    real_open = io.open

    def counting_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, os.PathLike)) and Path(file) == target:
            opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(io, "open", counting_open)
    monkeypatch.setattr(builtins, "open", counting_open)
    report = s3_sync.sync_local_repo(team, "model", "hgloc-test/big-model")
    assert report.uploaded_files == 1
    assert len(opened) == 1
    head = s3.client("admin").head_object(
        Bucket=team.s3_bucket_name, Key="team/models/hgloc-test/big-model/main/model.safetensors"
    )
    assert head["ContentLength"] == 12 * 1024 * 1024 and head["ETag"].strip('"').endswith("-3")


def test_a_push_with_nothing_changed_lists_the_bucket_instead_of_asking_per_file(
    team: HGLocalizationConfig, hub_server: Any, s3: Any
) -> None:
    """An object whose ETag is the local file's MD5 (and that file's sha256 the recorded one) holds
    exactly those bytes: no HEAD per file. One of the same size but other bytes is still sent."""
    stored = localize_model(
        hub_server.samples.bert, config=team, options=LocalizeOptions(full=True, push=False)
    ).stored
    cache = bucket_cache(team)
    cache.push(stored)
    heads: list[str] = []
    cache.bucket.client.meta.events.register(
        "provide-client-params.s3.HeadObject", lambda params, **kwargs: heads.append(params["Key"])
    )
    n_files = len(stored.manifest.files)
    report = cache.push(stored)
    assert (report.uploaded_files, report.skipped_files, report.metadata_written) == (0, n_files, False)
    assert not [key for key in heads if key.startswith(BERT_PREFIX)]

    vocab = (stored.path / "vocab.txt").read_bytes()
    damaged = bytes([vocab[0] ^ 1]) + vocab[1:]  # the same size, other bytes, no sha256 recorded
    s3.client("admin").put_object(Bucket=team.s3_bucket_name, Key=BERT_PREFIX + "vocab.txt", Body=damaged)
    report = cache.push(stored)
    assert (report.uploaded_files, report.skipped_files) == (1, n_files - 1)
    assert [key for key in heads if key.startswith(BERT_PREFIX)] == [BERT_PREFIX + "vocab.txt"]
    answer = s3.client("admin").get_object(Bucket=team.s3_bucket_name, Key=BERT_PREFIX + "vocab.txt")
    assert answer["Body"].read() == vocab
