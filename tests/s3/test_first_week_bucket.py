"""With a bucket, as the team sees it: what the success line says, --make-public on a copy already
local, unpublish-model, remove-model --bucket."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from hg_localization.config import HGLocalizationConfig
from hg_localization.s3.bucket import Bucket

from helpers.cli import CliRun


def one_line(text: str) -> str:
    return " ".join(text.split())


def public_url(team: HGLocalizationConfig) -> str:
    return f"{team.s3_endpoint_url}/{team.s3_bucket_name}/team/public"


def test_with_a_bucket_the_success_line_says_what_was_uploaded_and_where(
    team_cli: CliRun, team: HGLocalizationConfig, hub_server: Any
) -> None:
    code, _, err = team_cli("download-model", hub_server.samples.bert)
    assert code == 0, err
    text = one_line(err)
    assert "Localized model" in text
    assert f"Synced {hub_server.samples.bert} (main @" in text
    assert f"s3://{team.s3_bucket_name}/team" in text
    assert re.search(r": \d+ files uploaded \(", text)


def test_make_public_on_a_copy_already_local_says_so_with_the_url(
    team_cli: CliRun, team: HGLocalizationConfig, hub_server: Any
) -> None:
    bert = hub_server.samples.bert
    assert team_cli("download-model", bert)[0] == 0
    code, _, err = team_cli("download-model", bert, "--make-public")
    assert code == 0, err
    text = one_line(err)
    assert "already localized" in text
    assert f"Public: anyone can read it at {public_url(team)}" in text


def test_unpublish_withdraws_the_public_copy_and_its_entry_and_keeps_the_private_one(
    team_cli: CliRun, team: HGLocalizationConfig, hub_server: Any
) -> None:
    bert = hub_server.samples.bert
    assert team_cli("download-model", bert, "--make-public")[0] == 0
    index_url = f"{public_url(team)}/public_models.json"
    assert [e["repo_id"] for e in httpx.get(index_url).json()["entries"]] == [bert]

    code, _, err = team_cli("unpublish-model", bert)
    assert code == 2 and "--yes" in err  # asks first; no terminal here
    code, _, err = team_cli("unpublish-model", bert, "--yes")
    assert code == 0, err
    assert "its public index entry is gone" in one_line(err)
    assert httpx.get(index_url).json()["entries"] == []
    card = f"{public_url(team)}/models/hgloc-test/tiny-bert/main/config.json"
    assert httpx.get(card).status_code in (403, 404)
    code, out, _ = team_cli("list-s3-models", "--json")
    assert [(e["model_id"], e["public"]) for e in json.loads(out)] == [(bert, False)]
    code, out, _ = team_cli("list-local-models", "--json")
    assert [m["is_public"] for m in json.loads(out)] == [False]
    code, _, err = team_cli("unpublish-model", bert, "--yes")
    assert code == 4 and "has no public copy" in err


def test_remove_model_bucket_deletes_the_bucket_copy_and_keeps_the_local_one(
    team_cli: CliRun, team: HGLocalizationConfig, hub_server: Any
) -> None:
    bert = hub_server.samples.bert
    assert team_cli("download-model", bert, "--make-public")[0] == 0
    code, _, err = team_cli("remove-model", bert, "--bucket", "--yes")
    assert code == 0, err
    assert "Deleted" in err
    left = [obj.key for obj in Bucket.from_config(team).list("team/")]
    assert left == ["team/public/public_models.json"]  # the (now empty) public index, nothing else
    code, out, _ = team_cli("list-s3-models", "--json")
    assert json.loads(out) == []
    code, out, _ = team_cli("list-local-models", "--json")
    assert [m["model_id"] for m in json.loads(out)] == [bert]
