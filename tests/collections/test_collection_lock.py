"""lock and sync --locked: a collection reproduces bit for bit after upstream ``main`` has moved."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from hg_localization.collections.lock import read_lock

from helpers.cli import run
from helpers.collection_fixtures import MovingHub, commit_of, write_manifest
from helpers.stored import stored_files

pytestmark = pytest.mark.slow

BERT = "hgloc-test/tiny-bert"
CSV = "hgloc-test/csv-dataset"


@pytest.fixture
def moving_env(cli_env: Path, moving_hub: MovingHub, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI pointed at the Hub whose ``main`` moves, with a manifest of one full model and a dataset."""
    monkeypatch.setenv("HGLOC_HF_ENDPOINT", moving_hub.url)
    return write_manifest(
        cli_env,
        f"""\
        collections:
          core:
            models:
              - id: {BERT}
                full: true
                exclude: ["extra/*"]
            datasets:
              - id: {CSV}
        """,
    )


def test_lock_pins_each_entrys_commit_and_every_selected_files_sha256(
    moving_env: Path, moving_hub: MovingHub, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "lock")
    assert code == 0, err
    lock_path = moving_env.with_name("hg-localization.lock")
    assert out.strip().endswith(str(lock_path)) and "2 entries pinned" in err

    lock = read_lock(lock_path)
    bert = next(e for e in lock.entries if e.repo_id == BERT)
    assert bert.commit == commit_of(moving_hub.url, BERT)
    upstream = moving_hub.samples.files(BERT)
    assert {f.path: f.sha256 for f in bert.files} == {
        path: hashlib.sha256(content).hexdigest()
        for path, content in upstream.items()
        if not path.startswith("extra/")
    }
    csv = next(e for e in lock.entries if e.repo_id == CSV)
    assert csv.commit == commit_of(moving_hub.url, CSV, repo_type="dataset")
    assert sorted(f.path for f in csv.files) == ["README.md", "data/test.csv", "data/train.csv"]
    assert json.loads(lock_path.read_text())["format"] == 1


def test_sync_locked_gets_the_locked_commit_after_upstream_main_moved(
    moving_env: Path, moving_hub: MovingHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    assert run(capsys, "lock")[0] == 0
    old_commit = commit_of(moving_hub.url, BERT)
    old_config = moving_hub.samples.files(BERT)["config.json"]
    moving_hub.keep(BERT, "release-1")  # the old commit stays reachable upstream, as on the Hub
    moving_hub.change(BERT, "config.json", b'{"model_type": "bert", "moved": true}\n')
    assert commit_of(moving_hub.url, BERT) != old_commit

    elsewhere = tmp_path / "elsewhere"  # another machine: an empty store
    monkeypatch.setenv("HGLOC_MODELS_STORE_PATH", str(elsewhere / "models"))
    monkeypatch.setenv("HGLOC_DATASETS_STORE_PATH", str(elsewhere / "datasets"))
    code, out, err = run(capsys, "sync", "--locked", "--json")
    assert code == 0, err
    bert = next(r for r in json.loads(out) if r["repo_id"] == BERT)
    assert bert["commit"] == old_commit
    assert stored_files(Path(bert["path"]))["config.json"] == old_config

    code, out, _ = run(capsys, "sync", "--json")  # without --locked: where main is now
    assert code == 0
    assert next(r for r in json.loads(out) if r["repo_id"] == BERT)["commit"] == commit_of(
        moving_hub.url, BERT
    )


def test_sync_locked_refuses_an_entry_the_lock_does_not_pin(
    moving_env: Path, moving_hub: MovingHub, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "lock")[0] == 0
    text = moving_env.read_text().replace(
        "      - id: hgloc-test/csv-dataset", "      - id: hgloc-test/tiny-dataset"
    )
    moving_env.write_text(text)
    code, _, err = run(capsys, "sync", "--locked")
    assert code == 4
    assert "The lock has no entry for dataset hgloc-test/tiny-dataset@main (collection core)" in err
    assert "hg-localization lock" in err
    assert "1 of 2 entries localized" in err


def test_lock_is_not_written_when_an_entry_fails(
    cli_env: Path, hub_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    write_manifest(
        cli_env,
        f"collections:\n  core:\n    models:\n      - id: {BERT}\n      - id: hgloc-test/no-such-model\n",
    )
    code, _, err = run(capsys, "lock")
    assert code == 4
    assert "The lock was not written" in err
    assert not (cli_env / "hg-localization.lock").exists()
