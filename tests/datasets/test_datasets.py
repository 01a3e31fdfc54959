"""Datasets through the project's own Hub: localize, load offline, save, and serve back.

Every `datasets` client that talks to a server runs in a fresh interpreter with HF_ENDPOINT set
(huggingface_hub and datasets read it at import). Loading from the store runs in one too, with
HF_HUB_OFFLINE=1, the server stopped, and an audit hook that records any socket use.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hg_localization.api import datasets as datasets_api
from hg_localization.config import HGLocalizationConfig
from hg_localization.datasets import loading, localizing, saving
from hg_localization.errors import InvalidInputError, NotLocalizedError, RepoNotFoundError
from hg_localization.server.app import create_app
from hg_localization.server.folder_source import FolderSource
from hg_localization.server.store_source import StoreSource
from hg_localization.store.layout import StoreLayout
from hg_localization.usecases import listing
from hg_localization.usecases.options import LocalizeOptions

from helpers.clients import run_python_json
from helpers.servers import DEAD_ENDPOINT, run_server
from helpers.stored import manifest_of, stored_files


def run_child(code: str, config: HGLocalizationConfig, *, offline: bool = True) -> Any:
    """Run ``code`` in a new interpreter using ``config``'s store; ``offline``: HF_HUB_OFFLINE=1 and
    HF_ENDPOINT unreachable.

    The code runs after an audit hook that records every socket connection and DNS lookup into
    ``network``; it prints one JSON document last.
    """
    prelude = """
        import json, sys
        network = []
        sys.addaudithook(
            lambda event, args: network.append([event, repr(args)])
            if event in ("socket.connect", "socket.getaddrinfo") else None
        )
    """
    env = {
        **os.environ,
        "HGLOC_DATASETS_STORE_PATH": str(config.datasets_store_path),
        "HGLOC_MODELS_STORE_PATH": str(config.models_store_path),
    }
    if offline:
        env.update({"HF_HUB_OFFLINE": "1", "HF_ENDPOINT": DEAD_ENDPOINT})
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(prelude) + textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.fixture
def scripted_hub(tmp_path: Path) -> Iterator[str]:
    """A Hub with one dataset that needs a loading script, and one whose config has no data."""
    root = tmp_path / "scripted-repos"
    scripted = root / "datasets" / "hgloc-test" / "scripted" / "main"
    scripted.mkdir(parents=True)
    (scripted / "scripted.py").write_text("import os\nos.system('echo this must never run')\n")
    (scripted / "README.md").write_text("# A dataset built by a script\n")
    (scripted / "data.txt").write_text("raw text the script would parse\n")
    empty = root / "datasets" / "hgloc-test" / "empty-config" / "main"
    empty.mkdir(parents=True)
    (empty / "README.md").write_text(
        "---\nconfigs:\n- config_name: ghost\n  data_files: ghost/*.parquet\n---\n# nothing here\n"
    )
    (empty / "notes.csv").write_text("a,b\n1,2\n")
    with run_server(create_app(FolderSource.for_repos_dir(root))) as url:
        yield url


# --- the project's server speaks to datasets ---------------------------------------------------------


def test_datasets_load_dataset_works_against_the_server_unmodified(hub_server: Any) -> None:
    samples = hub_server.samples
    rows = run_python_json(
        f"""
        import json, datasets
        numbers = datasets.load_dataset({samples.dataset!r}, "numbers")
        default = datasets.load_dataset({samples.dataset!r})
        csv = datasets.load_dataset({samples.csv_dataset!r})
        print(json.dumps({{
            "numbers": {{s: numbers[s].num_rows for s in numbers}},
            "default_columns": default["train"].column_names,
            "csv": {{s: list(csv[s]["text"]) for s in csv}},
        }}))
        """,
        endpoint=hub_server.url,
    )
    assert rows["numbers"] == {"train": 20, "test": 5}
    assert rows["default_columns"] == ["text", "label"]
    assert rows["csv"]["test"] == ["verified weights", "missing file"]


# --- localizing --------------------------------------------------------------------------------------


def test_the_whole_repo_is_stored_as_fetched(config: HGLocalizationConfig, hub_server: Any) -> None:
    samples = hub_server.samples
    outcome = localizing.localize_dataset(samples.dataset, config=config)

    folder = outcome.stored.path
    assert folder == config.datasets_store_path / "hgloc-test" / "tiny-dataset" / "main"
    assert stored_files(folder) == samples.files(samples.dataset, repo_type="dataset")
    manifest = manifest_of(folder)
    assert manifest.repo_type == "dataset" and len(manifest.commit) == 40
    assert outcome.status == "fetched"
    assert localizing.localize_dataset(samples.dataset, config=config).status == "already_localized"


def test_name_fetches_one_config_and_the_card(config: HGLocalizationConfig, hub_server: Any) -> None:
    samples = hub_server.samples
    outcome = localizing.localize_dataset(samples.dataset, config=config, config_name="numbers")

    upstream = samples.files(samples.dataset, repo_type="dataset")
    assert stored_files(outcome.stored.path) == {
        path: data for path, data in upstream.items() if path == "README.md" or path.startswith("numbers/")
    }
    (listed,) = listing.list_datasets(config)
    assert listed.config_names == ("numbers",) and listed.full is False


def test_a_second_config_adds_to_the_same_revision(config: HGLocalizationConfig, hub_server: Any) -> None:
    samples = hub_server.samples
    localizing.localize_dataset(samples.dataset, config=config, config_name="numbers")
    outcome = localizing.localize_dataset(samples.dataset, config=config, config_name="sentences")

    assert outcome.status == "updated" and outcome.reused_files == 3  # the card and numbers' files
    assert set(stored_files(outcome.stored.path)) == set(samples.files(samples.dataset, repo_type="dataset"))
    (listed,) = listing.list_datasets(config)
    assert listed.config_names == ("numbers", "sentences")


def test_an_unknown_config_is_refused_and_nothing_is_stored(
    config: HGLocalizationConfig, hub_server: Any
) -> None:
    with pytest.raises(InvalidInputError, match="Available configs: sentences, numbers"):
        localizing.localize_dataset(hub_server.samples.dataset, config=config, config_name="letters")
    assert not config.datasets_store_path.exists() or listing.list_datasets(config) == []


def test_a_csv_dataset_without_configs_has_a_default_config(
    config: HGLocalizationConfig, hub_server: Any
) -> None:
    samples = hub_server.samples
    outcome = localizing.localize_dataset(samples.csv_dataset, config=config, config_name="default")
    assert set(stored_files(outcome.stored.path)) == {"README.md", "data/train.csv", "data/test.csv"}


def test_include_and_exclude_filter_the_files(config: HGLocalizationConfig, hub_server: Any) -> None:
    samples = hub_server.samples
    outcome = localizing.localize_dataset(
        samples.csv_dataset, config=config, options=LocalizeOptions(exclude=("*test*",))
    )
    assert set(stored_files(outcome.stored.path)) == {"README.md", "data/train.csv"}
    with pytest.raises(InvalidInputError, match="No data file"):
        localizing.localize_dataset(
            samples.dataset, "main", config=config, options=LocalizeOptions(include=("*.arrow",))
        )


def test_a_dataset_that_needs_a_loading_script_is_refused(tmp_path: Path, scripted_hub: str) -> None:
    config = HGLocalizationConfig(
        models_store_path=tmp_path / "models",
        datasets_store_path=tmp_path / "datasets",
        hf_endpoint=scripted_hub,
    )
    with pytest.raises(
        InvalidInputError, match=r"needs a loading script \(scripted.py\); hg-localization does not run"
    ):
        localizing.localize_dataset("hgloc-test/scripted", config=config)
    with pytest.raises(InvalidInputError, match=r"config 'ghost' .* has no data files"):
        localizing.localize_dataset("hgloc-test/empty-config", config=config, config_name="ghost")
    assert listing.list_datasets(config) == []


def test_a_missing_dataset_says_so(config: HGLocalizationConfig) -> None:
    with pytest.raises(RepoNotFoundError, match="No dataset repository 'hgloc-test/nope'"):
        localizing.localize_dataset("hgloc-test/nope", config=config)


# --- loading from the store, offline -----------------------------------------------------------------


def test_load_local_dataset_needs_no_network_and_no_server(tmp_path: Path, hub_server: Any) -> None:
    samples = hub_server.samples
    with run_server(create_app(FolderSource.for_repos_dir(hub_server.repos_dir))) as url:
        config = HGLocalizationConfig(
            models_store_path=tmp_path / "models", datasets_store_path=tmp_path / "datasets", hf_endpoint=url
        )
        localizing.localize_dataset(samples.dataset, config=config)
        localizing.localize_dataset(samples.csv_dataset, config=config)
    # the server is stopped now
    loaded = run_child(
        f"""
        from hg_localization import load_local_dataset
        default = load_local_dataset({samples.dataset!r})
        numbers_test = load_local_dataset({samples.dataset!r}, "numbers", split="test")
        csv = load_local_dataset({samples.csv_dataset!r})
        print(json.dumps({{
            "default": {{s: default[s].num_rows for s in default}},
            "numbers_test": numbers_test.to_dict(),
            "numbers_split": str(numbers_test.split),
            "csv_train": list(csv["train"]["text"]),
            "network": network,
        }}))
        """,
        config,
    )
    assert loaded["network"] == []
    assert loaded["default"] == {"train": 24, "test": 8}
    assert loaded["numbers_test"] == {"x": [20, 21, 22, 23, 24], "y": [10.0, 10.5, 11.0, 11.5, 12.0]}
    assert loaded["numbers_split"] == "test"
    assert loaded["csv_train"] == ["good model", "bad download", "fast server", "broken checksum"]
    assert (config.datasets_store_path / ".cache" / "datasets").is_dir()  # the Arrow cache is the store's


def test_a_copy_of_one_config_loads_that_config_by_default(
    config: HGLocalizationConfig, hub_server: Any
) -> None:
    samples = hub_server.samples
    localizing.localize_dataset(samples.dataset, config=config, config_name="numbers")

    loaded = loading.load_local_dataset(config, samples.dataset)
    assert loaded["train"].column_names == ["x", "y"]
    with pytest.raises(InvalidInputError, match="--name sentences"):
        loading.load_local_dataset(config, samples.dataset, "sentences")
    with pytest.raises(InvalidInputError, match=r"no split 'validation'\. Available splits: train, test"):
        loading.load_local_dataset(config, samples.dataset, "numbers", split="validation")


def test_the_api_returns_none_for_what_is_not_localized(config: HGLocalizationConfig) -> None:
    assert datasets_api.load_local_dataset("hgloc-test/never", config=config) is None
    with pytest.raises(NotLocalizedError, match="download-dataset hgloc-test/never"):
        loading.load_local_dataset(config, "hgloc-test/never")


# --- saving a Dataset into the store ------------------------------------------------------------------


def test_upload_dataset_stores_parquet_with_a_card_and_loads_back(config: HGLocalizationConfig) -> None:
    import datasets as hf_datasets

    dataset_dict = hf_datasets.DatasetDict(
        {
            "train": hf_datasets.Dataset.from_dict({"q": ["a", "b", "c"], "n": [1, 2, 3]}),
            "test": hf_datasets.Dataset.from_dict({"q": ["z"], "n": [26]}),
        }
    )
    assert datasets_api.upload_dataset(dataset_dict, "team/qa", config=config) is True
    assert datasets_api.upload_dataset(dataset_dict["test"], "team/qa", config_name="tiny", config=config)

    folder = config.datasets_store_path / "team" / "qa" / "main"
    assert set(stored_files(folder)) == {
        "README.md",
        "data/train-00000-of-00001.parquet",
        "data/test-00000-of-00001.parquet",
        "tiny/train-00000-of-00001.parquet",  # a Dataset without a split name is "train"
    }
    manifest = manifest_of(folder)
    assert manifest.source == "upload" and len(manifest.commit) == 40
    card = (folder / "README.md").read_text()
    assert "config_name: default" in card and "config_name: tiny" in card

    assert list(loading.load_local_dataset(config, "team/qa")["train"]["q"]) == ["a", "b", "c"]
    assert list(loading.load_local_dataset(config, "team/qa", "tiny", split="train")["n"]) == [26]


def test_upload_never_mixes_into_a_copy_of_the_hub(config: HGLocalizationConfig, hub_server: Any) -> None:
    import datasets as hf_datasets

    samples = hub_server.samples
    localizing.localize_dataset(samples.csv_dataset, config=config)
    extra = hf_datasets.Dataset.from_dict({"text": ["mine"], "label": [1]})
    with pytest.raises(InvalidInputError, match="is a copy of the Hub's"):
        saving.upload_dataset(config, extra, samples.csv_dataset)
    outcome = saving.upload_dataset(config, extra, samples.csv_dataset, revision="my-version")
    assert outcome.stored.path.name == "my-version"
    assert set(stored_files(outcome.stored.path)) == {"README.md", "data/train-00000-of-00001.parquet"}


def test_upload_refuses_what_is_not_a_dataset_and_make_public_without_a_bucket(
    config: HGLocalizationConfig,
) -> None:
    with pytest.raises(InvalidInputError, match=r"takes a datasets\.Dataset or DatasetDict"):
        saving.upload_dataset(config, {"train": [1, 2]}, "team/x")
    with pytest.raises(InvalidInputError, match="--make-public needs a team bucket"):
        saving.upload_dataset(config, object(), "team/x", make_public=True)
    assert datasets_api.upload_dataset(object(), "team/x", config=config) is False


# --- the store served back -----------------------------------------------------------------------------


def test_the_store_served_back_loads_with_datasets(
    tmp_path: Path, config: HGLocalizationConfig, hub_server: Any
) -> None:
    samples = hub_server.samples
    localizing.localize_dataset(samples.dataset, config=config)
    import datasets as hf_datasets

    saving.upload_dataset(
        config, hf_datasets.Dataset.from_dict({"word": ["alpha", "beta"]}), "team/words", push=False
    )
    source = StoreSource.for_store(
        StoreLayout(config.models_store_path, "model").base,
        StoreLayout(config.datasets_store_path, "dataset").base,
    )
    with run_server(create_app(source)) as url:
        rows = run_python_json(
            f"""
            import json, datasets
            numbers = datasets.load_dataset({samples.dataset!r}, "numbers", split="train")
            words = datasets.load_dataset("team/words", split="train")
            print(json.dumps({{"numbers": numbers.num_rows, "words": list(words["word"])}}))
            """,
            endpoint=url,
        )
    assert rows == {"numbers": 20, "words": ["alpha", "beta"]}


# --- without the optional `datasets` package --------------------------------------------------------


def test_without_datasets_download_and_list_work_and_load_says_what_to_install(
    tmp_path: Path, hub_server: Any
) -> None:
    samples = hub_server.samples
    config = HGLocalizationConfig(
        models_store_path=tmp_path / "models",
        datasets_store_path=tmp_path / "datasets",
        hf_endpoint=hub_server.url,
    )
    result = run_child(
        f"""
        sys.modules["datasets"] = None  # as if it were not installed: importing it fails
        from hg_localization import download_dataset, list_local_datasets, load_local_dataset
        from hg_localization import HGLocalizationError, HGLocalizationConfig
        config = HGLocalizationConfig(hf_endpoint={hub_server.url!r})
        ok, path = download_dataset({samples.csv_dataset!r}, config=config)
        listed = [d["dataset_id"] for d in list_local_datasets(config=config)]
        try:
            load_local_dataset({samples.csv_dataset!r}, config=config)
            message = None
        except HGLocalizationError as exc:
            message = str(exc)
        print(json.dumps({{"ok": ok, "listed": listed, "message": message}}))
        """,
        config,
        offline=False,
    )
    assert result["ok"] is True
    assert result["listed"] == [samples.csv_dataset]
    assert "pip install 'hg-localization[datasets]'" in result["message"]
