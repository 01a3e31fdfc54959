"""The indexes: no lost update under concurrency; damage is rebuilt or reported, never emptied."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import InvalidInputError, StorageError
from hg_localization.s3.bucket import Bucket
from hg_localization.s3.catalog import IndexEntry
from hg_localization.s3.public import add_to_public_index, read_public_index
from hg_localization.store.manifest import RevisionManifest
from hg_localization.usecases import s3_sync
from hg_localization.usecases.models import localize_model
from hg_localization.usecases.options import LocalizeOptions

from helpers.cli import CliRun

PUBLIC_INDEX = "team/public/public_models.json"


def manifest_for(repo_id: str, revision: str = "main") -> RevisionManifest:
    return RevisionManifest(repo_id=repo_id, repo_type="model", revision=revision, commit="c" * 40)


def test_concurrent_public_index_updates_lose_nothing(team: HGLocalizationConfig, s3: Any) -> None:
    ids = [f"org{n}/model{n}" for n in range(8)]
    barrier = threading.Barrier(len(ids))
    errors: list[BaseException] = []

    def publish(repo_id: str) -> None:
        bucket = Bucket.from_config(team)  # one client per writer, as separate processes would have
        barrier.wait()
        try:
            add_to_public_index(bucket, manifest_for(repo_id))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=publish, args=(repo_id,)) for repo_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    index, _ = read_public_index(Bucket.from_config(team), "model")
    assert index is not None
    assert sorted(e.repo_id for e in index.entries) == sorted(ids)


def test_a_stale_writer_is_refused_by_the_conditional_write(team: HGLocalizationConfig, s3: Any) -> None:
    bucket = Bucket.from_config(team)
    add_to_public_index(bucket, manifest_for("org/first"))
    _, etag = read_public_index(bucket, "model")
    add_to_public_index(bucket, manifest_for("org/second"))
    from hg_localization.s3.bucket import WriteConflictError

    with pytest.raises(WriteConflictError):
        bucket.put_bytes(PUBLIC_INDEX, b"{}", if_match=etag)
    with pytest.raises(WriteConflictError):
        bucket.put_bytes(PUBLIC_INDEX, b"{}", if_none_match=True)


def test_a_damaged_public_index_is_reported_to_readers_and_rebuilt_by_the_next_writer(
    team: HGLocalizationConfig,
    hub_server: Any,
    s3: Any,
    team_cli: CliRun,
) -> None:
    samples = hub_server.samples
    localize_model(samples.bert, config=team, options=LocalizeOptions(make_public=True))
    s3.client("admin").put_object(Bucket=team.s3_bucket_name, Key=PUBLIC_INDEX, Body=b"{not json")

    code, out, err = team_cli("list-public-models", "--json")
    assert code != 0 and out == ""
    assert "public index" in err and "damaged" in err and "--rebuild-index" in err

    localize_model(samples.no_namespace, config=team, options=LocalizeOptions(make_public=True))
    listed = [e.repo_id for e in s3_sync.list_public_repos(team, "model")]
    assert listed == [samples.bert, samples.no_namespace]  # rebuilt from the public metadata, not emptied


def test_a_missing_public_index_is_rebuilt_from_the_public_metadata(
    team: HGLocalizationConfig, hub_server: Any, s3: Any
) -> None:
    samples = hub_server.samples
    localize_model(samples.bert, config=team, options=LocalizeOptions(make_public=True))
    s3.client("admin").delete_object(Bucket=team.s3_bucket_name, Key=PUBLIC_INDEX)
    with pytest.raises(StorageError, match="no public index"):
        s3_sync.list_public_repos(team, "model")
    localize_model(samples.no_namespace, config=team, options=LocalizeOptions(make_public=True))
    assert [e.repo_id for e in s3_sync.list_public_repos(team, "model")] == [
        samples.bert,
        samples.no_namespace,
    ]


def test_damaged_and_missing_private_index_entries_are_rebuilt_and_reported(
    team: HGLocalizationConfig,
    hub_server: Any,
    s3: Any,
    team_cli: CliRun,
) -> None:
    samples = hub_server.samples
    localize_model(samples.bert, config=team)
    localize_model(samples.no_namespace, config=team)
    admin = s3.client("admin")
    bucket = team.s3_bucket_name
    admin.put_object(Bucket=bucket, Key="team/index/models/hgloc-test/tiny-bert/main.json", Body=b"garbage")
    admin.delete_object(Bucket=bucket, Key="team/index/models/_/tiny-legacy/main.json")
    # S3 servers differ on "../" in keys (SeaweedFS refuses them, AWS stores them): a key whose id
    # is not valid stands in for every key that does not name a revision.
    admin.put_object(Bucket=bucket, Key="team/index/models/bad--org/x/main.json", Body=b"{}")

    code, out, err = team_cli("list-s3-models", "--json")
    assert code == 0
    assert [m["model_id"] for m in json.loads(out)] == [samples.bert]
    assert "was damaged; it was rebuilt" in err
    assert "'team/index/models/bad--org/x/main.json' was refused" in err

    code, out, err = team_cli("list-s3-models", "--json", "--rebuild-index")
    assert code == 0
    assert [m["model_id"] for m in json.loads(out)] == [samples.bert, samples.no_namespace]
    assert "team/index/models/bad--org/x/main.json" not in s3.objects(bucket, "team/index/")


def test_index_keys_that_escape_are_refused(tmp_path: Path) -> None:
    from hg_localization.errors import InvalidInputError
    from hg_localization.s3.keys import BucketKeys

    keys = BucketKeys("team")
    for key in (
        "team/index/models/../../escape.json",
        "team/index/models/a/b/../x.json",
        "/etc/passwd",
        "team/index/models/a/b/c/d.json",
        "team/index/models/org/name/%2E%2E.json",
    ):
        with pytest.raises(InvalidInputError):
            keys.parse_index_entry_key("model", key)


def test_an_index_entry_is_written_as_before_and_read_strictly() -> None:
    """Byte for byte what the pydantic model wrote (an unchanged entry is not written again), and
    an entry that is not what this tool writes is refused (then rebuilt from its metadata)."""
    entry = IndexEntry(
        repo_id="org/modèle",
        repo_type="model",
        revision="main",
        commit="c" * 40,
        files=2,
        size=2**40,
        full=True,
        fetched_at=datetime(2026, 11, 29, 12, 0, 0, 120000, tzinfo=UTC),
    )
    written = (
        '{\n  "repo_id": "org/modèle",\n  "repo_type": "model",\n  "revision": "main",\n'
        f'  "commit": "{"c" * 40}",\n  "files": 2,\n  "size": 1099511627776,\n  "full": true,\n'
        '  "public": false,\n  "fetched_at": "2026-11-29T12:00:00.120000Z"\n}'
    )
    assert entry.to_json() == written
    assert IndexEntry.from_json(written.encode()) == entry
    assert entry.as_dict()["fetched_at"] == "2026-11-29T12:00:00.120000Z"
    for field, value in (("files", "2"), ("full", 1), ("repo_type", "weights"), ("fetched_at", 0)):
        with pytest.raises(InvalidInputError, match=f"{field}: should be"):
            IndexEntry.from_json(json.dumps({**json.loads(written), field: value}).encode())
    with pytest.raises(InvalidInputError, match="full: is missing"):
        IndexEntry.from_json(written.replace('  "full": true,\n', "").encode())
