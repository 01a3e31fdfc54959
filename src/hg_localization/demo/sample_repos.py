"""Small but real Hub repos in the folder-of-repos format, for the tests and the product demo.

``write_sample_repos(DIR)`` writes, under ``DIR/models`` and ``DIR/datasets`` (the layout that
``hg-localization serve --repos DIR`` serves, see :mod:`hg_localization.server.repo_source`):

- ``hgloc-test/tiny-bert``: a BERT-like ``config.json``, a real WordPiece ``tokenizer.json`` (and
  ``vocab.txt``, ``tokenizer_config.json``, ``special_tokens_map.json``) that
  ``transformers.AutoTokenizer`` loads, real ``model.safetensors`` weights of about 2 MB with
  BERT's parameter names and shapes, a model card with YAML front matter, a nested folder and a
  file name with a space. Tag ``v1.0`` and the pull-request ref ``refs/pr/1`` hold other content.
- ``hgloc-test/private-model``: private (``repo.json``), needs a read token.
- ``hgloc-test/no-config``: weights and a card, no ``config.json``.
- ``tiny-legacy``: an id without a namespace (folder ``_``).
- dataset ``hgloc-test/tiny-dataset``: two parquet configs with train/test splits and a card whose
  ``configs:`` YAML lets ``datasets.load_dataset(id, name)`` find them.
- dataset ``hgloc-test/csv-dataset``: ``data/train.csv`` and ``data/test.csv``.

Everything is deterministic (fixed seeds, no training randomness), so the commit ids the server
derives from the content are the same on every run. Run ``python -m
hg_localization.demo.sample_repos DIR`` to write them from the shell.
"""

from __future__ import annotations

import io
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from hg_localization.ids import parse_repo_id, revision_folder

BERT_ID = "hgloc-test/tiny-bert"
PRIVATE_ID = "hgloc-test/private-model"
NO_CONFIG_ID = "hgloc-test/no-config"
NO_NAMESPACE_ID = "tiny-legacy"
DATASET_ID = "hgloc-test/tiny-dataset"
CSV_DATASET_ID = "hgloc-test/csv-dataset"

BERT_TAG = "v1.0"
BERT_PR = "refs/pr/1"
DATASET_CONFIGS = ("sentences", "numbers")

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
#: A realistic vocabulary size; it also makes the weights a few megabytes, like a real download.
VOCAB_SIZE = 16384
HIDDEN_SIZE = 32
NUM_LAYERS = 2
NUM_HEADS = 2
INTERMEDIATE_SIZE = 37
MAX_POSITIONS = 512
SEED = 20240601

CORPUS = (
    "Hello world, this is a tiny BERT model for tests.",
    "The quick brown fox jumps over the lazy dog.",
    "hg-localization brings Hugging Face repos inside your own walls.",
    "A local store, a shared bucket and a Hub-compatible server.",
    "Tokenizers split words into word pieces.",
    "Models, weights and datasets are verified with sha256 checksums.",
)

_SYLLABLE_ONSETS: tuple[str, ...] = (
    *("b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z"),
    *("ch", "sh", "th", "st", "tr", "pl", "br", "gr"),
)
_SYLLABLE_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "ou", "io")


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
        return self.directory.joinpath(
            f"{repo_type}s", *parse_repo_id(repo_id).folder_parts, revision_folder(revision)
        )

    def files(self, repo_id: str, revision: str = "main", repo_type: str = "model") -> dict[str, bytes]:
        """Every file of a revision, by its path in the repo."""
        root = self.revision_dir(repo_id, revision, repo_type)
        return {
            p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
        }


def write_sample_repos(directory: Path) -> SampleRepos:
    """Write every sample repo under ``directory`` (created if missing) and name them."""
    samples = SampleRepos(directory=Path(directory))
    _write_bert(samples)
    _write_private(samples)
    _write_no_config(samples)
    _write_no_namespace(samples)
    _write_parquet_dataset(samples)
    _write_csv_dataset(samples)
    return samples


# --- models -----------------------------------------------------------------------------------


def _write_bert(samples: SampleRepos) -> None:
    tokenizer_files = _tokenizer_files()
    weights = _bert_weights()
    common = {
        **tokenizer_files,
        "model.safetensors": weights,
        "extra/nested/notes.txt": b"A file two folders down, to check that nested paths survive.\n",
        "extra/file with space.txt": b"A file name with a space in it.\n",
    }
    main = {
        **common,
        "config.json": _json(_bert_config(hidden_dropout_prob=0.1)),
        "README.md": _model_card(
            "tiny-bert",
            "A tiny BERT-like model (2 layers, hidden size 32) with a real WordPiece tokenizer.",
            tags=["bert", "tiny", "test"],
        ),
    }
    tagged = {
        **common,
        "config.json": _json(_bert_config(hidden_dropout_prob=0.2)),
        "README.md": _model_card(
            "tiny-bert v1.0",
            "The first release of the tiny BERT-like model (hidden dropout 0.2).",
            tags=["bert", "tiny", "test", "v1.0"],
        ),
    }
    pull_request = {
        **main,
        "README.md": _model_card(
            "tiny-bert (pull request 1)",
            "A proposed change to the model card.",
            tags=["bert", "tiny", "test"],
        ),
    }
    _write_revision(samples, BERT_ID, "main", main)
    _write_revision(samples, BERT_ID, BERT_TAG, tagged)
    _write_revision(samples, BERT_ID, BERT_PR, pull_request)
    _write_settings(samples, BERT_ID, {"private": False, "default_branch": "main", "tags": [BERT_TAG]})


def _write_private(samples: SampleRepos) -> None:
    files = {
        "config.json": _json(_bert_config(hidden_dropout_prob=0.1, vocab_size=64)),
        "README.md": _model_card(
            "private-model", "A private model: it needs a read token.", tags=["private"]
        ),
        "model.safetensors": _small_weights(seed=SEED + 1),
    }
    _write_revision(samples, PRIVATE_ID, "main", files)
    _write_settings(samples, PRIVATE_ID, {"private": True})


def _write_no_config(samples: SampleRepos) -> None:
    files = {
        "README.md": _model_card("no-config", "Weights without a config.json.", tags=["weights-only"]),
        "model.safetensors": _small_weights(seed=SEED + 2),
    }
    _write_revision(samples, NO_CONFIG_ID, "main", files)


def _write_no_namespace(samples: SampleRepos) -> None:
    files = {
        "config.json": _json(_bert_config(hidden_dropout_prob=0.1, vocab_size=128)),
        "README.md": _model_card("tiny-legacy", "A legacy id without a namespace.", tags=["legacy"]),
    }
    _write_revision(samples, NO_NAMESPACE_ID, "main", files)


def _bert_config(*, hidden_dropout_prob: float, vocab_size: int = VOCAB_SIZE) -> dict[str, Any]:
    return {
        "architectures": ["BertModel"],
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "hidden_act": "gelu",
        "hidden_dropout_prob": hidden_dropout_prob,
        "hidden_size": HIDDEN_SIZE,
        "initializer_range": 0.02,
        "intermediate_size": INTERMEDIATE_SIZE,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": MAX_POSITIONS,
        "model_type": "bert",
        "num_attention_heads": NUM_HEADS,
        "num_hidden_layers": NUM_LAYERS,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "type_vocab_size": 2,
        "use_cache": True,
        "vocab_size": vocab_size,
    }


def _model_card(title: str, summary: str, *, tags: list[str]) -> bytes:
    front_matter = {
        "license": "apache-2.0",
        "language": ["en"],
        "library_name": "transformers",
        "pipeline_tag": "feature-extraction",
        "tags": tags,
    }
    body = f"# {title}\n\n{summary}\n\nGenerated by `hg_localization.demo.sample_repos`.\n"
    return _card(front_matter, body)


# --- tokenizer --------------------------------------------------------------------------------


def _vocabulary() -> list[str]:
    """BERT-style WordPiece vocabulary: special tokens, characters, word pieces, whole words.

    Built by a fixed recipe rather than ``tokenizers``' trainer, whose tie-breaking varies from
    run to run (and so would the commit id). The corpus words come first, then deterministic
    syllable pieces fill it up to :data:`VOCAB_SIZE`.
    """
    pre_tokenizers = _require("tokenizers.pre_tokenizers", "tokenizers")
    normalizers = _require("tokenizers.normalizers", "tokenizers")
    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    words: list[str] = []
    for sentence in CORPUS:
        for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(sentence)):
            words.append(word)
    characters = sorted({c for word in words for c in word} | set("abcdefghijklmnopqrstuvwxyz0123456789"))
    vocab: dict[str, None] = dict.fromkeys(SPECIAL_TOKENS)
    vocab.update(dict.fromkeys(characters))
    vocab.update(dict.fromkeys(f"##{c}" for c in characters if c.isalnum()))
    vocab.update(dict.fromkeys(words))
    for word in words:  # the word pieces a trainer would find: prefixes and "##" suffixes
        for cut in range(2, len(word) - 1):
            vocab.setdefault(word[:cut])
            vocab.setdefault(f"##{word[cut:]}")
    rng = random.Random(SEED)  # noqa: S311 - reproducible sample data, not secrets
    while len(vocab) < VOCAB_SIZE:
        piece = "".join(
            rng.choice(_SYLLABLE_ONSETS) + rng.choice(_SYLLABLE_VOWELS) for _ in range(rng.randint(1, 3))
        )
        vocab.setdefault(piece if rng.random() < 0.6 else f"##{piece}")
    return list(vocab)


def _tokenizer_files() -> dict[str, bytes]:
    tokenizers = _require("tokenizers", "tokenizers")
    vocabulary = _vocabulary()
    ids = {token: index for index, token in enumerate(vocabulary)}
    tokenizer = tokenizers.Tokenizer(tokenizers.models.WordPiece(vocab=ids, unk_token="[UNK]"))  # noqa: S106
    tokenizer.normalizer = tokenizers.normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = tokenizers.processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])],
    )
    tokenizer.decoder = tokenizers.decoders.WordPiece(prefix="##")
    tokenizer.add_special_tokens(list(SPECIAL_TOKENS))
    specials = {
        "unk_token": "[UNK]",
        "sep_token": "[SEP]",
        "pad_token": "[PAD]",
        "cls_token": "[CLS]",
        "mask_token": "[MASK]",
    }
    tokenizer_config = {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": True,
        "tokenize_chinese_chars": True,
        "strip_accents": None,
        "model_max_length": MAX_POSITIONS,
        "clean_up_tokenization_spaces": True,
        **specials,
    }
    return {
        "tokenizer.json": _json(json.loads(tokenizer.to_str())),
        "tokenizer_config.json": _json(tokenizer_config),
        "special_tokens_map.json": _json(specials),
        "vocab.txt": "".join(f"{token}\n" for token in vocabulary).encode("utf-8"),
    }


# --- weights ----------------------------------------------------------------------------------


def _bert_weights() -> bytes:
    """float32 weights with BertModel's parameter names and shapes for the config above."""
    np = _require("numpy", "numpy")
    rng = np.random.default_rng(SEED)
    hidden, inner = HIDDEN_SIZE, INTERMEDIATE_SIZE
    shapes: dict[str, tuple[int, ...]] = {
        "embeddings.word_embeddings.weight": (VOCAB_SIZE, hidden),
        "embeddings.position_embeddings.weight": (MAX_POSITIONS, hidden),
        "embeddings.token_type_embeddings.weight": (2, hidden),
        "embeddings.LayerNorm.weight": (hidden,),
        "embeddings.LayerNorm.bias": (hidden,),
    }
    for layer in range(NUM_LAYERS):
        prefix = f"encoder.layer.{layer}"
        for name in ("query", "key", "value"):
            shapes[f"{prefix}.attention.self.{name}.weight"] = (hidden, hidden)
            shapes[f"{prefix}.attention.self.{name}.bias"] = (hidden,)
        shapes[f"{prefix}.attention.output.dense.weight"] = (hidden, hidden)
        shapes[f"{prefix}.attention.output.dense.bias"] = (hidden,)
        shapes[f"{prefix}.attention.output.LayerNorm.weight"] = (hidden,)
        shapes[f"{prefix}.attention.output.LayerNorm.bias"] = (hidden,)
        shapes[f"{prefix}.intermediate.dense.weight"] = (inner, hidden)
        shapes[f"{prefix}.intermediate.dense.bias"] = (inner,)
        shapes[f"{prefix}.output.dense.weight"] = (hidden, inner)
        shapes[f"{prefix}.output.dense.bias"] = (hidden,)
        shapes[f"{prefix}.output.LayerNorm.weight"] = (hidden,)
        shapes[f"{prefix}.output.LayerNorm.bias"] = (hidden,)
    shapes["pooler.dense.weight"] = (hidden, hidden)
    shapes["pooler.dense.bias"] = (hidden,)
    tensors = {}
    for name, shape in shapes.items():
        if name.endswith("LayerNorm.weight"):
            tensors[name] = np.ones(shape, dtype=np.float32)
        elif name.endswith(".bias"):
            tensors[name] = np.zeros(shape, dtype=np.float32)
        else:
            tensors[name] = (rng.standard_normal(shape) * 0.02).astype(np.float32)
    return _safetensors(tensors)


def _small_weights(*, seed: int) -> bytes:
    np = _require("numpy", "numpy")
    rng = np.random.default_rng(seed)
    return _safetensors(
        {
            "dense.weight": (rng.standard_normal((16, 8)) * 0.02).astype(np.float32),
            "dense.bias": np.zeros((16,), dtype=np.float32),
        }
    )


def _safetensors(tensors: dict[str, Any]) -> bytes:
    numpy_io = _require("safetensors.numpy", "safetensors")
    return bytes(numpy_io.save(tensors, metadata={"format": "pt"}))


# --- datasets ---------------------------------------------------------------------------------


def _sentences_splits() -> dict[str, dict[str, list[Any]]]:
    rng = random.Random(SEED)  # noqa: S311 - reproducible sample data, not secrets
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


def _write_parquet_dataset(samples: SampleRepos) -> None:
    pa = _require("pyarrow", "pyarrow")
    pq = _require("pyarrow.parquet", "pyarrow")
    contents = {
        "sentences": (
            _sentences_splits(),
            pa.schema([("text", pa.string()), ("label", pa.int64())]),
            [{"name": "text", "dtype": "string"}, {"name": "label", "dtype": "int64"}],
        ),
        "numbers": (
            _numbers_splits(),
            pa.schema([("x", pa.int64()), ("y", pa.float64())]),
            [{"name": "x", "dtype": "int64"}, {"name": "y", "dtype": "float64"}],
        ),
    }
    files: dict[str, bytes] = {}
    configs: list[dict[str, Any]] = []
    infos: list[dict[str, Any]] = []
    for config_name, (splits, schema, features) in contents.items():
        data_files = []
        split_infos = []
        for split, columns in splits.items():
            path = f"{config_name}/{split}-00000-of-00001.parquet"
            table = pa.table(columns, schema=schema)
            buffer = io.BytesIO()
            pq.write_table(table, buffer)
            files[path] = buffer.getvalue()
            data_files.append({"split": split, "path": path})
            split_infos.append({"name": split, "num_bytes": table.nbytes, "num_examples": table.num_rows})
        config: dict[str, Any] = {"config_name": config_name, "data_files": data_files}
        if config_name == DATASET_CONFIGS[0]:
            config["default"] = True
        configs.append(config)
        infos.append(
            {
                "config_name": config_name,
                "features": features,
                "splits": split_infos,
                "download_size": sum(len(files[f["path"]]) for f in data_files),
                "dataset_size": sum(s["num_bytes"] for s in split_infos),
            }
        )
    front_matter = {
        "license": "apache-2.0",
        "language": ["en"],
        "task_categories": ["text-classification"],
        "pretty_name": "Tiny dataset",
        "configs": configs,
        "dataset_info": infos,
    }
    files["README.md"] = _card(
        front_matter,
        "# tiny-dataset\n\nTwo configs (`sentences`, `numbers`), each with a train and a test split, "
        "in parquet.\n",
    )
    _write_revision(samples, DATASET_ID, "main", files, repo_type="dataset")


def _write_csv_dataset(samples: SampleRepos) -> None:
    def csv(rows: list[tuple[str, int]]) -> bytes:
        return ("text,label\n" + "".join(f"{text},{label}\n" for text, label in rows)).encode()

    train = [("good model", 1), ("bad download", 0), ("fast server", 1), ("broken checksum", 0)]
    test = [("verified weights", 1), ("missing file", 0)]
    files = {
        "data/train.csv": csv(train),
        "data/test.csv": csv(test),
        "README.md": _card(
            {"license": "apache-2.0", "pretty_name": "CSV dataset"},
            "# csv-dataset\n\nA train and a test split as CSV files.\n",
        ),
    }
    _write_revision(samples, CSV_DATASET_ID, "main", files, repo_type="dataset")


# --- writing ----------------------------------------------------------------------------------


def _card(front_matter: dict[str, Any], body: str) -> bytes:
    yaml_text = _require("yaml", "pyyaml").safe_dump(front_matter, sort_keys=False, allow_unicode=True)
    return f"---\n{yaml_text}---\n\n{body}".encode()


def _json(data: object) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _write_revision(
    samples: SampleRepos, repo_id: str, revision: str, files: dict[str, bytes], *, repo_type: str = "model"
) -> None:
    root = samples.revision_dir(repo_id, revision, repo_type)
    for relative, content in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_bytes() != content:
            target.write_bytes(content)


def _write_settings(samples: SampleRepos, repo_id: str, settings: dict[str, Any]) -> None:
    repo_dir = samples.revision_dir(repo_id).parent
    repo_dir.mkdir(parents=True, exist_ok=True)
    (repo_dir / "repo.json").write_bytes(_json(settings))


def _require(module: str, package: str) -> ModuleType:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"The sample repos need the '{package}' package: pip install 'hg-localization[demo]'."
        ) from exc


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print("usage: python -m hg_localization.demo.sample_repos DIR", file=sys.stderr)
        return 2
    samples = write_sample_repos(Path(args[0]))
    print(f"Wrote the sample repos to {samples.directory}:")
    for repo_id in (samples.bert, samples.private, samples.no_config, samples.no_namespace):
        print(f"  model    {repo_id}")
    for repo_id in (samples.dataset, samples.csv_dataset):
        print(f"  dataset  {repo_id}")
    print(f"Serve them with: hg-localization serve --repos {samples.directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
