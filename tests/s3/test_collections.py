"""Collections with a team bucket (SeaweedFS): sync pushes every entry; a bundle import pushes too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hg_localization.collections.bundle.export import export_bundle
from hg_localization.collections.bundle.importing import import_bundle
from hg_localization.collections.manifest import load_manifest
from hg_localization.collections.sync import sync_collections
from hg_localization.config import HGLocalizationConfig
from hg_localization.store.layout import METADATA_FILENAME

from helpers.collection_fixtures import store_config, write_manifest

pytestmark = pytest.mark.slow


def _manifest(tmp_path: Path, hub_server: Any) -> Path:
    samples = hub_server.samples
    return write_manifest(
        tmp_path / "work",
        f"""\
        collections:
          core:
            models:
              - {{id: {samples.bert}, full: true}}
              - {{id: {samples.no_namespace}}}
            datasets:
              - {{id: {samples.csv_dataset}}}
        """,
    )


def test_sync_pushes_every_entry_and_a_teammate_gets_them_from_the_bucket(
    team: HGLocalizationConfig, hub_server: Any, s3: Any, tmp_path: Path, teammate: Any
) -> None:
    manifest = load_manifest(_manifest(tmp_path, hub_server))
    report = sync_collections(team, manifest, jobs=3)
    assert report.ok and [r.status for r in report.results] == ["fetched"] * 3

    bucket = str(team.s3_bucket_name)
    for key in (
        "team/models/hgloc-test/tiny-bert/main/",
        "team/models/_/tiny-legacy/main/",
        "team/datasets/hgloc-test/csv-dataset/main/",
    ):
        assert f"{key}{METADATA_FILENAME}" in s3.objects(bucket, key), key
    assert "team/models/hgloc-test/tiny-bert/main/model.safetensors" in s3.objects(bucket, "team/models/")

    bob = teammate("bob")  # no reachable Hub: the bucket is all he has
    again = sync_collections(bob, manifest)
    assert again.ok, [r.problem for r in again.results]
    assert [r.status for r in again.results] == ["from bucket"] * 3


def test_a_bundle_import_publishes_into_the_store_and_pushes_to_the_bucket(
    team: HGLocalizationConfig, hub_server: Any, s3: Any, tmp_path: Path
) -> None:
    source = store_config(tmp_path / "source", hub_server.url)
    manifest = load_manifest(_manifest(tmp_path, hub_server))
    assert sync_collections(source, manifest).ok
    bundle = tmp_path / "core.tar"
    export_bundle(source, manifest, bundle)

    far = team.with_overrides(hf_endpoint="http://127.0.0.1:9")
    report = import_bundle(far, bundle)
    assert not report.upload_errors
    assert len(report.revisions) == 3
    objects = s3.objects(str(team.s3_bucket_name), "team/")
    assert "team/models/hgloc-test/tiny-bert/main/model.safetensors" in objects
    assert f"team/datasets/hgloc-test/csv-dataset/main/{METADATA_FILENAME}" in objects
