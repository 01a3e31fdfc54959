"""The tests' sample repos: the demo's ``hgloc-test/tiny-bert`` plus the cases the tests need.

``write_sample_repos(DIR)`` writes, under ``DIR/models`` and ``DIR/datasets`` (the layout that
``hg-localization serve --repos DIR`` serves):

- ``hgloc-test/tiny-bert``: the demo's model (:mod:`hg_localization.demo.sample_repos`), with
  branch ``main`` and tag ``v1.0``; here also the pull-request ref ``refs/pr/1`` (another card).
- ``hgloc-test/private-model``: private (``repo.json``), needs a read token.
- ``hgloc-test/no-config``: weights and a card, no ``config.json``.
- ``tiny-legacy``: an id without a namespace (folder ``_``).
- dataset ``hgloc-test/tiny-dataset``: two parquet configs with train/test splits and a card whose
  ``configs:`` YAML lets ``datasets.load_dataset(id, name)`` find them.
- dataset ``hgloc-test/csv-dataset``: ``data/train.csv`` and ``data/test.csv``.

Everything is deterministic, so the commit ids the server derives from the content are the same
on every run (``tests/server/test_hub_api.py::test_commit_ids_are_stable``).
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hg_localization.demo.sample_repos import (
    BERT_ID,
    BERT_TAG,
    SEED,
    bert_config,
    card,
    json_bytes,
    model_card,
    revision_dir,
    safetensors_bytes,
    write_revision,
    write_settings,
    write_tiny_bert,
)

PRIVATE_ID = "hgloc-test/private-model"
NO_CONFIG_ID = "hgloc-test/no-config"
NO_NAMESPACE_ID = "tiny-legacy"
DATASET_ID = "hgloc-test/tiny-dataset"
CSV_DATASET_ID = "hgloc-test/csv-dataset"

BERT_PR = "refs/pr/1"
DATASET_CONFIGS = ("sentences", "numbers")


@dataclass(frozen=True)
class SampleRepos:
    """The repos :func:`write_sample_repos` wrote (ids as a client spells them)."""

    directory: Path
    bert: str = BERT_ID
    private: str = PRIVATE_ID
    no_config: str = NO_CONFIG_ID
    no_namespace: str = NO_NAMESPACE_ID
    dataset: str = DATASET_ID
    csv_dataset: str = CSV_DATASET_ID
    bert_tag: str = BERT_TAG
    bert_pr: str = BERT_PR
    dataset_configs: tuple[str, ...] = DATASET_CONFIGS

    def revision_dir(self, repo_id: str, revision: str = "main", repo_type: str = "model") -> Path:
        """The folder that holds the files of ``repo_id`` at ``revision``."""
        return revision_dir(self.directory, repo_id, revision, repo_type)

    def files(self, repo_id: str, revision: str = "main", repo_type: str = "model") -> dict[str, bytes]:
        """Every file of a revision, by its path in the repo."""
        root = self.revision_dir(repo_id, revision, repo_type)
        return {
            p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
        }


def write_sample_repos(directory: Path) -> SampleRepos:
    """Write every sample repo under ``directory`` (created if missing) and name them."""
    samples = SampleRepos(directory=Path(directory))
    write_tiny_bert(samples.directory)
    _write_bert_pull_request(samples)
    _write_small_models(samples)
    _write_parquet_dataset(samples.directory)
    _write_csv_dataset(samples.directory)
    return samples


def _write_bert_pull_request(samples: SampleRepos) -> None:
    """``refs/pr/1``: ``main`` with another model card."""
    files = samples.files(BERT_ID)
    card_text = "A proposed change to the model card."
    files["README.md"] = model_card("tiny-bert (pull request 1)", card_text, tags=["bert", "tiny", "test"])
    write_revision(samples.directory, BERT_ID, BERT_PR, files)


def _write_small_models(samples: SampleRepos) -> None:
    directory = samples.directory
    private_card = model_card("private-model", "A private model: it needs a read token.", tags=["private"])
    private = {
        "config.json": json_bytes(bert_config(hidden_dropout_prob=0.1, vocab_size=64)),
        "README.md": private_card,
        "model.safetensors": _small_weights(seed=SEED + 1),
    }
    write_revision(directory, PRIVATE_ID, "main", private)
    write_settings(directory, PRIVATE_ID, {"private": True})
    no_config = {
        "README.md": model_card("no-config", "Weights without a config.json.", tags=["weights-only"]),
        "model.safetensors": _small_weights(seed=SEED + 2),
    }
    write_revision(directory, NO_CONFIG_ID, "main", no_config)
    legacy = {
        "config.json": json_bytes(bert_config(hidden_dropout_prob=0.1, vocab_size=128)),
        "README.md": model_card("tiny-legacy", "A legacy id without a namespace.", tags=["legacy"]),
    }
    write_revision(directory, NO_NAMESPACE_ID, "main", legacy)


def _small_weights(*, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    return safetensors_bytes(
        {
            "dense.weight": (rng.standard_normal((16, 8)) * 0.02).astype(np.float32),
            "dense.bias": np.zeros((16,), dtype=np.float32),
        }
    )


# --- datasets ---------------------------------------------------------------------------------


def _sentences_splits() -> dict[str, dict[str, list[Any]]]:
    rng = random.Random(SEED)
    subjects = ["the fox", "a model", "the store", "our bucket", "the server", "a tokenizer"]
    verbs = ["jumps over", "downloads", "verifies", "serves", "splits", "keeps"]
    objects = ["the lazy dog", "every file", "a checksum", "the weights", "word pieces", "the card"]
    splits: dict[str, dict[str, list[Any]]] = {}
    for split, count in (("train", 24), ("test", 8)):
        texts = [f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}." for _ in range(count)]
        splits[split] = {"text": texts, "label": [rng.randint(0, 1) for _ in range(count)]}
    return splits


def _numbers_splits() -> dict[str, dict[str, list[Any]]]:
    return {
        "train": {"x": list(range(20)), "y": [x * 0.5 for x in range(20)]},
        "test": {"x": list(range(20, 25)), "y": [x * 0.5 for x in range(20, 25)]},
    }


def _parquet_config(
    files: dict[str, bytes],
    config_name: str,
    splits: dict[str, dict[str, list[Any]]],
    columns: list[tuple[str, str]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Write one config's splits into ``files``; return its ``configs:`` and ``dataset_info:`` entries.

    ``columns`` are (name, dtype) pairs, a dtype spelled as both pyarrow and ``datasets`` know it.
    """
    schema = pa.schema([(name, pa.type_for_alias(dtype)) for name, dtype in columns])
    data_files = []
    split_infos = []
    for split, values in splits.items():
        path = f"{config_name}/{split}-00000-of-00001.parquet"
        table = pa.table(values, schema=schema)
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        files[path] = buffer.getvalue()
        data_files.append({"split": split, "path": path})
        split_infos.append({"name": split, "num_bytes": table.nbytes, "num_examples": table.num_rows})
    config: dict[str, Any] = {"config_name": config_name, "data_files": data_files}
    if config_name == DATASET_CONFIGS[0]:
        config["default"] = True
    info = {
        "config_name": config_name,
        "features": [{"name": name, "dtype": dtype} for name, dtype in columns],
        "splits": split_infos,
        "download_size": sum(len(files[f["path"]]) for f in data_files),
        "dataset_size": sum(s["num_bytes"] for s in split_infos),
    }
    return config, info


def _write_parquet_dataset(directory: Path) -> None:
    files: dict[str, bytes] = {}
    entries = [
        _parquet_config(files, "sentences", _sentences_splits(), [("text", "string"), ("label", "int64")]),
        _parquet_config(files, "numbers", _numbers_splits(), [("x", "int64"), ("y", "float64")]),
    ]
    front_matter = {
        "license": "apache-2.0",
        "language": ["en"],
        "task_categories": ["text-classification"],
        "pretty_name": "Tiny dataset",
        "configs": [config for config, _ in entries],
        "dataset_info": [info for _, info in entries],
    }
    files["README.md"] = card(
        front_matter,
        "# tiny-dataset\n\nTwo configs (`sentences`, `numbers`), each with a train and a test split, "
        "in parquet.\n",
    )
    write_revision(directory, DATASET_ID, "main", files, repo_type="dataset")


def _write_csv_dataset(directory: Path) -> None:
    def csv(rows: list[tuple[str, int]]) -> bytes:
        return ("text,label\n" + "".join(f"{text},{label}\n" for text, label in rows)).encode()

    train = [("good model", 1), ("bad download", 0), ("fast server", 1), ("broken checksum", 0)]
    test = [("verified weights", 1), ("missing file", 0)]
    files = {
        "data/train.csv": csv(train),
        "data/test.csv": csv(test),
        "README.md": card(
            {"license": "apache-2.0", "pretty_name": "CSV dataset"},
            "# csv-dataset\n\nA train and a test split as CSV files.\n",
        ),
    }
    write_revision(directory, CSV_DATASET_ID, "main", files, repo_type="dataset")
