"""A dataset's configs, splits and data files, read from its card and file list the way `datasets` does.

Covers ``datasets.configs`` (the card) and ``datasets.files`` (data files, splits, globs)."""

from __future__ import annotations

from fnmatch import fnmatch

import pytest

from hg_localization.datasets.configs import (
    DatasetConfig,
    available_configs,
    configs_from_card,
    find_config,
    loading_script,
    parse_card,
)
from hg_localization.datasets.files import builder_for, glob_match, infer_splits, is_data_file
from hg_localization.errors import InvalidInputError

TINY_CARD = """---
license: apache-2.0
configs:
- config_name: sentences
  default: true
  data_files:
  - split: train
    path: sentences/train-00000-of-00001.parquet
  - split: test
    path: sentences/test-00000-of-00001.parquet
- config_name: numbers
  data_files:
  - split: train
    path: numbers/train-*
  - split: test
    path: numbers/test-*
---

# tiny-dataset
"""
TINY_FILES = [
    "README.md",
    "numbers/test-00000-of-00001.parquet",
    "numbers/train-00000-of-00001.parquet",
    "sentences/test-00000-of-00001.parquet",
    "sentences/train-00000-of-00001.parquet",
]


# --- the card --------------------------------------------------------------------------------------


def test_the_card_front_matter_is_read_and_a_card_without_one_is_empty() -> None:
    assert parse_card(TINY_CARD)["license"] == "apache-2.0"
    assert parse_card("# Just a title\n") == {}


def test_a_card_with_broken_yaml_is_refused_with_a_message() -> None:
    with pytest.raises(InvalidInputError, match="not valid YAML"):
        parse_card("---\nconfigs: [unclosed\n---\n")


def test_the_card_configs_give_each_split_its_patterns() -> None:
    configs = configs_from_card(parse_card(TINY_CARD))
    assert [c.name for c in configs] == ["sentences", "numbers"]
    assert configs[0].default and not configs[1].default
    assert configs[1].data_files == {"train": ("numbers/train-*",), "test": ("numbers/test-*",)}


@pytest.mark.parametrize(
    ("data_files", "expected"),
    [
        ("data/*.csv", {"train": ("data/*.csv",)}),
        (["a.csv", "b.csv"], {"train": ("a.csv", "b.csv")}),
        (
            {"train": "tr.csv", "test": ["te1.csv", "te2.csv"]},
            {"train": ("tr.csv",), "test": ("te1.csv", "te2.csv")},
        ),
        ([{"split": "train", "path": ["x/*", "y/*"]}], {"train": ("x/*", "y/*")}),
    ],
)
def test_every_shape_of_data_files_is_understood(
    data_files: object, expected: dict[str, tuple[str, ...]]
) -> None:
    (config,) = configs_from_card({"configs": [{"config_name": "c", "data_files": data_files}]})
    assert config.data_files == expected


def test_builder_options_and_data_dir_are_kept() -> None:
    (config,) = configs_from_card({"configs": [{"config_name": "semi", "data_dir": "semi/", "sep": ";"}]})
    assert config.data_dir == "semi"
    assert config.data_files is None
    assert config.builder_options == {"sep": ";"}


@pytest.mark.parametrize(
    "pattern",
    [
        "../secrets/*.csv",
        "/etc/passwd",
        "hf://datasets/other/repo/*.parquet",
        "https://example.com/x.csv",
        "a/../../b",
    ],
)
def test_data_files_outside_the_repository_are_refused(pattern: str) -> None:
    with pytest.raises(InvalidInputError, match="outside the repository"):
        configs_from_card({"configs": [{"config_name": "evil", "data_files": pattern}]})


def test_a_config_named_twice_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="twice"):
        configs_from_card({"configs": [{"config_name": "a"}, {"config_name": "a"}]})


# --- choosing a config -----------------------------------------------------------------------------


def test_an_unknown_config_is_refused_naming_the_available_ones() -> None:
    configs = available_configs(parse_card(TINY_CARD), TINY_FILES)
    with pytest.raises(InvalidInputError, match=r"no config 'nope'\. Available configs: sentences, numbers"):
        find_config(configs, "nope", "hgloc-test/tiny-dataset")


def test_without_a_name_the_default_config_is_chosen() -> None:
    configs = available_configs(parse_card(TINY_CARD), TINY_FILES)
    assert find_config(configs, None, "x").name == "sentences"


def test_several_configs_and_no_default_ask_for_a_name() -> None:
    configs = [DatasetConfig(name="a"), DatasetConfig(name="b")]
    with pytest.raises(InvalidInputError, match="choose one of a, b"):
        find_config(configs, None, "x")


def test_without_card_configs_the_folders_are_configs_but_split_folders_are_not() -> None:
    files = [
        "en/train.csv",
        "en/test.csv",
        "data/fr/train.parquet",
        "train/extra.csv",
        "docs/notes.md",
        "x.csv",
    ]
    configs = {c.name: c for c in available_configs({}, files)}
    assert set(configs) == {"default", "en", "fr"}
    assert configs["fr"].data_dir == "data/fr"
    assert configs["default"].download_patterns() == ("*",)
    assert configs["en"].files_by_split(files) == {"train": ["en/train.csv"], "test": ["en/test.csv"]}


def test_download_patterns_select_exactly_the_config_files() -> None:
    configs = {c.name: c for c in configs_from_card(parse_card(TINY_CARD))}
    for name in ("sentences", "numbers"):
        patterns = configs[name].download_patterns()
        chosen = [f for f in TINY_FILES if any(fnmatch(f, p) for p in patterns)]
        assert chosen == [f for f in TINY_FILES if f.startswith(f"{name}/")]


def test_recursive_patterns_still_match_files_at_the_top_for_download() -> None:
    config = DatasetConfig(name="c", data_files={"train": ("**/*.parquet",)})
    (pattern,) = config.download_patterns()
    assert fnmatch("top.parquet", pattern) and fnmatch("a/b/deep.parquet", pattern)


def test_files_by_split_follows_the_card_patterns_relative_to_data_dir() -> None:
    config = DatasetConfig(name="c", data_dir="data", data_files={"train": ("train-*",), "test": ("test-*",)})
    files = ["data/train-0.parquet", "data/train-1.parquet", "data/test-0.parquet", "other/train-0.parquet"]
    assert config.files_by_split(files) == {
        "train": ["data/train-0.parquet", "data/train-1.parquet"],
        "test": ["data/test-0.parquet"],
    }


# --- loading scripts ---------------------------------------------------------------------------------


def test_a_script_named_like_the_repo_is_a_loading_script_even_with_data() -> None:
    assert loading_script("squad", ["squad.py", "README.md", "data/train.json"], {}) == "squad.py"


def test_top_level_python_and_no_data_is_a_loading_script() -> None:
    assert loading_script("x", ["build.py", "README.md"], {}) == "build.py"


def test_helper_python_next_to_data_files_is_not_a_loading_script() -> None:
    assert loading_script("x", ["make_data.py", "data/train.csv"], {}) is None
    assert loading_script("x", ["tools/convert.py", "README.md"], {}) is None


# --- splits and files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            [
                "data/train-00000-of-00002.parquet",
                "data/train-00001-of-00002.parquet",
                "data/test-00000-of-00001.parquet",
            ],
            {
                "train": ["data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"],
                "test": ["data/test-00000-of-00001.parquet"],
            },
        ),
        (
            ["train/a.csv", "dev/b.csv", "eval/c.csv"],
            {"train": ["train/a.csv"], "validation": ["dev/b.csv"], "test": ["eval/c.csv"]},
        ),
        (["data/train.csv", "data/test.csv"], {"train": ["data/train.csv"], "test": ["data/test.csv"]}),
        (
            ["my_valid_set.jsonl", "my_train_set.jsonl"],
            {"train": ["my_train_set.jsonl"], "validation": ["my_valid_set.jsonl"]},
        ),
        (["all.csv", "more/rows.csv"], {"train": ["all.csv", "more/rows.csv"]}),
        (["constrained.csv"], {"train": ["constrained.csv"]}),  # "train" inside a word is not a split
    ],
)
def test_splits_are_inferred_from_names_like_datasets_does(
    files: list[str], expected: dict[str, list[str]]
) -> None:
    assert infer_splits(files) == expected


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("data/*.csv", "data/a.csv", True),
        ("data/*.csv", "data/sub/a.csv", False),
        ("data/**/*.csv", "data/a.csv", True),
        ("data/**/*.csv", "data/x/y/a.csv", True),
        ("**", "a/b/c", True),
        ("train-?.csv", "train-1.csv", True),
        ("train-[0-9].csv", "train-x.csv", False),
        ("train-[!0-9].csv", "train-x.csv", True),
        ("a+b.csv", "a+b.csv", True),
    ],
)
def test_glob_semantics_are_fsspec_ones(pattern: str, path: str, matches: bool) -> None:
    assert glob_match(pattern, path) is matches


def test_hidden_and_metadata_files_are_not_data() -> None:
    assert is_data_file("data/train.csv.gz")
    assert not is_data_file("README.md")
    assert not is_data_file(".hg_localization_bucket_metadata.json")
    assert not is_data_file("data/.cache/train.csv")
    assert not is_data_file("dataset_infos.json")
    assert not is_data_file("script.py")


def test_the_most_common_loadable_format_picks_the_builder() -> None:
    assert builder_for(["a.parquet", "b.parquet", "c.csv"]) == ("parquet", {})
    assert builder_for(["a.tsv"]) == ("csv", {"sep": "\t"})
    assert builder_for(["a.jsonl.gz"]) == ("json", {})
    with pytest.raises(InvalidInputError, match="cannot be loaded offline"):
        builder_for(["a.png", "b.png"])
