"""sync: every entry localized as download-model/-dataset would; failures isolated; dry runs fetch nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NoReturn

import pytest

from hg_localization.collections import sync
from hg_localization.collections.manifest import load_manifest
from hg_localization.collections.sync import sync_collections
from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import InvalidInputError

from helpers.cli import run
from helpers.collection_fixtures import commit_of, write_manifest
from helpers.stored import stored_files

pytestmark = pytest.mark.slow


def test_sync_localizes_every_entry_of_the_issue_manifest(
    config: HGLocalizationConfig, issue_manifest: Path, hub_server: Any
) -> None:
    samples = hub_server.samples
    report = sync_collections(config, load_manifest(issue_manifest), jobs=2)
    assert report.ok
    by_id = {r.job.entry.repo_id: r for r in report.results}
    assert [r.status for r in report.results] == ["fetched"] * 4

    tagged = by_id[samples.bert]
    assert tagged.commit == commit_of(hub_server.url, samples.bert, samples.bert_tag)
    assert tagged.stored is not None and tagged.stored.path.name == samples.bert_tag
    upstream = samples.files(samples.bert, samples.bert_tag)
    assert stored_files(tagged.stored.path)["model.safetensors"] == upstream["model.safetensors"]
    assert len(stored_files(tagged.stored.path)) == len(upstream)

    pinned = by_id[samples.no_config]
    assert pinned.commit == commit_of(hub_server.url, samples.no_config)
    assert pinned.stored is not None and pinned.stored.path.name == pinned.commit

    metadata_only = by_id[samples.no_namespace]
    assert metadata_only.stored is not None
    assert set(stored_files(metadata_only.stored.path)) == {"model_card.md", "config.json"}

    dataset = by_id[samples.dataset]
    assert dataset.stored is not None
    assert sorted(stored_files(dataset.stored.path)) == [
        "README.md",
        "numbers/test-00000-of-00001.parquet",
        "numbers/train-00000-of-00001.parquet",
    ]

    again = sync_collections(config, load_manifest(issue_manifest))
    assert [r.status for r in again.results] == ["reused"] * 4


def test_the_cli_prints_one_table_and_exits_0(
    cli_env: Path, issue_manifest: Path, hub_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "sync", "--jobs", "3")
    assert code == 0, err
    for repo_id in (hub_server.samples.bert, hub_server.samples.no_config, hub_server.samples.dataset):
        assert repo_id in out
    assert (
        f"{hub_server.samples.bert_tag} → {commit_of(hub_server.url, hub_server.samples.bert, 'v1.0')[:12]}"
        in out
    )
    assert out.count("fetched") == 4
    assert "4 of 4 entries localized" in err

    code, out, _ = run(capsys, "sync", "--json")
    assert code == 0
    assert {r["status"] for r in json.loads(out)} == {"reused"}


def test_one_failing_entry_does_not_stop_the_others(
    cli_env: Path, hub_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_manifest(
        cli_env,
        f"""\
        collections:
          core:
            models:
              - id: hgloc-test/no-such-model
              - id: {hub_server.samples.no_config}
                full: true
            datasets:
              - id: {hub_server.samples.csv_dataset}
        """,
    )
    code, out, err = run(capsys, "sync", "--jobs", "1")
    assert code == 4  # the failed entry's own exit code (not found)
    assert "hgloc-test/no-such-model@main (core): No model repository 'hgloc-test/no-such-model'" in err
    assert "1 of 3 entries failed" in err and "2 of 3 entries localized" in err
    rows = {line.split("│")[2].strip(): line for line in out.splitlines() if line.count("│") > 5}
    assert "failed" in rows["model hgloc-test/no-such-model"]
    assert "fetched" in rows[f"model {hub_server.samples.no_config}"]
    assert "fetched" in rows[f"dataset {hub_server.samples.csv_dataset}"]
    assert (
        tmp_path / "store" / "datasets" / "hgloc-test" / "csv-dataset" / "main" / "data" / "train.csv"
    ).is_file()


def test_dry_run_fetches_nothing_and_says_how_many_bytes(
    cli_env: Path, issue_manifest: Path, hub_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = hub_server.samples
    expected = (
        sum(len(b) for b in samples.files(samples.bert, samples.bert_tag).values())
        + sum(len(b) for b in samples.files(samples.no_config).values())
        + sum(len(samples.files(samples.no_namespace)[p]) for p in ("README.md", "config.json"))
        + sum(
            len(b)
            for p, b in samples.files(samples.dataset, repo_type="dataset").items()
            if "sentences" not in p
        )
    )
    code, out, err = run(capsys, "sync", "--dry-run", "--json")
    assert code == 0, err
    assert sum(p["fetch_bytes"] for p in json.loads(out)) == expected
    code, out, err = run(capsys, "sync", "--dry-run")
    assert code == 0 and "Dry run: nothing was fetched" in out
    assert f"({expected} bytes)" in err
    assert not (tmp_path / "store").exists()

    assert run(capsys, "sync")[0] == 0
    code, out, err = run(capsys, "sync", "--dry-run")
    assert code == 0 and "Would fetch 0 files" in err and "nothing" in out


def test_a_public_collection_without_a_bucket_is_refused_before_anything_is_fetched(
    config: HGLocalizationConfig, tmp_path: Path, hub_server: Any
) -> None:
    path = write_manifest(
        tmp_path / "work",
        f"collections:\n  shared:\n    public: true\n    models:\n      - id: {hub_server.samples.bert}\n",
    )
    with pytest.raises(InvalidInputError, match="needs a team bucket"):
        sync_collections(config, load_manifest(path))
    assert not (tmp_path / "store").exists()


def test_only_the_named_collections_are_synced(
    cli_env: Path, hub_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_manifest(
        cli_env,
        f"""\
        collections:
          a:
            models: [{{id: {hub_server.samples.no_namespace}}}]
          b:
            models: [{{id: {hub_server.samples.no_config}}}]
        """,
    )
    code, out, _ = run(capsys, "sync", "--collection", "b")
    assert code == 0
    assert hub_server.samples.no_config in out and hub_server.samples.no_namespace not in out
    assert not (tmp_path / "store" / "models" / "_").exists()

    code, _, err = run(capsys, "sync", "-c", "c")
    assert code == 4 and "no collection 'c'" in err


def test_a_bug_in_one_entry_reaches_the_caller_instead_of_becoming_a_failed_entry(
    config: HGLocalizationConfig, issue_manifest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> NoReturn:
        raise RuntimeError("a bug, not a failure the user can fix")

    monkeypatch.setattr(sync, "_localize", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        sync_collections(config, load_manifest(issue_manifest), jobs=2)
