"""A dataset repo's configs, splits and data files, read the way ``datasets`` reads them. Pure.

A dataset repository says what it contains in one of two ways, and ``datasets.load_dataset``
honours both; so do we:

- **the card's YAML** (``README.md`` front matter)::

      configs:
        - config_name: sentences
          default: true
          data_files:                     # str | [str] | [{split, path: str | [str]}]
            - {split: train, path: "sentences/train-*"}
          sep: ";"                        # anything else: the builder's own options
        - config_name: numbers
          data_dir: numbers               # no data_files: splits inferred under this folder

- **the folder layout**: no ``configs:``; the whole repo is the implicit ``default`` config, and
  a top-level folder (or a folder in ``data/``) holding data files can be fetched on its own.
  Splits are inferred from file and folder names (``train``, ``validation``/``dev``/``val``,
  ``test``/``eval``, sharded ``data/{split}-00000-of-00003.parquet``), else everything is
  ``train`` — the rules of ``datasets.data_files``.

Patterns are fsspec globs (``*`` stays in one folder, ``**`` crosses folders). Patterns that
point outside the repository (absolute paths, ``..``, URLs such as ``hf://``) are refused: a
loaded dataset reads only files of its own revision folder, and never the network.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from hg_localization.datasets.files import (
    DEFAULT_SPLIT,
    glob_match,
    infer_splits,
    is_data_file,
    split_of_folder,
)
from hg_localization.errors import InvalidInputError
from hg_localization.store.layout import CARD_FILENAME as CARD_FILENAME

DEFAULT_CONFIG_NAME = "default"
_CONFIG_KEYS = frozenset({"config_name", "data_files", "data_dir", "default"})
_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


@dataclass(frozen=True)
class DatasetConfig:
    """One config of a dataset: where its files are and how they split."""

    name: str
    #: Folder the data files (and patterns) are relative to; "" is the repo root.
    data_dir: str = ""
    #: Split -> glob patterns relative to ``data_dir``; None: infer splits from the file names.
    data_files: Mapping[str, tuple[str, ...]] | None = None
    default: bool = False
    #: Other keys of the YAML entry (``sep``, ``drop_labels``, …): options for the builder.
    builder_options: Mapping[str, Any] = field(default_factory=dict)

    def download_patterns(self) -> tuple[str, ...]:
        """``fnmatch`` patterns (as ``--include`` takes them) for every file of this config.

        fnmatch's ``*`` also crosses folders, so ``**/`` becomes ``*``: the patterns match a
        superset of what ``datasets`` would read (never fewer files).
        """
        if self.data_files is None:
            return (f"{self.data_dir}/*",) if self.data_dir else ("*",)
        patterns = {
            _join(self.data_dir, p).replace("**/", "*") for ps in self.data_files.values() for p in ps
        }
        return tuple(sorted(patterns))

    def files_by_split(self, paths: Iterable[str]) -> dict[str, list[str]]:
        """The data files among ``paths`` (repo paths) of each split of this config, sorted."""
        prefix = f"{self.data_dir}/" if self.data_dir else ""
        relative = {p[len(prefix) :]: p for p in paths if p.startswith(prefix) and is_data_file(p)}
        if self.data_files is None:
            splits = infer_splits(relative)
        else:
            splits = {
                split: sorted(p for p in relative if any(glob_match(pattern, p) for pattern in patterns))
                for split, patterns in self.data_files.items()
            }
        return {split: sorted(relative[p] for p in files) for split, files in splits.items()}


# --- the card ---------------------------------------------------------------------------------


def parse_card(text: str) -> dict[str, Any]:
    """The YAML front matter of a dataset card, as a dict (empty when there is none)."""
    match = _FRONT_MATTER_RE.match(text.lstrip("\ufeff"))
    if match is None:
        return {}
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"The dataset card's YAML header is not valid YAML: {exc}") from exc
    return data if isinstance(data, dict) else {}


def configs_from_card(card_data: Mapping[str, Any]) -> list[DatasetConfig]:
    """The ``configs:`` of a card, validated; empty when the card has none."""
    raw = card_data.get("configs")
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(entry, dict) for entry in raw):
        raise InvalidInputError("The dataset card's 'configs:' must be a list of mappings.")
    configs = [_config_from_entry(entry) for entry in raw]
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"The dataset card names a config twice: {', '.join(names)}.")
    return configs


def _config_from_entry(entry: Mapping[str, Any]) -> DatasetConfig:
    name = entry.get("config_name", DEFAULT_CONFIG_NAME)
    if not isinstance(name, str) or not name:
        raise InvalidInputError(f"A config in the dataset card has no valid 'config_name': {entry!r}.")
    data_dir = entry.get("data_dir") or ""
    if not isinstance(data_dir, str):
        raise InvalidInputError(f"The config '{name}' has a 'data_dir' that is not a folder name.")
    data_dir = _check_pattern(data_dir.strip("/"), name) if data_dir.strip("/") else ""
    data_files = entry.get("data_files")
    return DatasetConfig(
        name=name,
        data_dir=data_dir,
        data_files=None if data_files is None else _split_patterns(data_files, name),
        default=bool(entry.get("default", False)),
        builder_options={k: v for k, v in entry.items() if k not in _CONFIG_KEYS},
    )


def _split_patterns(data_files: object, config_name: str) -> dict[str, tuple[str, ...]]:
    """``data_files`` in any of its YAML shapes, as split -> patterns (``datasets.sanitize_patterns``)."""
    if isinstance(data_files, str):
        return {DEFAULT_SPLIT: (_check_pattern(data_files, config_name),)}
    if isinstance(data_files, dict):
        return {str(split): _patterns(value, config_name) for split, value in data_files.items()}
    if isinstance(data_files, list) and any(isinstance(item, dict) for item in data_files):
        splits: dict[str, tuple[str, ...]] = {}
        for item in data_files:
            if not isinstance(item, dict) or "split" not in item or "path" not in item:
                raise InvalidInputError(
                    f"The config '{config_name}' has a data_files entry without 'split' and 'path': {item!r}."
                )
            split = str(item["split"])
            if split in splits:
                raise InvalidInputError(f"The config '{config_name}' lists the split '{split}' twice.")
            splits[split] = _patterns(item["path"], config_name)
        return splits
    if isinstance(data_files, list):
        return {DEFAULT_SPLIT: _patterns(data_files, config_name)}
    raise InvalidInputError(f"The config '{config_name}' has data_files of an unknown shape: {data_files!r}.")


def _patterns(value: object, config_name: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    patterns = [item for item in items if isinstance(item, str)]
    if not items or len(patterns) != len(items):
        raise InvalidInputError(f"The config '{config_name}' has a data_files path that is not a string.")
    return tuple(_check_pattern(pattern, config_name) for pattern in patterns)


def _check_pattern(pattern: str, config_name: str) -> str:
    """Refuse patterns that leave the repository: a local load must read nothing else."""
    outside = (
        "://" in pattern
        or pattern.startswith(("/", "\\", "~"))
        or re.match(r"^[A-Za-z]:", pattern) is not None
        or any(part == ".." for part in re.split(r"[/\\]", pattern))
    )
    if outside or not pattern.strip():
        raise InvalidInputError(
            f"The config '{config_name}' reads data files from outside the repository ({pattern!r}).",
            hint="hg-localization only localizes and loads a repository's own files.",
        )
    return pattern


# --- the repository's files -------------------------------------------------------------------


def available_configs(card_data: Mapping[str, Any], paths: Sequence[str]) -> list[DatasetConfig]:
    """The configs a user can ask for by name: the card's, else ``default`` and the data folders."""
    from_card = configs_from_card(card_data)
    if from_card:
        return from_card
    configs = [DatasetConfig(name=DEFAULT_CONFIG_NAME, default=True)]
    folders: dict[str, str] = {}
    for path in paths:
        if not is_data_file(path):
            continue
        parts = path.split("/")
        if parts[0] == "data" and len(parts) > 2:
            folders.setdefault(parts[1], f"data/{parts[1]}")
        elif parts[0] != "data" and len(parts) > 1:
            folders.setdefault(parts[0], parts[0])
    for name, data_dir in sorted(folders.items()):
        if name != DEFAULT_CONFIG_NAME and split_of_folder(name) is None:
            configs.append(DatasetConfig(name=name, data_dir=data_dir))
    return configs


def find_config(configs: Sequence[DatasetConfig], name: str | None, dataset_id: str) -> DatasetConfig:
    """The config called ``name`` (None: the default one); a clear error names the choices."""
    names = ", ".join(c.name for c in configs) or "none"
    if name is None:
        chosen = default_config(configs)
        if chosen is None:
            raise InvalidInputError(
                f"'{dataset_id}' has several configs and none is the default: choose one of {names}.",
                hint="Pass config_name= (CLI: --name CONFIG).",
            )
        return chosen
    for config in configs:
        if config.name == name:
            return config
    raise InvalidInputError(f"'{dataset_id}' has no config '{name}'. Available configs: {names}.")


def default_config(configs: Sequence[DatasetConfig]) -> DatasetConfig | None:
    """The config ``datasets`` loads without a name: marked default, named default, or the only one."""
    for config in configs:
        if config.default:
            return config
    named = [c for c in configs if c.name == DEFAULT_CONFIG_NAME]
    if named:
        return named[0]
    return configs[0] if len(configs) == 1 else None


def loading_script(repo_name: str, paths: Sequence[str], card_data: Mapping[str, Any]) -> str | None:
    """The loading script a dataset depends on, or None when its data files are enough.

    ``datasets`` refuses a repo with ``<name>.py`` at the top; a repo whose only top-level
    content is Python, with no data files and no ``configs:``, is a script dataset too.
    """
    scripts = sorted(p for p in paths if "/" not in p and p.endswith(".py"))
    if f"{repo_name}.py" in scripts:
        return f"{repo_name}.py"
    if scripts and not card_data.get("configs") and not any(is_data_file(p) for p in paths):
        return scripts[0]
    return None


def _join(folder: str, pattern: str) -> str:
    return f"{folder}/{pattern}" if folder else pattern
