"""Datasets through the team bucket (SeaweedFS): push on download, fetch from the bucket without the
Hub, sync commands, listing, public sharing read anonymously, and saved Datasets shared too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hg_localization.api import datasets as datasets_api
from hg_localization.config import HGLocalizationConfig
from hg_localization.datasets import loading, localizing
from hg_localization.usecases import listing

from .conftest import public_only_config
from helpers.cli import CliRun
from helpers.stored import stored_files


def test_a_downloaded_dataset_reaches_a_teammate_through_the_bucket(
    team: HGLocalizationConfig, teammate: Any, s3: Any, bucket_name: str, hub_server: Any
) -> None:
    samples = hub_server.samples
    alice = localizing.localize_dataset(samples.dataset, config=team)
    assert alice.upload_error is None

    bob_config = teammate("bob")
    bob = localizing.localize_dataset(samples.dataset, config=bob_config)  # the Hub is unreachable for Bob

    assert bob.status == "from_bucket"
    assert stored_files(bob.stored.path) == samples.files(samples.dataset, repo_type="dataset")
    assert bob.stored.manifest.commit == alice.stored.manifest.commit
    numbers = loading.load_local_dataset(bob_config, samples.dataset, "numbers", split="train")
    assert list(numbers["x"]) == list(range(20))


def test_sync_commands_upload_what_was_kept_local_and_list_it(
    tmp_path: Path,
    team: HGLocalizationConfig,
    hub_server: Any,
    team_cli: CliRun,
) -> None:
    samples = hub_server.samples
    assert team_cli("download-dataset", samples.dataset, "--name", "numbers", "--no-s3-upload")[0] == 0
    assert team_cli("download-dataset", samples.csv_dataset, "--no-s3-upload")[0] == 0

    code, out, _ = team_cli("list-s3-datasets", "--json")
    assert code == 0 and json.loads(out) == []

    code, _, err = team_cli("sync-local-dataset-to-s3", samples.dataset)
    assert code == 0 and "Synced hgloc-test/tiny-dataset" in err and "3 files uploaded" in err
    code, _, err = team_cli("sync-all-local-datasets-to-s3")
    assert code == 0
    assert "tiny-dataset" in err and "nothing to upload" in err  # already there
    assert "Synced hgloc-test/csv-dataset" in err

    code, out, _ = team_cli("list-s3-datasets", "--json")
    listed = {d["dataset_id"]: d for d in json.loads(out)}
    assert set(listed) == {samples.dataset, samples.csv_dataset}
    assert listed[samples.dataset]["files"] == 3 and listed[samples.dataset]["public"] is False
    assert [d["dataset_id"] for d in datasets_api.list_s3_datasets(config=team)] == sorted(listed)


def test_a_public_dataset_is_listed_and_fetched_anonymously(
    tmp_path: Path,
    team: HGLocalizationConfig,
    s3: Any,
    bucket_name: str,
    hub_server: Any,
    team_cli: CliRun,
) -> None:
    samples = hub_server.samples
    code, _, err = team_cli("download-dataset", samples.csv_dataset, "--make-public")
    assert code == 0, err
    assert team_cli("download-dataset", samples.dataset, "--name", "numbers")[0] == 0  # private
    public_url = f"{s3.endpoint}/{bucket_name}/team/public"

    outsider = public_only_config(tmp_path, public_url)  # no bucket, no credentials
    listed = datasets_api.list_public_datasets(config=outsider)
    assert [d["dataset_id"] for d in listed] == [samples.csv_dataset]
    outcome = localizing.localize_dataset(samples.csv_dataset, config=outsider)
    assert outcome.status == "from_bucket"
    assert stored_files(outcome.stored.path) == samples.files(samples.csv_dataset, repo_type="dataset")
    assert list(loading.load_local_dataset(outsider, samples.csv_dataset, split="test")["label"]) == [1, 0]

    anonymous = s3.client("anonymous")
    with pytest.raises(Exception, match=r"AccessDenied|403|Forbidden"):
        anonymous.get_object(Bucket=bucket_name, Key="team/datasets/hgloc-test/tiny-dataset/main/README.md")


def test_a_saved_dataset_is_pushed_and_a_teammate_loads_it(
    team: HGLocalizationConfig, teammate: Any, s3: Any, bucket_name: str
) -> None:
    import datasets as hf_datasets

    rows = hf_datasets.Dataset.from_dict({"city": ["Oslo", "Lima"], "population": [709_000, 10_000_000]})
    assert datasets_api.upload_dataset(rows, "team/cities", config=team) is True

    bob_config = teammate("bob")  # the Hub is out of their reach
    ok, path = datasets_api.download_dataset("team/cities", config=bob_config)
    assert ok, path
    loaded = datasets_api.load_local_dataset("team/cities", split="train", config=bob_config)
    assert list(loaded["city"]) == ["Oslo", "Lima"]
    assert listing.list_datasets(bob_config)[0].source == "bucket"  # where Bob got it from
