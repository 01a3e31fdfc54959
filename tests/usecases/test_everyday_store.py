"""A team's first week with the store: a bucket configured later hides nothing, a copy says what
it holds, an abbreviated commit is a commit, HF_HUB_OFFLINE means no network, and a request the
store covers never needs the Hub."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi, hf_hub_download

from hg_localization.cli.serve import store_source
from hg_localization.config import HGLocalizationConfig
from hg_localization.datasets.localizing import localize_dataset
from hg_localization.errors import InvalidInputError, NotLocalizedError, UpstreamError
from hg_localization.server.app import create_app
from hg_localization.store.layout import METADATA_FILENAME
from hg_localization.usecases import models
from hg_localization.usecases.options import LocalizeOptions

from helpers.servers import DEAD_ENDPOINT, run_server


def with_bucket(config: HGLocalizationConfig, name: str = "team-bucket") -> HGLocalizationConfig:
    """The same store with a bucket configured (nothing here talks to it)."""
    return config.with_overrides(s3_bucket_name=name, s3_endpoint_url=DEAD_ENDPOINT)


def hub_down(config: HGLocalizationConfig) -> HGLocalizationConfig:
    return config.with_overrides(hf_endpoint=DEAD_ENDPOINT)


# --- 1. configuring a bucket hides nothing ---------------------------------------------------------


def test_a_bucket_configured_later_still_lists_and_reads_every_local_model(
    config: HGLocalizationConfig, hub_server: Any
) -> None:
    bert = hub_server.samples.bert
    models.localize_model(bert, config=config)
    team = with_bucket(config)
    listed = models.list_models(team)
    assert [(m.model_id, m.scope) for m in listed] == [(bert, None)]
    assert listed[0].as_dict()["bucket_scope"] is None
    assert "tiny" in models.read_local_card(team, bert).lower()
    assert models.read_local_config(team, bert)["model_type"] == "bert"


def test_every_scope_is_listed_with_its_bucket_and_the_configured_one_is_read_first(
    config: HGLocalizationConfig, hub_server: Any
) -> None:
    bert = hub_server.samples.bert
    models.localize_model(bert, config=config)
    team = with_bucket(config)
    assert team.bucket_id is not None
    models.localize_model(bert, config=team, options=LocalizeOptions(full=True, push=False))
    listed = models.list_models(team)
    assert [(m.scope, m.contents.kind) for m in listed] == [(team.bucket_id, "full"), (None, "metadata")]
    other = with_bucket(config, "other-bucket")
    assert {m.scope for m in models.list_models(other)} == {team.bucket_id, None}
    assert models.read_local_card(team, bert)  # from the bucket's scope, the first looked at


def test_a_copy_in_another_scope_is_linked_in_without_the_hub(
    config: HGLocalizationConfig, hub_server: Any
) -> None:
    bert = hub_server.samples.bert
    first = models.localize_model(bert, config=config, options=LocalizeOptions(full=True))
    team = with_bucket(hub_down(config))
    second = models.localize_model(bert, config=team, options=LocalizeOptions(push=False))
    assert second.status == "already_localized" and second.adopted
    assert second.stored.path.is_relative_to(config.models_store_path / "by_bucket")
    weights = next(r for r in first.stored.manifest.files if r.path.endswith(".safetensors"))
    assert (second.stored.path / weights.local_path).stat().st_ino == (
        first.stored.path / weights.local_path
    ).stat().st_ino


def test_serve_serves_every_scope_the_configured_one_first(
    config: HGLocalizationConfig, hub_server: Any
) -> None:
    bert, no_namespace = hub_server.samples.bert, hub_server.samples.no_namespace
    models.localize_model(bert, config=config)
    models.localize_model(no_namespace, config=config)
    team = with_bucket(config)
    models.localize_model(bert, config=team, options=LocalizeOptions(full=True, push=False, force=True))
    with run_server(create_app(store_source(team))) as url:
        api = HfApi(endpoint=url)
        assert {m.id for m in api.list_models()} == {bert, no_namespace}
        served = {s.rfilename for s in api.model_info(bert).siblings or []}
        assert any(name.endswith(".safetensors") for name in served)  # the bucket scope's full copy
        assert {s.rfilename for s in api.model_info(no_namespace).siblings or []} >= {"config.json"}


# --- 4. what a copy holds ---------------------------------------------------------------------------


def test_a_filtered_copy_is_listed_as_filtered_with_its_patterns(
    config: HGLocalizationConfig, hub_server: Any
) -> None:
    models.localize_model(
        hub_server.samples.bert, config=config, options=LocalizeOptions(include=("*.json",))
    )
    models.localize_model(hub_server.samples.no_namespace, config=config)
    by_id = {m.model_id: m for m in models.list_models(config)}
    filtered = by_id[hub_server.samples.bert]
    assert filtered.contents.describe() == "filtered: --include *.json"
    assert filtered.full is False
    assert filtered.as_dict()["contents"] == "filtered"
    assert filtered.as_dict()["filters"] == [{"include": ["*.json"], "exclude": [], "config_name": None}]
    assert by_id[hub_server.samples.no_namespace].contents.describe() == "metadata only"


# --- 9. abbreviated commits -------------------------------------------------------------------------


def test_an_abbreviated_commit_finds_the_local_copy(config: HGLocalizationConfig, hub_server: Any) -> None:
    bert = hub_server.samples.bert
    commit = models.localize_model(bert, config=config).stored.manifest.commit
    assert models.read_local_config(config, bert, commit[:7])["model_type"] == "bert"
    assert models.read_local_config(config, bert, commit)["model_type"] == "bert"
    with pytest.raises(NotLocalizedError):
        models.read_local_config(config, bert, "0000000")


def test_an_abbreviated_commit_that_names_two_local_commits_is_refused(
    config: HGLocalizationConfig, hub_server: Any
) -> None:
    bert = hub_server.samples.bert
    stored = models.localize_model(bert, config=config).stored
    commit = stored.manifest.commit
    twin_commit = commit[:7] + ("0" if commit[7] != "0" else "1") + commit[8:]
    twin = stored.path.with_name("v-twin")
    shutil.copytree(stored.path, twin)
    manifest = stored.manifest.replace(revision="v-twin", commit=twin_commit)
    (twin / METADATA_FILENAME).write_text(manifest.to_json())
    with pytest.raises(InvalidInputError, match="ambiguous") as ambiguous:
        models.read_local_config(config, bert, commit[:7])
    assert "more characters" in str(ambiguous.value.hint)
    assert models.read_local_config(config, bert, commit[:8])["model_type"] == "bert"


def test_download_model_takes_an_abbreviated_commit_from_the_hub(
    config: HGLocalizationConfig, hub_server: Any
) -> None:
    bert = hub_server.samples.bert
    commit = HfApi(endpoint=hub_server.url).model_info(bert).sha
    assert commit is not None
    outcome = models.localize_model(bert, commit[:7], config=config)
    assert outcome.status == "fetched"
    assert outcome.stored.manifest.revision == commit and outcome.stored.path.name == commit
    # ... and, localized, without the Hub.
    again = models.localize_model(bert, commit[:9], config=hub_down(config))
    assert again.status == "already_localized" and not again.warnings


def test_a_served_store_resolves_an_abbreviated_commit_as_the_hub_does(
    config: HGLocalizationConfig, hub_server: Any, tmp_path: Path
) -> None:
    bert = hub_server.samples.bert
    commit = models.localize_model(bert, config=config).stored.manifest.commit
    with run_server(create_app(store_source(config))) as url:
        path = hf_hub_download(
            bert, "config.json", revision=commit[:8], endpoint=url, cache_dir=tmp_path / "c"
        )
        assert Path(path).read_bytes()


# --- 10. HF_HUB_OFFLINE ---------------------------------------------------------------------------


def test_hf_hub_offline_answers_from_the_store_with_no_request_at_all(
    recorded_config: HGLocalizationConfig, recorded_hub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    bert = "hgloc-test/tiny-bert"  # the sample repos' (recorded_hub serves a copy of them)
    models.localize_model(bert, config=recorded_config)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    offline = recorded_config.with_overrides(offline=HGLocalizationConfig().offline)
    assert offline.offline
    before = len(recorded_hub.recorder.requests)
    outcome = models.localize_model(bert, config=offline)
    assert outcome.status == "already_localized" and outcome.warnings == []
    assert len(recorded_hub.recorder.requests) == before
    with pytest.raises(NotLocalizedError) as missing:
        models.localize_model(bert, config=offline, options=LocalizeOptions(full=True))
    assert "HF_HUB_OFFLINE" in str(missing.value.hint)
    with pytest.raises(UpstreamError, match="HF_HUB_OFFLINE"):
        models.fetch_card(offline, bert)
    assert len(recorded_hub.recorder.requests) == before


# --- 3. a request the store covers needs no Hub ------------------------------------------------------


def test_a_dataset_config_is_answered_from_a_whole_local_copy_with_the_hub_down(
    config: HGLocalizationConfig, hub_server: Any
) -> None:
    dataset = hub_server.samples.dataset
    localize_dataset(dataset, config=config)
    name = hub_server.samples.dataset_configs[1]
    outcome = localize_dataset(dataset, config=hub_down(config), config_name=name)
    assert outcome.status == "already_localized"
    assert any("Could not check" in w for w in outcome.warnings)
    offline = localize_dataset(dataset, config=config.with_overrides(offline=True), config_name=name)
    assert offline.status == "already_localized" and offline.warnings == []


def test_a_commit_the_store_holds_under_a_branch_needs_no_hub(
    config: HGLocalizationConfig, hub_server: Any
) -> None:
    bert = hub_server.samples.bert
    commit = models.localize_model(
        bert, config=config, options=LocalizeOptions(full=True)
    ).stored.manifest.commit
    pinned = models.localize_model(bert, commit, config=hub_down(config))
    assert pinned.status == "already_localized" and pinned.stored.path.name == commit
    assert {r.path for r in pinned.stored.manifest.files} == {"README.md", "config.json"}
