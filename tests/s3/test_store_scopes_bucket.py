"""A bucket configured after models were localized, and a bucket that fails while the Hub is down."""

from __future__ import annotations

from typing import Any

import pytest

from hg_localization.config import HGLocalizationConfig
from hg_localization.store.layout import METADATA_FILENAME
from hg_localization.usecases import models

from helpers.cli import CliRun, run, use_in_cli
from helpers.servers import DEAD_ENDPOINT


def test_sync_all_adopts_the_models_localized_before_the_bucket_was_configured(
    team: HGLocalizationConfig, team_cli: CliRun, hub_server: Any, s3: Any
) -> None:
    bert = hub_server.samples.bert
    before = team.with_overrides(s3_bucket_name=None, s3_endpoint_url=None)
    first = models.localize_model(bert, config=before)
    assert first.stored.path.is_relative_to(team.models_store_path / "hgloc-test")

    code, out, err = team_cli("sync-all-local-models-to-s3")
    assert code == 0, err
    key = f"team/models/hgloc-test/tiny-bert/main/{METADATA_FILENAME}"
    assert key in s3.objects(str(team.s3_bucket_name), "team/models/")
    scopes = {m.scope for m in models.list_models(team)}
    assert scopes == {team.bucket_id, None}  # linked into the bucket's scope; the first copy stays
    code, out, _ = team_cli("list-local-models")
    assert str(team.bucket_id) in out and "(none)" in out


def test_a_bucket_failure_is_reported_with_the_hub_failure(
    team: HGLocalizationConfig,
    hub_server: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong = team.with_overrides(aws_secret_access_key="not-the-secret", hf_endpoint=DEAD_ENDPOINT)
    use_in_cli(monkeypatch, wrong)
    code, _, err = run(capsys, "download-model", hub_server.samples.bert)
    assert code == 7, err
    assert "Neither the team bucket nor the Hub" in err
    assert "Could not reach the Hub" in err and str(team.s3_bucket_name) in err
    assert "not-the-secret" not in err
