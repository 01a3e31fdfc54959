"""The Python API: sync_collection, list/show_collection, export/import_bundle (failures in words)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import hg_localization
from hg_localization.config import HGLocalizationConfig

from helpers.collection_fixtures import store_config, write_manifest

pytestmark = pytest.mark.slow


def test_sync_collection_returns_one_dict_per_entry(
    config: HGLocalizationConfig, hub_server: Any, tmp_path: Path
) -> None:
    samples = hub_server.samples
    manifest = write_manifest(
        tmp_path / "work",
        f"""\
        collections:
          core:
            models: [{{id: {samples.no_namespace}}}, {{id: hgloc-test/no-such-model}}]
          other:
            datasets: [{{id: {samples.csv_dataset}}}]
        """,
    )
    results = hg_localization.sync_collection("core", file=manifest, config=config)
    assert [(r["repo_id"], r["status"], r["ok"]) for r in results] == [
        (samples.no_namespace, "fetched", True),
        ("hgloc-test/no-such-model", "failed", False),
    ]
    assert Path(results[0]["path"]).is_dir() and len(results[0]["commit"]) == 40
    assert "No model repository" in results[1]["message"]

    assert [c["name"] for c in hg_localization.list_collections(manifest)] == ["core", "other"]
    shown = hg_localization.show_collection("core", file=manifest, config=config)
    assert shown[0]["local_commit"] == results[0]["commit"] and shown[1]["local_commit"] is None

    broken = hg_localization.sync_collection(file=tmp_path / "missing.yaml", config=config)
    assert broken[0]["ok"] is False and "no collections manifest" in broken[0]["message"]


def test_export_and_import_bundle(config: HGLocalizationConfig, hub_server: Any, tmp_path: Path) -> None:
    manifest = write_manifest(
        tmp_path / "work", f"collections:\n  c:\n    models: [{{id: {hub_server.samples.bert}}}]\n"
    )
    assert hg_localization.sync_collection(file=manifest, config=config)[0]["ok"]
    ok, path = hg_localization.export_bundle(tmp_path / "c.tar", file=manifest, config=config)
    assert ok and path == str(tmp_path / "c.tar")

    far = store_config(tmp_path / "far", "http://127.0.0.1:9")
    ok, message = hg_localization.import_bundle(tmp_path / "c.tar", config=far)
    assert ok and str(far.models_store_path / "hgloc-test" / "tiny-bert" / "main") in message

    ok, message = hg_localization.import_bundle(tmp_path / "nope.tar", config=far)
    assert not ok and "There is no bundle" in message
