"""download-model with a team bucket: the store, then the bucket, then the Hub; push after the Hub."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import IntegrityError
from hg_localization.ids import parse_repo_id
from hg_localization.s3.keys import BucketKeys
from hg_localization.store.layout import METADATA_FILENAME
from hg_localization.usecases.models import localize_model, model_store
from hg_localization.usecases.options import LocalizeOptions

from .conftest import bucket_config


def test_a_hub_download_is_pushed_and_a_teammate_gets_it_from_the_bucket_without_the_hub(
    team: HGLocalizationConfig, hub_server: Any, s3: Any, tmp_path: Path, teammate: Any
) -> None:
    bert = hub_server.samples.bert
    first = localize_model(bert, config=team, options=LocalizeOptions(full=True))
    assert first.status == "fetched" and first.upload_error is None
    assert first.stored.path.is_relative_to(team.models_store_path / "by_bucket" / str(team.bucket_id))

    objects = s3.objects(str(team.s3_bucket_name), "team/models/hgloc-test/tiny-bert/main/")
    local_files = {r.local_path: r for r in first.stored.manifest.files}
    assert set(objects) == {f"team/models/hgloc-test/tiny-bert/main/{p}" for p in local_files} | {
        f"team/models/hgloc-test/tiny-bert/main/{METADATA_FILENAME}"
    }
    head = s3.client("admin").head_object(
        Bucket=team.s3_bucket_name, Key="team/models/hgloc-test/tiny-bert/main/config.json"
    )
    assert head["Metadata"]["sha256"] == local_files["config.json"].sha256

    bob = teammate("bob")
    second = localize_model(bert, config=bob, options=LocalizeOptions(full=True))
    assert second.status == "from_bucket"
    assert second.stored.manifest.source == "bucket"
    assert second.stored.manifest.commit == first.stored.manifest.commit
    for record in first.stored.manifest.files:
        assert (second.stored.path / record.local_path).read_bytes() == (
            first.stored.path / record.local_path
        ).read_bytes()


def test_a_metadata_only_request_takes_only_card_and_config_from_a_full_bucket_copy(
    team: HGLocalizationConfig, hub_server: Any, teammate: Any
) -> None:
    localize_model(hub_server.samples.bert, config=team, options=LocalizeOptions(full=True))
    carol = localize_model(hub_server.samples.bert, config=teammate("carol"))
    assert carol.status == "from_bucket"
    assert {r.path for r in carol.stored.manifest.files} == {"README.md", "config.json"}
    assert not carol.stored.manifest.full
    assert sorted(p.name for p in carol.stored.path.iterdir()) == sorted(
        ["model_card.md", "config.json", METADATA_FILENAME]
    )


def test_no_s3_upload_leaves_the_bucket_untouched(
    team: HGLocalizationConfig, hub_server: Any, s3: Any
) -> None:
    outcome = localize_model(hub_server.samples.bert, config=team, options=LocalizeOptions(push=False))
    assert outcome.status == "fetched"
    assert s3.objects(str(team.s3_bucket_name)) == {}


def test_a_revision_without_its_metadata_object_does_not_count(
    team: HGLocalizationConfig, hub_server: Any, s3: Any, tmp_path: Path, teammate: Any
) -> None:
    localize_model(hub_server.samples.bert, config=team)
    s3.client("admin").delete_object(
        Bucket=team.s3_bucket_name, Key=f"team/models/hgloc-test/tiny-bert/main/{METADATA_FILENAME}"
    )
    dave = teammate("dave", hf_endpoint=hub_server.url)
    outcome = localize_model(hub_server.samples.bert, config=dave, options=LocalizeOptions(push=False))
    assert outcome.status == "fetched"  # from the Hub: the bucket's copy is incomplete
    assert outcome.stored.manifest.source == "hub"


def test_a_file_altered_in_the_bucket_is_refused_and_nothing_is_kept(
    team: HGLocalizationConfig, hub_server: Any, s3: Any, tmp_path: Path, teammate: Any
) -> None:
    localize_model(hub_server.samples.bert, config=team)
    s3.client("admin").put_object(
        Bucket=team.s3_bucket_name,
        Key="team/models/hgloc-test/tiny-bert/main/config.json",
        Body=b'{"evil": 1}',
    )
    erin = teammate("erin")
    with pytest.raises(IntegrityError) as caught:
        localize_model(hub_server.samples.bert, config=erin)
    assert caught.value.path == "config.json"
    assert caught.value.actual == hashlib.sha256(b'{"evil": 1}').hexdigest()
    store = model_store(erin)
    assert store.get(parse_repo_id(hub_server.samples.bert), "main") is None
    leftovers = [p for p in store.layout.base.rglob("*") if p.is_file() and p.suffix != ".lock"]
    assert leftovers == []


def test_keys_in_a_metadata_object_that_would_leave_the_store_are_refused(
    team: HGLocalizationConfig, hub_server: Any, s3: Any, tmp_path: Path, teammate: Any
) -> None:
    localize_model(hub_server.samples.bert, config=team)
    key = f"team/models/hgloc-test/tiny-bert/main/{METADATA_FILENAME}"
    client = s3.client("admin")
    manifest = json.loads(client.get_object(Bucket=team.s3_bucket_name, Key=key)["Body"].read())
    for escape in ("../../../../escaped.txt", "/tmp/escaped.txt"):
        manifest["files"][0]["local_path"] = escape
        client.put_object(Bucket=team.s3_bucket_name, Key=key, Body=json.dumps(manifest).encode())
        frank = teammate("frank", hf_endpoint=hub_server.url)
        outcome = localize_model(
            hub_server.samples.bert, config=frank, options=LocalizeOptions(push=False, force=False)
        )
        assert outcome.stored.manifest.source == "hub"  # the bucket's copy was refused, with a warning
        assert any("is not valid" in w and escape in w for w in outcome.warnings), outcome.warnings
        assert not list(tmp_path.rglob("escaped.txt"))
        model_store(frank).remove(parse_repo_id(hub_server.samples.bert), "main")


def test_the_store_is_scoped_by_endpoint_and_prefix(tmp_path: Path) -> None:
    a = bucket_config(tmp_path, "http://127.0.0.1:1", "shared", prefix="one")
    b = bucket_config(tmp_path, "http://127.0.0.1:1", "shared", prefix="two")
    c = bucket_config(tmp_path, "http://127.0.0.1:2", "shared", prefix="one")
    assert len({a.bucket_id, b.bucket_id, c.bucket_id}) == 3
    assert model_store(a).layout.base != model_store(b).layout.base
    assert BucketKeys("one").private.type_prefix("model") == "one/models/"
