"""The model commands as a person uses them: output, exit codes, and a download killed mid-way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from hg_localization.server.app import create_app
from hg_localization.server.folder_source import FolderSource
from hg_localization.store.layout import METADATA_FILENAME

from helpers.asgi import Throttle
from helpers.cli import run
from helpers.servers import run_server


@pytest.fixture
def store(cli_stores: Path) -> Path:
    """The model store the commands write to (the test Hub upstream)."""
    return cli_stores / "models"


def test_download_model_prints_the_path_and_a_second_run_says_already_localized(
    store: Path, hub_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bert = hub_server.samples.bert
    code, out, err = run(capsys, "download-model", bert)
    assert code == 0
    assert out.strip() == str(store / "hgloc-test" / "tiny-bert" / "main")
    assert "Localized model" in err

    code, out, err = run(capsys, "download-model", bert)
    assert code == 0
    assert "already localized" in err


def test_quiet_prints_only_the_result(
    store: Path, hub_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "download-model", hub_server.samples.bert, "--quiet")
    assert code == 0
    assert err == ""
    assert out.strip().endswith("main")


def test_list_local_models_as_table_and_json(
    store: Path, hub_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = hub_server.samples
    assert run(capsys, "download-model", samples.bert, "--full-model")[0] == 0
    assert run(capsys, "download-model", samples.no_config)[0] == 0

    code, out, _ = run(capsys, "list-local-models")
    assert code == 0
    assert "tiny-bert" in out and "full" in out and "metadata" in out

    code, out, _ = run(capsys, "list-local-models", "--json")
    listed = {m["model_id"]: m for m in json.loads(out)}
    assert listed[samples.bert]["full"] is True
    assert listed[samples.bert]["has_card"] and listed[samples.bert]["has_config"]
    assert listed[samples.no_config]["has_config"] is False
    assert len(listed[samples.bert]["commit"]) == 40
    assert listed[samples.bert]["size"] > 1_000_000


def test_show_model_card_and_config(store: Path, hub_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    samples = hub_server.samples
    run(capsys, "download-model", samples.bert)
    upstream = samples.files(samples.bert)

    code, out, _ = run(capsys, "show-model-card", samples.bert)
    assert code == 0 and out == upstream["README.md"].decode()

    code, out, _ = run(capsys, "show-model-config", samples.bert)
    assert code == 0 and json.loads(out) == json.loads(upstream["config.json"])


def test_show_model_card_of_an_unlocalized_model(
    store: Path, hub_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bert = hub_server.samples.bert
    code, _, err = run(capsys, "show-model-card", bert)
    assert code != 0
    assert "not in the local store" in err and f"download-model {bert}" in err

    code, out, _ = run(capsys, "show-model-card", bert, "--try-huggingface")
    assert code == 0 and out == hub_server.samples.files(bert)["README.md"].decode()
    assert not store.exists()  # read from the Hub, not cached


def test_compare_models_marks_differences(
    store: Path, hub_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = hub_server.samples
    run(capsys, "download-model", samples.bert)
    run(capsys, "download-model", samples.bert, "--revision", samples.bert_tag)

    code, out, err = run(
        capsys, "compare-models", samples.bert, f"{samples.bert}@{samples.bert_tag}", "--json"
    )
    assert code == 0
    keys = {row["key"]: row for row in json.loads(out)["keys"]}
    differing = [k for k, row in keys.items() if row["differs"]]
    assert differing, "the tag's config differs from main's"
    assert keys["model_type"]["differs"] is False

    code, out, err = run(capsys, "compare-models", samples.bert, f"{samples.bert}@{samples.bert_tag}")
    assert code == 0 and "≠" in out and "keys differ" in err


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["download-model", "../x"], 2, "relative"),
        (["download-model", "a/b/c"], 2, "namespace/name"),
        (["download-model", "hgloc-test/nope"], 4, "Check the id"),
        (["download-model", "hgloc-test/tiny-bert", "--revision", "nope"], 4, "no revision 'nope'"),
        (["download-model", "hgloc-test/private-model"], 3, "HF_TOKEN"),
    ],
)
def test_failures_exit_non_zero_with_a_message_and_no_traceback(
    store: Path, capsys: pytest.CaptureFixture[str], args: list[str], exit_code: int, message: str
) -> None:
    code, _, err = run(capsys, *args)
    assert code == exit_code
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--make-public"], "--make-public needs a team bucket"),
        (["--make-public", "--no-s3-upload"], "contradict"),
    ],
)
def test_make_public_that_cannot_be_honoured_is_refused_before_anything_is_fetched(
    store: Path, hub_server: Any, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, "download-model", hub_server.samples.bert, *args)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert out == ""
    assert not store.exists()


def test_a_token_from_the_environment_is_used_and_never_printed(
    store: Path, hub_server: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", hub_server.token)
    code, out, err = run(capsys, "--verbose", "download-model", hub_server.samples.private, "--full-model")
    assert code == 0
    assert hub_server.token not in out + err
    for path in store.rglob("*"):
        if path.is_file():
            assert hub_server.token.encode() not in path.read_bytes()


def test_python_dash_m_works_like_the_command(store: Path, hub_server: Any) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "hg_localization.cli", "download-model", hub_server.samples.bert, "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == str(store / "hgloc-test" / "tiny-bert" / "main")


def test_a_download_killed_mid_way_leaves_nothing_that_looks_complete(
    store: Path, hub_server: Any, sample_repos_dir: Path
) -> None:
    bert = hub_server.samples.bert
    slow = Throttle(create_app(FolderSource.for_repos_dir(sample_repos_dir)), delay=0.05)
    with run_server(slow) as slow_url:
        env = {**os.environ, "HGLOC_HF_ENDPOINT": slow_url, "HGLOC_MAX_WORKERS": "1"}
        process = subprocess.Popen(
            [sys.executable, "-m", "hg_localization.cli", "download-model", bert, "--full-model"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            partial = _wait_for_partial_download(store, process)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
    assert partial is not None, "the download never started"
    revision_dir = store / "hgloc-test" / "tiny-bert" / "main"
    assert not (revision_dir / METADATA_FILENAME).exists()
    listed = subprocess.run(
        [sys.executable, "-m", "hg_localization.cli", "list-local-models", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(listed.stdout) == []

    finished = subprocess.run(
        [sys.executable, "-m", "hg_localization.cli", "download-model", bert, "--full-model"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    upstream = hub_server.samples.files(bert)
    assert (revision_dir / "model.safetensors").read_bytes() == upstream["model.safetensors"]
    assert (revision_dir / METADATA_FILENAME).is_file()
    assert not list(revision_dir.parent.glob(".*staging"))


def _wait_for_partial_download(store: Path, process: subprocess.Popen[bytes]) -> Path | None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        for candidate in store.rglob("*.incomplete"):
            if candidate.stat().st_size > 0:
                return candidate
        time.sleep(0.02)
    return None
