"""Damaged objects in the bucket (metadata objects, index entries, the public index): warned about
and worked around, never a failure of the command, never stored or served."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from hg_localization.config import HGLocalizationConfig
from hg_localization.store.manifest import RevisionManifest

from helpers.cli import CliRun, run, use_in_cli

BERT = "hgloc-test/tiny-bert"
METADATA_KEY = f"team/models/{BERT}/main/.hg_localization_bucket_metadata.json"
ENTRY_KEY = f"team/index/models/{BERT}/main.json"
PUBLIC_INDEX = "team/public/public_models.json"


def _edited(change: Callable[[dict[str, Any]], None]) -> Callable[[bytes], bytes]:
    def damage(data: bytes) -> bytes:
        document = json.loads(data)
        change(document)
        return json.dumps(document).encode()

    return damage


DAMAGES: dict[str, Callable[[bytes], bytes]] = {
    "deeply nested": lambda _: b'{"files": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "binary": lambda _: bytes(range(256)) * 4,
    "truncated": lambda data: data[: len(data) // 3],
    "commit not 40-hex": _edited(lambda d: d.update(commit="refs/heads/main")),
    "wrong types": _edited(lambda d: d.update(files={"config.json": 1})),
    "a path that climbs out": _edited(lambda d: d["files"][0].update(local_path="../../escape")),
}


def _get(s3: Any, bucket: str | None, key: str) -> bytes:
    return bytes(s3.client("admin").get_object(Bucket=bucket, Key=key)["Body"].read())


def _put(s3: Any, bucket: str | None, key: str, data: bytes) -> None:
    s3.client("admin").put_object(Bucket=bucket, Key=key, Body=data)


@pytest.mark.parametrize("damage", list(DAMAGES), ids=list(DAMAGES))
def test_a_damaged_metadata_object_falls_back_to_the_hub_and_the_push_replaces_it(
    team: HGLocalizationConfig,
    team_cli: CliRun,
    teammate: Any,
    hub_server: Any,
    s3: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    damage: str,
) -> None:
    bucket = team.s3_bucket_name
    assert team_cli("download-model", BERT)[0] == 0
    _put(s3, bucket, METADATA_KEY, DAMAGES[damage](_get(s3, bucket, METADATA_KEY)))

    use_in_cli(monkeypatch, teammate("bob", hf_endpoint=hub_server.url))
    code, _, err = run(capsys, "download-model", BERT)
    assert code == 0, err
    assert "Unexpected error" not in err
    assert "Warning: The team bucket" in err and "could not be read" in err and "is not valid" in err
    assert "Localized model" in err  # from the Hub
    repaired = RevisionManifest.from_json(_get(s3, bucket, METADATA_KEY))  # bob's push replaced it
    assert repaired.repo_id == BERT and len(repaired.commit) == 40
    assert "escape" not in json.dumps(s3.objects(bucket, "team/"), default=str)


def test_the_index_rebuild_skips_a_damaged_metadata_object_with_a_warning(
    team: HGLocalizationConfig, team_cli: CliRun, hub_server: Any, s3: Any
) -> None:
    bucket = team.s3_bucket_name
    assert team_cli("download-model", BERT)[0] == 0
    assert team_cli("download-model", hub_server.samples.no_namespace)[0] == 0
    _put(s3, bucket, METADATA_KEY, DAMAGES["deeply nested"](b""))

    code, out, err = team_cli("list-s3-models", "--json", "--rebuild-index")
    assert code == 0 and "Unexpected error" not in err
    assert [m["model_id"] for m in json.loads(out)] == [hub_server.samples.no_namespace]
    assert f"metadata object '{METADATA_KEY}' is not valid" in err and "It was skipped" in err
    assert ENTRY_KEY not in s3.objects(bucket, "team/index/")  # never listed from a damaged object


def test_an_index_entry_with_a_bad_commit_is_rebuilt_from_its_metadata_object(
    team: HGLocalizationConfig, team_cli: CliRun, s3: Any
) -> None:
    bucket = team.s3_bucket_name
    assert team_cli("download-model", BERT)[0] == 0
    commit = RevisionManifest.from_json(_get(s3, bucket, METADATA_KEY)).commit
    entry = json.loads(_get(s3, bucket, ENTRY_KEY))
    _put(s3, bucket, ENTRY_KEY, json.dumps({**entry, "commit": "<script>alert(1)</script>"}).encode())

    code, out, err = team_cli("list-s3-models", "--json")
    assert code == 0 and [m["commit"] for m in json.loads(out)] == [commit]
    assert "was damaged; it was rebuilt from its metadata object" in err
    assert json.loads(_get(s3, bucket, ENTRY_KEY))["commit"] == commit


def test_a_public_index_with_a_bad_commit_is_never_served_and_is_rebuilt(
    team: HGLocalizationConfig, team_cli: CliRun, s3: Any
) -> None:
    bucket = team.s3_bucket_name
    assert team_cli("download-model", BERT, "--make-public")[0] == 0
    index = json.loads(_get(s3, bucket, PUBLIC_INDEX))
    commit = index["entries"][0]["commit"]
    index["entries"][0]["commit"] = "0" * 39 + "\n"
    _put(s3, bucket, PUBLIC_INDEX, json.dumps(index).encode())

    code, out, err = team_cli("list-public-models", "--json")
    assert code == 7 and out == "" and "Unexpected error" not in err
    assert "public index" in err and "damaged" in err and "--rebuild-index" in err

    assert team_cli("list-s3-models", "--rebuild-index")[0] == 0
    code, out, _ = team_cli("list-public-models", "--json")
    assert code == 0 and [m["commit"] for m in json.loads(out)] == [commit]
