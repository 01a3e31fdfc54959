"""Datasets through the team bucket (SeaweedFS): push on download, fetch from the bucket without the
Hub, sync commands, listing, public sharing read anonymously, and saved Datasets shared too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hg_localization.api import datasets as datasets_api
from hg_localization.cli import main
from hg_localization.config import HGLocalizationConfig
from hg_localization.store.layout import METADATA_FILENAME
from hg_localization.usecases import dataset_io, datasets

from helpers.servers import DEAD_ENDPOINT


def stored_files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != METADATA_FILENAME
    }


def teammate(tmp_path: Path, team: HGLocalizationConfig, who: str) -> HGLocalizationConfig:
    """Someone on the same bucket, with their own store, whose machine cannot reach the Hub."""
    return team.with_overrides(
        models_store_path=tmp_path / who / "models",
        datasets_store_path=tmp_path / who / "datasets",
        hf_endpoint=DEAD_ENDPOINT,
    )


def stranger(tmp_path: Path, public_url: str) -> HGLocalizationConfig:
    """Someone outside the team: no bucket, no credentials, only the public URL they were given."""
    return HGLocalizationConfig(
        models_store_path=tmp_path / "stranger" / "models",
        datasets_store_path=tmp_path / "stranger" / "datasets",
        hf_endpoint=DEAD_ENDPOINT,
        public_url=public_url,
    )


def use_in_cli(monkeypatch: pytest.MonkeyPatch, config: HGLocalizationConfig) -> None:
    """Give the CLI ``config`` the way a person does: HGLOC_* variables."""
    values = {
        "HGLOC_MODELS_STORE_PATH": str(config.models_store_path),
        "HGLOC_DATASETS_STORE_PATH": str(config.datasets_store_path),
        "HGLOC_HF_ENDPOINT": config.hf_endpoint,
        "HGLOC_S3_BUCKET_NAME": config.s3_bucket_name,
        "HGLOC_S3_ENDPOINT_URL": config.s3_endpoint_url,
        "HGLOC_S3_DATA_PREFIX": config.s3_data_prefix,
        "HGLOC_AWS_ACCESS_KEY_ID": config.aws_access_key_id,
        "HGLOC_AWS_SECRET_ACCESS_KEY": config.aws_secret_access_key.get_secret_value()
        if config.aws_secret_access_key
        else None,
    }
    for name, value in values.items():
        if value:
            monkeypatch.setenv(name, value)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_downloaded_dataset_reaches_a_teammate_through_the_bucket(
    tmp_path: Path, team: HGLocalizationConfig, s3: Any, bucket_name: str, hub_server: Any
) -> None:
    samples = hub_server.samples
    alice = datasets.localize_dataset(samples.dataset, config=team)
    assert alice.upload_error is None

    bob_config = teammate(tmp_path, team, "bob")
    bob = datasets.localize_dataset(samples.dataset, config=bob_config)  # the Hub is unreachable for Bob

    assert bob.status == "from_bucket"
    assert stored_files(bob.stored.path) == samples.files(samples.dataset, repo_type="dataset")
    assert bob.stored.manifest.commit == alice.stored.manifest.commit
    numbers = dataset_io.load_local_dataset(bob_config, samples.dataset, "numbers", split="train")
    assert list(numbers["x"]) == list(range(20))


def test_sync_commands_upload_what_was_kept_local_and_list_it(
    tmp_path: Path,
    team: HGLocalizationConfig,
    hub_server: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    samples = hub_server.samples
    use_in_cli(monkeypatch, team)
    assert run(capsys, "download-dataset", samples.dataset, "--name", "numbers", "--no-s3-upload")[0] == 0
    assert run(capsys, "download-dataset", samples.csv_dataset, "--no-s3-upload")[0] == 0

    code, out, _ = run(capsys, "list-s3-datasets", "--json")
    assert code == 0 and json.loads(out) == []

    code, _, err = run(capsys, "sync-local-dataset-to-s3", samples.dataset)
    assert code == 0 and "Synced hgloc-test/tiny-dataset" in err and "3 files uploaded" in err
    code, _, err = run(capsys, "sync-all-local-datasets-to-s3")
    assert code == 0
    assert "tiny-dataset" in err and "nothing to upload" in err  # already there
    assert "Synced hgloc-test/csv-dataset" in err

    code, out, _ = run(capsys, "list-s3-datasets", "--json")
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
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    samples = hub_server.samples
    use_in_cli(monkeypatch, team)
    code, _, err = run(capsys, "download-dataset", samples.csv_dataset, "--make-public")
    assert code == 0, err
    assert run(capsys, "download-dataset", samples.dataset, "--name", "numbers")[0] == 0  # private
    public_url = f"{s3.endpoint}/{bucket_name}/team/public"

    outsider = stranger(tmp_path, public_url)
    listed = datasets_api.list_public_datasets(config=outsider)
    assert [d["dataset_id"] for d in listed] == [samples.csv_dataset]
    outcome = datasets.localize_dataset(samples.csv_dataset, config=outsider)
    assert outcome.status == "from_bucket"
    assert stored_files(outcome.stored.path) == samples.files(samples.csv_dataset, repo_type="dataset")
    assert list(dataset_io.load_local_dataset(outsider, samples.csv_dataset, split="test")["label"]) == [1, 0]

    anonymous = s3.client("anonymous")
    with pytest.raises(Exception, match=r"AccessDenied|403|Forbidden"):
        anonymous.get_object(Bucket=bucket_name, Key="team/datasets/hgloc-test/tiny-dataset/main/README.md")


def test_a_saved_dataset_is_pushed_and_a_teammate_loads_it(
    tmp_path: Path, team: HGLocalizationConfig, s3: Any, bucket_name: str
) -> None:
    import datasets as hf_datasets

    rows = hf_datasets.Dataset.from_dict({"city": ["Oslo", "Lima"], "population": [709_000, 10_000_000]})
    assert datasets_api.upload_dataset(rows, "team/cities", config=team) is True

    bob_config = teammate(tmp_path, team, "bob")
    ok, path = datasets_api.download_dataset("team/cities", config=bob_config)
    assert ok, path
    loaded = datasets_api.load_local_dataset("team/cities", split="train", config=bob_config)
    assert list(loaded["city"]) == ["Oslo", "Lima"]
    assert datasets.list_datasets(bob_config)[0].source == "bucket"  # where Bob got it from
