"""The bucket is a cache of the Hub, not a second truth: it never hides a moved branch upstream,
and fetching from it never takes away files the local copy already had."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from hg_localization.config import HGLocalizationConfig
from hg_localization.server.app import create_app
from hg_localization.server.folder_source import FolderSource
from hg_localization.usecases.models import localize_model
from hg_localization.usecases.options import LocalizeOptions

from helpers.servers import replace_served_file, run_server
from helpers.stored import stored_files


def test_a_branch_that_moved_upstream_is_taken_from_the_hub_not_the_stale_bucket(
    team: HGLocalizationConfig, hub_server: Any, tmp_path: Path, teammate: Any
) -> None:
    upstream = tmp_path / "upstream"
    shutil.copytree(hub_server.repos_dir, upstream)
    with run_server(create_app(FolderSource.for_repos_dir(upstream))) as url:
        alice = team.with_overrides(hf_endpoint=url)
        before = localize_model("hgloc-test/tiny-bert", config=alice)  # pushed to the bucket
        config_file = upstream / "models" / "hgloc-test" / "tiny-bert" / "main" / "config.json"
        replace_served_file(
            config_file, json.dumps({**json.loads(config_file.read_text()), "moved": True}).encode()
        )

        bob = teammate("bob", hf_endpoint=url)
        after = localize_model("hgloc-test/tiny-bert", config=bob)
        assert after.status == "fetched"  # not "from_bucket": the bucket's main is old
        assert after.stored.manifest.commit != before.stored.manifest.commit
        assert json.loads((after.stored.path / "config.json").read_text())["moved"] is True

        carol = teammate("carol")  # no Hub at all: the bucket now has the new commit (bob pushed it)
        latest = localize_model("hgloc-test/tiny-bert", config=carol)
        assert latest.status == "from_bucket"
        assert latest.stored.manifest.commit == after.stored.manifest.commit


def test_fetching_more_from_the_bucket_never_takes_away_local_files(
    team: HGLocalizationConfig, hub_server: Any, teammate: Any
) -> None:
    bert = hub_server.samples.bert
    localize_model(bert, config=team, options=LocalizeOptions(full=True))  # the bucket has every file
    bob = teammate("bob")
    first = localize_model(bert, config=bob, options=LocalizeOptions(include=("*.safetensors",)))
    assert "model.safetensors" in stored_files(first.stored.path)

    second = localize_model(bert, config=bob, options=LocalizeOptions(include=("*.json",)))
    assert second.status == "from_bucket"
    files = stored_files(second.stored.path)
    assert "model.safetensors" in files and "tokenizer.json" in files
