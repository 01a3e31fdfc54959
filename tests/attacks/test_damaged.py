"""A damaged metadata file in the store never breaks a command: it is listed as damaged, skipped by
the commands that read the store, and replaced by the next download of that revision."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hg_localization import HGLocalizationConfig, get_cached_model_config_content, list_local_models
from hg_localization.store.layout import METADATA_FILENAME
from hg_localization.store.manifest import RevisionManifest

from helpers.cli import run

BERT = "hgloc-test/tiny-bert"
REPAIR = f"download-model {BERT} --revision main"


def _deeply_nested(path: Path) -> None:
    path.write_bytes(b'{"repo_id": ' + b"[" * 200_000 + b"]" * 200_000 + b"}")


def _rewritten(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        data = json.loads(path.read_bytes())
        change(data)
        path.write_text(json.dumps(data))

    return damage


def _as_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


DAMAGES: dict[str, Callable[[Path], None]] = {
    "binary": lambda p: p.write_bytes(b"\xff\xfe\x00\x81\xc3(" * 64),
    "deeply nested": _deeply_nested,
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "empty": lambda p: p.write_bytes(b""),
    "wrong types": _rewritten(lambda d: d.update(files="all of them", commit=40)),
    "file record without fields": _rewritten(lambda d: d["files"][0].clear()),
    "commit not 40-hex": _rewritten(lambda d: d.update(commit="HEAD\r\nX-Injected: 1")),
    "another revision": _rewritten(lambda d: d.update(revision="v1.0")),
    "a path that climbs out": _rewritten(lambda d: d["files"][0].update(local_path="../../../etc/passwd")),
    "a folder in its place": _as_folder,
}


@pytest.fixture
def store(tmp_path: Path, hub_server: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI's model store (the test Hub upstream), holding tiny-bert at main and at v1.0."""
    monkeypatch.setenv("HGLOC_MODELS_STORE_PATH", str(tmp_path / "models"))
    monkeypatch.setenv("HGLOC_DATASETS_STORE_PATH", str(tmp_path / "datasets"))
    monkeypatch.setenv("HGLOC_HF_ENDPOINT", hub_server.url)
    return tmp_path / "models"


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code, out, err = run(capsys, *args)
    assert "Unexpected error" not in err and "Traceback" not in err, err
    return code, out, err


@pytest.mark.parametrize("damage", list(DAMAGES), ids=list(DAMAGES))
def test_a_damaged_metadata_file_is_listed_skipped_and_repaired(
    store: Path, hub_server: Any, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    samples = hub_server.samples
    assert _cli(capsys, "download-model", BERT)[0] == 0
    assert _cli(capsys, "download-model", BERT, "--revision", samples.bert_tag)[0] == 0
    main = store / "hgloc-test" / "tiny-bert" / "main"
    DAMAGES[damage](main / METADATA_FILENAME)

    # Listed, as damaged, with how to repair it; the good revision is listed as before.
    code, out, err = _cli(capsys, "list-local-models")
    assert code == 0
    assert "DAMAGED" in out and samples.bert_tag in out
    assert "The local copy of hgloc-test/tiny-bert (main) is damaged" in err and REPAIR in err
    code, out, err = _cli(capsys, "list-local-models", "--json")
    listed = {m["revision"]: m for m in json.loads(out)}
    assert code == 0 and listed["main"]["status"] == "damaged" and REPAIR in listed["main"]["hint"]
    assert listed[samples.bert_tag]["status"] == "complete" and listed[samples.bert_tag]["problem"] is None
    config = HGLocalizationConfig(models_store_path=store, hf_endpoint=hub_server.url)
    assert {m["revision"]: m["status"] for m in list_local_models(config=config)} == {
        "main": "damaged",
        samples.bert_tag: "complete",
    }

    # Never read: the commands that show the store's copy say it is damaged and how to repair it.
    for command in ("show-model-card", "show-model-config"):
        code, out, err = _cli(capsys, command, BERT)
        assert code == 4 and out == ""
        assert "is damaged and was not used" in err and REPAIR in err
    assert get_cached_model_config_content(BERT, config=config) is None
    code, out, err = _cli(capsys, "show-model-card", BERT, "--try-huggingface")
    assert code == 0 and out == samples.files(BERT)["README.md"].decode()
    assert "is damaged" in err

    # Compared from the Hub instead, saying so.
    code, out, err = _cli(capsys, "compare-models", BERT, f"{BERT}@{samples.bert_tag}", "--json")
    assert code == 0 and json.loads(out)["a"]["source"] == "Hub"
    assert json.loads(out)["b"]["source"] == "local store"
    assert "is damaged" in err and "read from the Hub" in err

    # The next download replaces the folder with a good copy.
    code, out, err = _cli(capsys, "download-model", BERT)
    assert code == 0 and out.strip() == str(main)
    manifest = RevisionManifest.from_json((main / METADATA_FILENAME).read_bytes())
    assert (
        manifest.revision == "main"
        and (main / "config.json").read_bytes() == samples.files(BERT)["config.json"]
    )
    code, out, err = _cli(capsys, "list-local-models", "--json")
    assert [m["status"] for m in json.loads(out)] == ["complete", "complete"] and "damaged" not in err
    assert _cli(capsys, "show-model-config", BERT)[0] == 0
    assert not [p.name for p in main.parent.iterdir() if p.name.startswith(".")]  # no leftover swap


def test_a_damaged_only_revision_is_named_when_no_revision_is_given(
    store: Path, hub_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    tag = hub_server.samples.bert_tag
    assert _cli(capsys, "download-model", BERT, "--revision", tag)[0] == 0
    DAMAGES["binary"](store / "hgloc-test" / "tiny-bert" / tag / METADATA_FILENAME)
    code, _, err = _cli(capsys, "show-model-card", BERT)
    assert code == 4 and f"(revision '{tag}') is damaged" in err
    assert f"download-model {BERT} --revision {tag}" in err


def test_a_damaged_dataset_is_listed_and_repaired(
    store: Path, tmp_path: Path, hub_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = hub_server.samples.dataset
    assert _cli(capsys, "download-dataset", dataset)[0] == 0
    (folder,) = [p.parent for p in (tmp_path / "datasets").rglob(METADATA_FILENAME)]
    DAMAGES["deeply nested"](folder / METADATA_FILENAME)

    code, out, err = _cli(capsys, "list-local-datasets", "--json")
    (listed,) = json.loads(out)
    assert code == 0 and listed["status"] == "damaged"
    assert f"download-dataset {dataset} --revision main" in listed["hint"] and "is damaged" in err
    code, _, err = _cli(capsys, "show-dataset-card", dataset)
    assert code == 4 and "is damaged" in err

    assert _cli(capsys, "download-dataset", dataset)[0] == 0
    code, out, err = _cli(capsys, "list-local-datasets")
    assert code == 0 and "DAMAGED" not in out and "damaged" not in err


def test_a_damaged_store_folder_left_by_a_crash_is_replaced_even_with_a_staging_folder(
    store: Path, hub_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A crash mid-repair leaves a staging folder beside the damaged one: the next run still repairs."""
    assert _cli(capsys, "download-model", BERT, "--full-model")[0] == 0
    main = store / "hgloc-test" / "tiny-bert" / "main"
    staging = main.with_name(".main.staging")
    shutil.copytree(main, staging)
    (staging / METADATA_FILENAME).unlink()  # a staging folder never has its metadata file before the swap
    DAMAGES["truncated"](main / METADATA_FILENAME)

    code, _, _ = _cli(capsys, "download-model", BERT, "--full-model")
    assert code == 0 and not staging.exists()
    manifest = RevisionManifest.from_json((main / METADATA_FILENAME).read_bytes())
    assert manifest.full and {f.path for f in manifest.files} >= {"config.json", "model.safetensors"}
