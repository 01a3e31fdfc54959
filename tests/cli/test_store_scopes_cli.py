"""Commands against the store as a team meets it: a bucket configured later, filtered copies,
abbreviated commits, HF_HUB_OFFLINE and a Hub that is down (issue "Everyday use" 1, 3, 4, 9, 10)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi

from helpers.cli import run
from helpers.servers import DEAD_ENDPOINT


def configure_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bucket in the configuration (the commands below never need to reach it)."""
    monkeypatch.setenv("HGLOC_S3_BUCKET_NAME", "team-bucket")
    monkeypatch.setenv("HGLOC_S3_ENDPOINT_URL", DEAD_ENDPOINT)


def test_configuring_a_bucket_hides_no_local_model(
    cli_stores: Path, hub_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bert = hub_server.samples.bert
    assert run(capsys, "download-model", bert, "--include", "*.json")[0] == 0
    configure_bucket(monkeypatch)
    code, out, _ = run(capsys, "list-local-models")
    assert code == 0 and bert in out and "No models" not in out
    assert "bucket scope" in out and "(none)" in out
    assert "filtered: --include *.json" in out
    code, out, _ = run(capsys, "list-local-models", "--json")
    (listed,) = json.loads(out)
    assert listed["bucket_scope"] is None and listed["contents"] == "filtered" and listed["full"] is False
    code, out, err = run(capsys, "show-model-config", bert)
    assert code == 0, err
    assert json.loads(out)["model_type"] == "bert"


def test_download_model_takes_an_abbreviated_commit(
    cli_stores: Path, hub_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bert = hub_server.samples.bert
    commit = HfApi(endpoint=hub_server.url).model_info(bert).sha
    assert commit is not None
    code, out, err = run(capsys, "download-model", bert, "--revision", commit[:7])
    assert code == 0, err
    assert out.strip().endswith(commit)
    code, out, err = run(capsys, "show-model-card", bert, "--revision", commit[:7])
    assert code == 0 and out.strip(), err


def test_hf_hub_offline_answers_from_the_store_without_a_warning(
    cli_stores: Path, hub_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bert = hub_server.samples.bert
    assert run(capsys, "download-model", bert)[0] == 0
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, out, err = run(capsys, "download-model", bert)
    assert code == 0, err
    assert "Could not check" not in err and "already localized" in err + out
    code, _, err = run(capsys, "download-model", hub_server.samples.no_namespace)
    assert code == 4 and "HF_HUB_OFFLINE" in err


def test_download_dataset_name_with_the_hub_down_answers_from_a_whole_local_copy(
    cli_stores: Path, hub_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = hub_server.samples.dataset
    assert run(capsys, "download-dataset", dataset)[0] == 0
    monkeypatch.setenv("HGLOC_HF_ENDPOINT", DEAD_ENDPOINT)
    code, out, err = run(capsys, "download-dataset", dataset, "--name", hub_server.samples.dataset_configs[0])
    assert code == 0, err
    assert "already localized" in err + out
