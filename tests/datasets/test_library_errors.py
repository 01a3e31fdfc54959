"""What the `datasets` library raises, translated at its one boundary (``datasets/library.py``):
the data's fault is bad input, a store file gone is a local file error, anything else a bug."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hg_localization.config import HGLocalizationConfig
from hg_localization.datasets import loading, saving
from hg_localization.errors import InvalidInputError, LocalFileError
from hg_localization.usecases import listing

from helpers.servers import DEAD_ENDPOINT

TRAIN = Path("data") / "train-00000-of-00001.parquet"


@pytest.fixture
def config(tmp_path: Path) -> HGLocalizationConfig:
    """A store with no Hub behind it: saving and loading need none."""
    return HGLocalizationConfig(
        models_store_path=tmp_path / "models",
        datasets_store_path=tmp_path / "datasets",
        hf_endpoint=DEAD_ENDPOINT,
    )


def saved(config: HGLocalizationConfig, dataset_id: str) -> Path:
    """Save a two-row dataset as ``dataset_id`` (not pushed); its revision folder."""
    import datasets as hf_datasets

    rows = hf_datasets.Dataset.from_dict({"word": ["alpha", "beta"]})
    return saving.upload_dataset(config, rows, dataset_id, push=False).stored.path


def test_a_corrupt_stored_file_is_bad_input_that_names_the_dataset(config: HGLocalizationConfig) -> None:
    folder = saved(config, "team/broken")
    (folder / TRAIN).unlink()  # a new file, not the one the stored folder may share a link with
    (folder / TRAIN).write_bytes(b"PAR1 this is not parquet PAR1")
    with pytest.raises(InvalidInputError, match=r"could not load config 'default' of 'team/broken' .*Arrow"):
        loading.load_local_dataset(config, "team/broken")


def test_a_stored_file_gone_is_a_local_file_error(config: HGLocalizationConfig) -> None:
    folder = saved(config, "team/gone")
    (folder / TRAIN).unlink()
    with pytest.raises(LocalFileError) as raised:
        loading.load_local_dataset(config, "team/gone")
    assert raised.value.exit_code == 8


def test_a_card_option_the_builder_does_not_have_is_bad_input(config: HGLocalizationConfig) -> None:
    folder = saved(config, "team/odd-card")
    card = folder / "README.md"
    text = card.read_text()
    card.unlink()
    card.write_text(text.replace("- config_name: default\n", "- config_name: default\n  no_such_option: 1\n"))
    with pytest.raises(InvalidInputError, match=r"TypeError: .*no_such_option"):
        loading.load_local_dataset(config, "team/odd-card")


def test_an_unknown_error_while_saving_is_not_turned_into_bad_input(config: HGLocalizationConfig) -> None:
    import datasets as hf_datasets

    class Exploding(hf_datasets.Dataset):  # type: ignore[misc]
        def to_parquet(self, *args: Any, **kwargs: Any) -> int:
            raise RuntimeError("a bug, not the data")

    rows = Exploding(hf_datasets.Dataset.from_dict({"word": ["alpha"]}).data)
    with pytest.raises(RuntimeError, match="a bug, not the data"):
        saving.upload_dataset(config, rows, "team/exploding", push=False)
    assert listing.list_datasets(config) == []  # the staging folder is gone, nothing published
