"""The Python API answers every expected failure in words: ``(False, message)`` (or None, or an error
for the listing functions), never an OS exception, and it never prints, not even a warning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import hg_localization
from hg_localization import HGLocalizationConfig
from hg_localization.errors import InvalidInputError

SCRIPT = """
import json, hg_localization as api
answers = [
    api.download_model_metadata("hgloc-test/tiny-bert"),
    api.download_dataset("hgloc-test/tiny-dataset"),
    api.upload_dataset(None, "team/mine"),
    api.get_cached_model_card_content("hgloc-test/tiny-bert"),
]
print(json.dumps(answers))
"""


@pytest.mark.slow
def test_the_api_never_prints_and_answers_an_unwritable_store_in_words(tmp_path: Path) -> None:
    """A store path that is a file used to raise NotADirectoryError; warnings went to stderr."""
    not_a_folder = tmp_path / "not-a-folder"
    not_a_folder.write_text("a file")
    env = {
        **os.environ,
        "HGLOC_MODELS_STORE_PATH": str(not_a_folder),
        "HGLOC_DATASETS_STORE_PATH": str(not_a_folder),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    model, dataset, uploaded, card = json.loads(done.stdout)
    assert model[0] is False and "Not a directory" in model[1] and str(not_a_folder) in model[1]
    assert dataset[0] is False and dataset[1]
    assert uploaded is False and card is None


def test_an_unwritable_store_is_false_and_a_message(tmp_path: Path, hub_server: Any) -> None:
    not_a_folder = tmp_path / "not-a-folder"
    not_a_folder.write_text("a file")
    config = HGLocalizationConfig(models_store_path=not_a_folder, hf_endpoint=hub_server.url)
    ok, message = hg_localization.download_model_metadata(hub_server.samples.bert, config=config)
    assert not ok
    assert message.startswith("Could not read or write") and "Not a directory" in message


def test_a_bad_setting_is_false_and_a_message_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:99999")
    ok, message = hg_localization.download_model_metadata("hgloc-test/tiny-bert")
    assert not ok and "HF_ENDPOINT: 'http://127.0.0.1:99999' has a port" in message
    ok, message = hg_localization.sync_local_model_to_s3("hgloc-test/tiny-bert")
    assert not ok and "HF_ENDPOINT" in message
    with pytest.raises(InvalidInputError, match="HF_ENDPOINT"):
        hg_localization.list_local_models()


def test_allow_private_public_needs_make_public(tmp_path: Path) -> None:
    config = HGLocalizationConfig(models_store_path=tmp_path, s3_bucket_name="team-bucket")
    ok, message = hg_localization.download_model_metadata(
        "hgloc-test/tiny-bert", config=config, allow_private_public=True
    )
    assert not ok and "only applies with --make-public" in message


def test_a_listing_error_leaves_without_the_urls_password() -> None:
    with pytest.raises(hg_localization.HGLocalizationError) as caught:
        hg_localization.list_public_models(public_url="http://someone:API-PASSWORD-1@127.0.0.1:9/public")
    assert "API-PASSWORD-1" not in str(caught.value) and "http://***@127.0.0.1:9" in str(caught.value)
