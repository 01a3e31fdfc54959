"""The collections manifest (``hg-localization.yaml``), parsed and checked before anything is fetched.

::

    collections:
      core:                         # a collection's name: letters, digits, '.', '_', '-'
        description: "…"            # optional
        public: false               # optional: like --make-public for every entry
        models:
          - id: acme/tiny
            revision: main          # branch, tag or 40-hex commit; default main
            full: true              # default false: card + config only
            include: ["*.safetensors", "*.json"]   # optional, like --include / --exclude
            exclude: []
        datasets:
          - id: acme/table
            revision: main
            name: default           # optional config, like --name (not with include)

The file is read with PyYAML's composer, so every value keeps its line: a mistake is refused as
``FILE, line N, FIELD: what is wrong`` (``FIELD`` as ``collections.core.models[1].revision``),
whatever it is: YAML syntax, an unknown key, a value of the wrong type, a bad id, revision or
glob, an entry listed twice, a key given twice. Anchors and aliases are refused (a manifest is
short; an alias could make it enormous).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from hg_localization.errors import HGLocalizationError, InvalidInputError, NotFoundError
from hg_localization.ids import RepoType, parse_repo_id, validate_revision

MANIFEST_FILENAME = "hg-localization.yaml"
LOCK_FILENAME = "hg-localization.lock"
DEFAULT_REVISION = "main"
#: A manifest larger than this is refused unread (a manifest of thousands of entries is ~100 KB).
MAX_MANIFEST_BYTES = 4 * 1024 * 1024

_COLLECTION_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_HINT = "Fix that line of the manifest (see docs/collections.md); nothing was fetched."

_TOP_KEYS = frozenset({"collections"})
_COLLECTION_KEYS = frozenset({"description", "public", "models", "datasets"})
_MODEL_KEYS = frozenset({"id", "revision", "full", "include", "exclude"})
_DATASET_KEYS = frozenset({"id", "revision", "name", "include", "exclude"})


@dataclass(frozen=True)
class Entry:
    """One model or dataset of a collection, as the manifest asks for it."""

    repo_type: RepoType
    repo_id: str
    revision: str = DEFAULT_REVISION
    #: Every file (filtered by include/exclude); a model's default is its card and config only.
    full: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    #: A dataset's config (like ``download-dataset --name``).
    name: str | None = None
    line: int = 0

    @property
    def label(self) -> str:
        return f"{self.repo_id}@{self.revision}"

    @property
    def key(self) -> tuple[RepoType, str, str]:
        return (self.repo_type, self.repo_id, self.revision)

    def describe_selection(self) -> str:
        """What the entry selects, in a few words (for tables)."""
        if self.name is not None:
            what = f"config {self.name}"
        elif self.repo_type == "model" and not self.full:
            return "card + config"
        else:
            what = "every file"
        if self.include:
            what += f" matching {', '.join(self.include)}"
        if self.exclude:
            what += f" except {', '.join(self.exclude)}"
        return what


@dataclass(frozen=True)
class Collection:
    name: str
    entries: tuple[Entry, ...]
    public: bool = False
    description: str = ""
    line: int = 0

    def of_type(self, repo_type: RepoType) -> list[Entry]:
        return [e for e in self.entries if e.repo_type == repo_type]


@dataclass(frozen=True)
class CollectionsManifest:
    path: Path
    collections: tuple[Collection, ...]

    @property
    def lock_path(self) -> Path:
        """Where the lock lives: beside the manifest."""
        return self.path.with_name(LOCK_FILENAME)

    def collection(self, name: str) -> Collection:
        for collection in self.collections:
            if collection.name == name:
                return collection
        known = ", ".join(c.name for c in self.collections)
        raise NotFoundError(
            f"{self.path} has no collection '{name}'.",
            hint=f"Its collections are: {known}." if known else "It has no collections yet.",
        )

    def select(self, names: Sequence[str] = ()) -> list[Collection]:
        """The collections named (each once, in the order given); every one when none is named."""
        if not names:
            return list(self.collections)
        return [self.collection(name) for name in dict.fromkeys(names)]


def read_capped(path: Path, limit: int, *, what: str, missing: str, hint: str) -> bytes:
    """The bytes of a file a person wrote (the manifest, its lock), at most ``limit`` of them.

    NotFoundError ("There is no {missing} at …", with ``hint``) when there is none; otherwise
    InvalidInputError naming it as "The {what} …" when it cannot be read or is larger.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except (FileNotFoundError, NotADirectoryError):
        raise NotFoundError(f"There is no {missing} at {path}.", hint=hint) from None
    except OSError as exc:
        raise InvalidInputError(f"The {what} {path} cannot be read: {exc.strerror or exc}.") from None
    if len(data) > limit:
        raise InvalidInputError(f"The {what} {path} is larger than {limit} bytes.")
    return data


def load_manifest(path: Path | None = None) -> CollectionsManifest:
    """The manifest at ``path``, or ``hg-localization.yaml`` in the working directory, checked."""
    path = path if path is not None else Path.cwd() / MANIFEST_FILENAME
    data = read_capped(
        path,
        MAX_MANIFEST_BYTES,
        what="manifest",
        missing="collections manifest",
        hint=f"Write a {MANIFEST_FILENAME} (see docs/collections.md), or pass --file PATH.",
    )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"The manifest {path} is not UTF-8 text (byte {exc.start}).") from None
    return parse_manifest(text, path)


def parse_manifest(text: str, path: Path) -> CollectionsManifest:
    """Parse and check a manifest's text; ``path`` names it in messages (and places the lock)."""
    root = _compose(text, path)
    reader = _Reader(path)
    top = reader.mapping(root, "the manifest", _TOP_KEYS)
    if "collections" not in top:
        raise reader.fail(root, "collections", "is missing: the manifest lists its collections under it")
    node = top["collections"][1]
    collections = [
        _collection(reader, key_node, value)
        for key_node, value in reader.mapping(node, "collections", None).values()
    ]
    if not collections:
        raise reader.fail(node, "collections", "is empty: name at least one collection")
    return CollectionsManifest(path=path, collections=tuple(collections))


def _compose(text: str, path: Path) -> Node:
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + 1 if event.start_mark else 0
                raise InvalidInputError(
                    f"{path}, line {line}: anchors and aliases (*name) are not supported here.",
                    hint="Write each value out in full.",
                )
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise InvalidInputError(
            f"{path}, line {line}: this is not valid YAML ({exc.problem or exc.context}).", hint=_HINT
        ) from None
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"{path}: this is not valid YAML ({exc}).", hint=_HINT) from None
    if root is None:
        raise InvalidInputError(f"{path} is empty.", hint="List your collections under 'collections:'.")
    return root


class _Reader:
    """Reads nodes into values, every failure naming the file, the line and the field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, node: Node, field: str, problem: str, hint: str = _HINT) -> InvalidInputError:
        return InvalidInputError(
            f"{self.path}, line {node.start_mark.line + 1}, {field}: {problem}.", hint=hint
        )

    def mapping(self, node: Node, field: str, allowed: frozenset[str] | None) -> dict[str, tuple[Node, Node]]:
        """A mapping's entries by key; unknown keys (when ``allowed`` is given) and repeats refused."""
        if not isinstance(node, MappingNode):
            raise self.fail(node, field, f"must be a mapping (key: value), not {_kind(node)}")
        found: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node, f"{field} (a key)", str)
            where = _join(field, key)
            if key in found:
                raise self.fail(
                    key_node, where, f"is given twice (first on line {found[key][0].start_mark.line + 1})"
                )
            if allowed is not None and key not in allowed:
                raise self.fail(key_node, where, f"is not a known key; use {', '.join(sorted(allowed))}")
            found[key] = (key_node, value_node)
        return found

    def sequence(self, node: Node, field: str) -> list[Node]:
        if isinstance(node, ScalarNode) and node.tag.endswith(":null"):
            return []
        if not isinstance(node, SequenceNode):
            raise self.fail(node, field, f"must be a list, not {_kind(node)}")
        return list(node.value)

    def scalar(self, node: Node, field: str, kind: type[Any]) -> Any:
        """A plain value of type ``kind`` (a YAML ``1.0`` is a number: it must be quoted to be a name)."""
        if not isinstance(node, ScalarNode):
            raise self.fail(node, field, f"must be {_type_name(kind)}, not {_kind(node)}")
        value = SafeConstructor().construct_object(node)
        if kind is str and isinstance(value, str):
            return value
        if kind is bool and isinstance(value, bool):
            return value
        shown = node.value if len(node.value) <= 60 else node.value[:57] + "..."
        quote = " (quote it: '…')" if kind is str and value is not None else ""
        raise self.fail(node, field, f"must be {_type_name(kind)}, not {shown!r}{quote}")

    def checked(self, node: Node, field: str, check: Callable[[str], object]) -> str:
        """A string that ``check`` accepts (the id, revision and path rules of :mod:`hg_localization.ids`)."""
        value: str = self.scalar(node, field, str)
        try:
            check(value)
        except HGLocalizationError as exc:
            raise self.fail(node, field, exc.message.rstrip(".")) from None
        return value

    def globs(self, node: Node, field: str) -> tuple[str, ...]:
        """A list of globs (a single string is a list of one)."""
        single = isinstance(node, ScalarNode) and not node.tag.endswith(":null")
        items: list[Node] = [node] if single else self.sequence(node, field)
        return tuple(self.checked(item, f"{field}[{i}]", check_glob) for i, item in enumerate(items))


def _collection(reader: _Reader, key_node: Node, node: Node) -> Collection:
    name: str = reader.scalar(key_node, "collections (a name)", str)
    field = f"collections.{name}"
    if not _COLLECTION_NAME_RE.match(name):
        raise reader.fail(
            key_node,
            field,
            "is not a valid collection name: use letters, digits, '.', '_' and '-' (64 at most)",
        )
    values = reader.mapping(node, field, _COLLECTION_KEYS)
    public = reader.scalar(values["public"][1], f"{field}.public", bool) if "public" in values else False
    description = (
        reader.scalar(values["description"][1], f"{field}.description", str)
        if "description" in values
        else ""
    )
    entries: list[Entry] = []
    seen: dict[tuple[RepoType, str, str], int] = {}
    kinds: tuple[tuple[RepoType, str], ...] = (("model", "models"), ("dataset", "datasets"))
    for repo_type, key in kinds:
        if key not in values:
            continue
        for i, item in enumerate(reader.sequence(values[key][1], f"{field}.{key}")):
            entry = _entry(reader, item, f"{field}.{key}[{i}]", repo_type)
            if entry.key in seen:
                raise reader.fail(
                    item,
                    f"{field}.{key}[{i}]",
                    f"{entry.repo_type} {entry.label} is listed twice (first on line {seen[entry.key]})",
                    hint="List each revision of a repo once per collection; merge the two entries.",
                )
            seen[entry.key] = entry.line
            entries.append(entry)
    if not entries:
        raise reader.fail(node, field, "lists no models and no datasets")
    return Collection(name, tuple(entries), public, description, key_node.start_mark.line + 1)


def _entry(reader: _Reader, node: Node, field: str, repo_type: RepoType) -> Entry:
    values = reader.mapping(node, field, _MODEL_KEYS if repo_type == "model" else _DATASET_KEYS)
    if "id" not in values:
        raise reader.fail(node, f"{field}.id", "is missing: every entry needs the repo's id")

    def text(key: str, check: Callable[[str], object], default: str | None = None) -> str | None:
        return reader.checked(values[key][1], f"{field}.{key}", check) if key in values else default

    repo_id = str(parse_repo_id(text("id", parse_repo_id)))
    revision = text("revision", validate_revision, DEFAULT_REVISION) or DEFAULT_REVISION
    include = reader.globs(values["include"][1], f"{field}.include") if "include" in values else ()
    exclude = reader.globs(values["exclude"][1], f"{field}.exclude") if "exclude" in values else ()
    name = text("name", _check_config_name)
    if name is not None and include:
        raise reader.fail(
            values["include"][0],
            f"{field}.include",
            "cannot be combined with 'name'",
            hint="'name' already selects that config's files; narrow it with 'exclude'.",
        )
    full = reader.scalar(values["full"][1], f"{field}.full", bool) if "full" in values else False
    return Entry(
        repo_type=repo_type,
        repo_id=repo_id,
        revision=revision,
        full=repo_type == "dataset" or full or bool(include or exclude),
        include=include,
        exclude=exclude,
        name=name,
        line=node.start_mark.line + 1,
    )


def check_glob(pattern: str) -> str:
    """A file pattern as --include/--exclude take it: relative, inside the repo, brackets closed."""
    if not pattern or pattern != pattern.strip():
        raise InvalidInputError(f"the pattern {pattern!r} is empty or has leading or trailing spaces")
    if _CONTROL_RE.search(pattern):
        raise InvalidInputError(f"the pattern {pattern!r} contains control characters")
    if pattern.startswith("/") or "\\" in pattern or "://" in pattern:
        raise InvalidInputError(f"the pattern {pattern!r} is not a path inside the repository")
    if ".." in pattern.split("/"):
        raise InvalidInputError(f"the pattern {pattern!r} has a '..' segment")
    if pattern.count("[") != pattern.count("]"):
        raise InvalidInputError(f"the pattern {pattern!r} has an unclosed '['")
    return pattern


def _check_config_name(name: str) -> str:
    if not name or _CONTROL_RE.search(name) or name != name.strip() or len(name) > 200:
        raise InvalidInputError(f"the config name {name!r} is not valid")
    return name


def _join(field: str, key: str) -> str:
    return key if field == "the manifest" else f"{field}.{key}"


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return f"{node.value!r}" if isinstance(node, ScalarNode) and node.value else "nothing"


def _type_name(kind: type[Any]) -> str:
    return {str: "a string", bool: "true or false"}.get(kind, kind.__name__)
