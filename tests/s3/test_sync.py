"""Syncing local revisions to the bucket: incremental, multipart for big files, listed by the index."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

import hg_localization
from hg_localization.config import HGLocalizationConfig
from hg_localization.ids import parse_repo_id
from hg_localization.integrity.hashing import git_blob_sha1
from hg_localization.s3 import client as s3_client
from hg_localization.s3.team_cache import BucketCache
from hg_localization.store.local_store import StoredRevision
from hg_localization.store.manifest import FileRecord, RevisionManifest, Selection
from hg_localization.usecases import s3_sync
from hg_localization.usecases.models import localize_model, model_store
from hg_localization.usecases.progress import ProgressListener

# use_in_cli: test_faults.py imports it from here.
from helpers.cli import CliRun, run, use_in_cli  # noqa: F401

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
    localize_model(hub_server.samples.bert, config=team, push=False)
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
    store = model_store(team)
    repo_id = parse_repo_id("hgloc-test/big-model")
    data = hashlib.sha256(b"seed").digest() * (size // 32)
    staging = store.open_staging(repo_id, "main")
    staging.path.mkdir(parents=True)
    staging.final_path("model.safetensors").write_bytes(data)
    manifest = RevisionManifest(
        repo_id=str(repo_id),
        repo_type="model",
        revision="main",
        commit="b" * 40,
        selections=[Selection(full=True)],
        files=[
            FileRecord(
                path="model.safetensors",
                local_path="model.safetensors",
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                git_sha1=git_blob_sha1(data),
                lfs=True,
            )
        ],
    )
    return store.publish(staging, manifest)


def test_big_files_go_multipart_with_progress_and_come_back_verified(
    team: HGLocalizationConfig, s3: Any, tmp_path: Path, teammate: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3_client, "MULTIPART_THRESHOLD", 5 * 1024 * 1024)
    monkeypatch.setattr(s3_client, "MULTIPART_CHUNKSIZE", 5 * 1024 * 1024)
    stored = big_revision(tmp_path, team, 12 * 1024 * 1024)
    progress = Recorder()
    report = BucketCache(team).sync(stored, progress=progress)
    assert report.uploaded_files == 1 and report.uploaded_bytes == 12 * 1024 * 1024
    assert progress.advanced["model.safetensors"] == 12 * 1024 * 1024
    head = s3.client("admin").head_object(
        Bucket=team.s3_bucket_name, Key="team/models/hgloc-test/big-model/main/model.safetensors"
    )
    assert head["ETag"].strip('"').endswith("-3")  # three parts
    assert head["Metadata"]["sha256"] == stored.manifest.files[0].sha256

    bob = localize_model("hgloc-test/big-model", config=teammate("bob"), full=True)
    assert bob.status == "from_bucket"
    assert (bob.stored.path / "model.safetensors").read_bytes() == (
        stored.path / "model.safetensors"
    ).read_bytes()


def test_a_damaged_local_file_is_never_uploaded(team: HGLocalizationConfig, s3: Any, tmp_path: Path) -> None:
    stored = big_revision(tmp_path, team, 64 * 1024)
    (stored.path / "model.safetensors").write_bytes(b"\0" * 64 * 1024)
    with pytest.raises(hg_localization.HGLocalizationError, match="Checksum mismatch"):
        BucketCache(team).sync(stored)
    assert s3.objects(team.s3_bucket_name) == {}


def test_a_metadata_only_push_does_not_shrink_a_full_copy_in_the_bucket(
    team: HGLocalizationConfig, hub_server: Any, s3: Any, teammate: Any
) -> None:
    full = localize_model(hub_server.samples.bert, config=team, full=True)
    carol_config = teammate("carol", hf_endpoint=hub_server.url)
    carol = localize_model(hub_server.samples.bert, config=carol_config, push=False, force=True)
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
