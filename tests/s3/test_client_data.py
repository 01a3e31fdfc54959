"""The S3 client's data loader reads what botocore's own does, from the same places."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from botocore.loaders import Loader

from hg_localization.config import HGLocalizationConfig
from hg_localization.s3.client import S3DataLoader, make_client


@pytest.mark.parametrize(
    ("name", "args"),
    [("endpoints", ()), ("s3", ("service-2",)), ("s3", ("endpoint-rule-set-1",)), ("s3", ("waiters-2",))],
)
def test_same_data_as_botocores_loader(name: str, args: tuple[str, ...]) -> None:
    ours, theirs = S3DataLoader(), Loader()
    if args:
        assert ours.load_service_model(name, *args) == theirs.load_service_model(name, *args)
    else:
        assert ours.load_data(name) == theirs.load_data(name)


def test_only_s3_is_looked_for() -> None:
    loader = S3DataLoader()
    assert loader.list_available_services("service-2") == ["s3"]
    assert loader.list_available_services("no-such-type-1") == []


def test_aws_data_path_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model in ``AWS_DATA_PATH`` (gzipped, as botocore ships them) is the one the client uses."""
    model = Loader().load_service_model("s3", "service-2")
    model["metadata"]["serviceFullName"] = "S3 from AWS_DATA_PATH"
    folder = tmp_path / "s3" / "2006-03-01"
    folder.mkdir(parents=True)
    (folder / "service-2.json.gz").write_bytes(gzip.compress(json.dumps(model).encode()))
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    config = HGLocalizationConfig(
        s3_bucket_name="b",
        s3_endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="k",
        aws_secret_access_key="s",
    )
    client = make_client(config)
    assert client.meta.service_model.metadata["serviceFullName"] == "S3 from AWS_DATA_PATH"
    assert client.meta.service_model.service_name == "s3"
