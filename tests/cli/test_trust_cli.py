"""What the commands promise about trust, without a bucket: option combinations that could publish
by accident are refused, local file problems are exit 8, and no URL shows its password.

(The bucket side — a private or gated repo is never made public — is in tests/attacks/test_secrets.py.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from helpers.cli import run
from helpers.weights_fixtures import WEIGHTS, WEIGHTS_ID, WeightsHub

PASSWORD = "cli-PASSWORD-canary-42"


@pytest.mark.parametrize("command", ["download-model", "download-dataset", "sync-local-model-to-s3"])
def test_allow_private_public_needs_make_public(
    command: str, cli_stores: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HGLOC_S3_BUCKET_NAME", "team-bucket")
    code, _, err = run(capsys, command, "hgloc-test/tiny-bert", "--allow-private-public")
    assert code == 2, err
    assert "--allow-private-public only applies with --make-public" in err


def test_the_override_is_documented_in_every_make_public_command(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (
        "download-model",
        "download-dataset",
        "sync-local-model-to-s3",
        "sync-local-dataset-to-s3",
        "sync-all-local-models-to-s3",
        "sync-all-local-datasets-to-s3",
    ):
        code, out, _ = run(capsys, command, "--help")
        assert code == 0 and "--allow-private-public" in out and "private or gated" in " ".join(out.split())


def test_an_endpoint_password_is_never_shown(
    hub_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HGLOC_MODELS_STORE_PATH", str(tmp_path / "models"))
    endpoint = hub_server.url.replace("http://", f"http://someone:{PASSWORD}@")
    monkeypatch.setenv("HGLOC_HF_ENDPOINT", endpoint)
    code, out, err = run(capsys, "show-model-card", "nobody/nothing", "--try-huggingface", "-v")
    assert code == 4
    assert f"Reading it from the Hub ({hub_server.url.replace('http://', 'http://***@')})" in err
    assert PASSWORD not in out + err


def test_a_store_path_that_is_a_file_is_a_local_file_error(
    cli_stores: Path, hub_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_folder = cli_stores / "not-a-folder"
    not_a_folder.write_text("a file")
    monkeypatch.setenv("HGLOC_MODELS_STORE_PATH", str(not_a_folder))
    code, _, err = run(capsys, "download-model", hub_server.samples.bert)
    assert code == 8, err
    assert "Not a directory" in err and "Unexpected error" not in err


def test_download_weights_into_a_folder_that_cannot_be_made_is_exit_8(
    hub: WeightsHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    hub.add_repo(WEIGHTS_ID, WEIGHTS)
    Path("occupied").write_text("a file where the folder should go")
    code, _, err = run(
        capsys, "download-weights", "--repo-id", WEIGHTS_ID, "--target-dir", "occupied/weights"
    )
    assert code == 8, err
    assert "Cannot write into the weights folder occupied/weights" in err
    assert "--target-dir" in err
