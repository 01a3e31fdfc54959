"""Which files of a dataset repo are data, how they split, and which builder reads them. Pure.

These are the rules of ``datasets.data_files`` and ``datasets.packaged_modules``, restated so the
store can apply them without importing ``datasets`` (an optional extra) and without a network:

- data files have a known extension (``.csv.gz`` counts as ``.csv``); hidden paths, ``__``
  folders and metadata files (``README.md``, ``dataset_infos.json``, …) are never data;
- splits come from sharded names (``data/{split}-00000-of-00003.parquet``), else from folder
  names, else from file names (``train``/``training``; ``validation``/``valid``/``dev``/``val``;
  ``test``/``testing``/``eval``/``evaluation``, set off by ``-._`` digits or spaces), else
  everything is ``train``;
- globs are fsspec globs: ``*`` and ``?`` stay within a folder, ``**`` crosses folders.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import lru_cache

from hg_localization.errors import InvalidInputError

DEFAULT_SPLIT = "train"

#: Files ``datasets`` never treats as data (``datasets.data_files.FILES_TO_IGNORE``).
NOT_DATA = frozenset(
    {
        "README.md",
        "config.json",
        "dataset_info.json",
        "dataset_infos.json",
        "dummy_data.zip",
        "dataset_dict.json",
    }
)
#: Compression suffixes ``datasets`` reads through (``data.csv.gz`` is a CSV file).
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".lz4")
#: Extension -> (builder, builder options) for the formats a stored dataset can be loaded from.
LOADABLE_EXTENSIONS: Mapping[str, tuple[str, Mapping[str, str]]] = {
    ".parquet": ("parquet", {}),
    ".csv": ("csv", {}),
    ".tsv": ("csv", {"sep": "\t"}),
    ".json": ("json", {}),
    ".jsonl": ("json", {}),
    ".ndjson": ("json", {}),
    ".txt": ("text", {}),
}
#: Every extension that marks a data file (the loadable ones, and what other builders read).
DATA_EXTENSIONS = frozenset(
    {
        *LOADABLE_EXTENSIONS,
        *[
            ".arrow",
            ".geoparquet",
            ".gpq",
            ".conll",
            ".conllu",
            ".tar",
            ".zip",
            ".xml",
            ".hdf5",
            ".h5",
            ".lance",
            ".npy",
            ".npz",
        ],
        *[
            ".jpg",
            ".jpeg",
            ".png",
            ".gif",
            ".bmp",
            ".tif",
            ".tiff",
            ".webp",
            ".wav",
            ".mp3",
            ".flac",
            ".ogg",
            ".opus",
            ".m4a",
            ".mp4",
            ".webm",
            ".pdf",
        ],
    }
)

_SPLIT_KEYWORDS = {
    "train": ("train", "training"),
    "validation": ("validation", "valid", "dev", "val"),
    "test": ("test", "testing", "eval", "evaluation"),
}
_SEP = "[-._ 0-9]"
_DIR_PATTERNS = (
    "**/{kw}/**",
    "**/{kw}" + _SEP + "*/**",
    "**/*" + _SEP + "{kw}/**",
    "**/*" + _SEP + "{kw}" + _SEP + "*/**",
)
_FILE_PATTERNS = ("**/{kw}" + _SEP + "*", "**/*" + _SEP + "{kw}" + _SEP + "*")
_SHARDED_RE = re.compile(r"^data/(?P<split>\w+(?:\.\w+)*)-[0-9]{5}-of-[0-9]{5}[^/]*\.[^/]*$")


def is_data_file(path: str) -> bool:
    """A file ``datasets`` would read as data: a known extension, not hidden, not a metadata file."""
    parts = path.split("/")
    if parts[-1] in NOT_DATA or any(part.startswith((".", "__")) for part in parts):
        return False
    return data_extension(path) in DATA_EXTENSIONS


def data_extension(path: str) -> str:
    """``data.csv.gz`` -> ``.csv``; ``x.parquet`` -> ``.parquet`` (lower case)."""
    name = path.rsplit("/", 1)[-1].lower()
    for suffix in COMPRESSION_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""


def builder_for(paths: Iterable[str]) -> tuple[str, dict[str, str]]:
    """The packaged builder for these data files (the most common format wins, as in ``datasets``)."""
    counts = Counter(data_extension(p) for p in paths)
    for extension, _ in counts.most_common():
        if extension in LOADABLE_EXTENSIONS:
            builder, options = LOADABLE_EXTENSIONS[extension]
            return builder, dict(options)
    found = ", ".join(sorted(counts)) or "no data files"
    raise InvalidInputError(
        f"These data files cannot be loaded offline ({found}).",
        hint="load_local_dataset reads parquet, csv/tsv, json/jsonl and txt files.",
    )


def infer_splits(paths: Iterable[str]) -> dict[str, list[str]]:
    """Split -> files, by ``datasets``' naming rules (``datasets.data_files.get_data_patterns``)."""
    files = sorted(paths)
    sharded: dict[str, list[str]] = {}
    for path in files:
        match = _SHARDED_RE.match(path)
        if match:
            sharded.setdefault(match.group("split"), []).append(path)
    if sharded:
        return sharded
    for templates in (_DIR_PATTERNS, _FILE_PATTERNS):
        found = {
            split: [
                p for p in files if any(glob_match(t.format(kw=kw), p) for kw in keywords for t in templates)
            ]
            for split, keywords in _SPLIT_KEYWORDS.items()
        }
        found = {split: matched for split, matched in found.items() if matched}
        if found:
            return found
    return {DEFAULT_SPLIT: files} if files else {}


def split_of_folder(name: str) -> str | None:
    """The split a folder name stands for (``train``, ``dev``…), or None for any other name."""
    for split, keywords in _SPLIT_KEYWORDS.items():
        if any(glob_match(t.format(kw=kw), f"{name}/x") for kw in keywords for t in _DIR_PATTERNS):
            return split
    return None


def glob_match(pattern: str, path: str) -> bool:
    """fsspec glob semantics: ``*``/``?`` stay within a folder, ``**`` crosses folders."""
    return _glob_regex(pattern).match(path) is not None


@lru_cache(maxsize=1024)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            body = "^" + body[1:] if body.startswith("!") else body
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(char))
            i += 1
    return re.compile("".join(out) + r"\Z")
