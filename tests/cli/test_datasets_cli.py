"""The dataset commands as a person uses them: what they print, where files land, exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hg_localization.server.app import create_app
from hg_localization.server.folder_source import FolderSource

from helpers.cli import run
from helpers.servers import run_server


@pytest.fixture
def store(cli_stores: Path) -> Path:
    """The dataset store the commands write to (the test Hub upstream)."""
    return cli_stores / "datasets"


@pytest.fixture
def scripted_upstream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Path) -> Iterator[str]:
    """Upstream is a Hub whose only dataset needs a loading script."""
    folder = tmp_path / "scripted" / "datasets" / "hgloc-test" / "builder" / "main"
    folder.mkdir(parents=True)
    (folder / "builder.py").write_text("raise SystemExit('remote code ran')\n")
    (folder / "README.md").write_text("# built by a script\n")
    with run_server(create_app(FolderSource.for_repos_dir(tmp_path / "scripted"))) as url:
        monkeypatch.setenv("HGLOC_HF_ENDPOINT", url)
        yield url


def files_in(folder: Path) -> set[str]:
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }


def test_download_dataset_prints_the_path_and_a_second_run_says_already_localized(
    store: Path, hub_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = hub_server.samples.dataset
    code, out, err = run(capsys, "download-dataset", dataset)
    assert code == 0
    folder = store / "hgloc-test" / "tiny-dataset" / "main"
    assert out.strip() == str(folder)
    assert "Localized dataset hgloc-test/tiny-dataset" in err and "5 files downloaded" in err
    assert files_in(folder) == set(hub_server.samples.files(dataset, repo_type="dataset"))

    code, out, err = run(capsys, "download-dataset", dataset)
    assert code == 0 and "already localized" in err


def test_name_localizes_one_config(store: Path, hub_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "download-dataset", hub_server.samples.dataset, "--name", "numbers")
    assert code == 0
    assert files_in(Path(out.strip())) == {
        "README.md",
        "numbers/train-00000-of-00001.parquet",
        "numbers/test-00000-of-00001.parquet",
    }


def test_list_local_datasets_as_table_and_json(
    store: Path, hub_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = hub_server.samples
    code, out, err = run(capsys, "list-local-datasets")
    assert code == 0 and "No datasets in the local store yet" in err

    assert run(capsys, "download-dataset", samples.dataset, "--name", "numbers")[0] == 0
    assert run(capsys, "download-dataset", samples.csv_dataset)[0] == 0

    code, out, _ = run(capsys, "list-local-datasets")
    assert code == 0
    assert "tiny-dataset" in out and "numbers" in out and "csv-dataset" in out and "all" in out

    code, out, _ = run(capsys, "list-local-datasets", "--json")
    listed = {d["dataset_id"]: d for d in json.loads(out)}
    assert listed[samples.dataset]["config_names"] == ["numbers"]
    assert listed[samples.dataset]["full"] is False
    assert listed[samples.csv_dataset]["full"] is True and listed[samples.csv_dataset]["files"] == 3
    assert len(listed[samples.csv_dataset]["commit"]) == 40


def test_show_dataset_card(store: Path, hub_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    samples = hub_server.samples
    card = samples.files(samples.dataset, repo_type="dataset")["README.md"].decode()

    code, _, err = run(capsys, "show-dataset-card", samples.dataset)
    assert code == 4 and "is not in the local store" in err
    assert f"hg-localization download-dataset {samples.dataset}" in err

    code, out, _ = run(capsys, "show-dataset-card", samples.dataset, "--try-huggingface")
    assert code == 0 and out == card

    run(capsys, "download-dataset", samples.dataset, "--name", "sentences")
    code, out, _ = run(capsys, "show-dataset-card", samples.dataset)
    assert code == 0 and out == card


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["--name", "letters"], 2, "has no config 'letters'. Available configs: sentences, numbers"),
        (["--name", "numbers", "--include", "*.parquet"], 2, "cannot be combined"),
        (["--make-public"], 2, "--make-public needs a team bucket"),
        (["--make-public", "--no-s3-upload"], 2, "contradict"),
        (["--include", "*.arrow"], 2, "No data file of 'hgloc-test/tiny-dataset' matches"),
        (["--revision", "no-such-branch"], 4, "has no revision 'no-such-branch'"),
    ],
)
def test_bad_requests_exit_non_zero_with_a_message_and_store_nothing(
    store: Path,
    hub_server: Any,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    exit_code: int,
    message: str,
) -> None:
    code, out, err = run(capsys, "download-dataset", hub_server.samples.dataset, *args)
    assert code == exit_code
    assert message in err and "Traceback" not in err
    assert out == ""
    assert not store.exists() or files_in(store) == set()


def test_an_unknown_dataset_is_not_found(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "download-dataset", "hgloc-test/no-such-dataset")
    assert code == 4 and "No dataset repository 'hgloc-test/no-such-dataset'" in err


def test_a_dataset_with_a_loading_script_is_refused(
    store: Path, scripted_upstream: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "download-dataset", "hgloc-test/builder")
    assert code == 2
    assert "needs a loading script (builder.py)" in err
    assert "does not run remote code" in err
    assert out == "" and not store.exists()
