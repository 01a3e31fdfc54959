"""``ServingBucket``: what ``serve --source bucket`` reads, against a real SeaweedFS bucket."""

from __future__ import annotations

import pytest

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import StorageError
from hg_localization.ids import parse_repo_id
from hg_localization.progress import SILENT
from hg_localization.s3.serving import ObjectChangedError, ServingBucket, missing_object
from hg_localization.usecases.s3_sync import bucket_cache

from .conftest import SeaweedServer
from helpers.stored import ONE_FILE_MODEL, publish_one_file

MODEL = parse_repo_id(ONE_FILE_MODEL)


@pytest.fixture
def serving(team: HGLocalizationConfig) -> ServingBucket:
    stored = publish_one_file(team, b"0123456789", commit="c" * 40)
    bucket_cache(team).push(stored, make_public=False, progress=SILENT)
    return ServingBucket.from_config(team)


def test_a_metadata_object_is_read_again_only_when_its_etag_changed(
    serving: ServingBucket, team: HGLocalizationConfig
) -> None:
    first = serving.metadata("model", MODEL, "main")
    assert first is not None and first.data is not None and b'"commit"' in first.data
    unchanged = serving.metadata("model", MODEL, "main", first.etag)
    assert unchanged is not None and unchanged.data is None and unchanged.etag == first.etag
    assert serving.metadata("model", MODEL, "v9") is None


def test_listings_name_the_repos_and_revisions_and_skip_other_folders(
    serving: ServingBucket, team: HGLocalizationConfig, s3: SeaweedServer
) -> None:
    client = s3.client("admin")
    for key in ("team/models/hgloc-test/big-model/not%2Fcanonical%zz/x", "team/models/..bad/x/main/x"):
        client.put_object(Bucket=team.s3_bucket_name, Key=key, Body=b"")
    assert [str(r) for r in serving.repos("model")] == [ONE_FILE_MODEL]
    assert serving.revisions("model", MODEL) == ["main"]


def test_a_range_is_streamed_and_a_wrong_size_or_missing_object_refused(
    serving: ServingBucket, team: HGLocalizationConfig, s3: SeaweedServer
) -> None:
    key = serving.object_key("model", MODEL, "main", "model.safetensors")
    assert b"".join(serving.open_range(key, 2, 5, 10)) == b"2345"
    with pytest.raises(ObjectChangedError):
        serving.open_range(key, 0, 9, 11)
    with pytest.raises(StorageError) as missing:
        serving.open_range(key + ".gone", 0, 9, 10)
    assert missing_object(missing.value)
    url = serving.presign(key, 60)
    assert url.startswith(f"{s3.endpoint}/{team.s3_bucket_name}/team/models/") and "Signature" in url
