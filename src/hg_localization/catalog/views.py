"""What each repo page shows, built from catalog entries. Pure but for reading files through the catalog.

Split from the request handlers (:mod:`.pages`) so the JSON API (:mod:`.api`) shows the same
things: the card, its front matter, the config, the files, the revisions, the snippets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hg_localization.catalog.cards import (
    CONFIG_MAX_BYTES,
    CardRenderer,
    RenderedCard,
    config_rows,
    front_matter_rows,
    parse_config,
)
from hg_localization.catalog.index import Catalog
from hg_localization.catalog.model import FileEntry, RepoEntry, RevisionEntry
from hg_localization.catalog.paths import resolve_url
from hg_localization.errors import RevisionNotFoundError

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".h5", ".msgpack", ".onnx")
#: Files listed on a repo's page (the file browser lists them all).
PAGE_FILES = 100


@dataclass(frozen=True)
class Snippet:
    title: str
    code: str


@dataclass(frozen=True)
class RepoView:
    repo: RepoEntry
    revision: RevisionEntry
    card: RenderedCard
    config: dict[str, Any] | None
    config_problem: str | None
    snippets: list[Snippet] = field(default_factory=list)

    @property
    def front_matter_rows(self) -> list[tuple[str, str]]:
        return front_matter_rows(self.card.front_matter)

    @property
    def config_rows(self) -> list[tuple[str, str]]:
        return config_rows(self.config) if self.config is not None else []


def default_revision(catalog: Catalog, repo: RepoEntry) -> RevisionEntry:
    """The revision a repo's page shows: its default branch, else the first it has."""
    try:
        return catalog.revision(repo, None)
    except RevisionNotFoundError:
        if not repo.revisions:
            raise
        return repo.revisions[0]


def repo_view(
    catalog: Catalog, cards: CardRenderer, repo: RepoEntry, revision: RevisionEntry, endpoint: str
) -> RepoView:
    card_url = resolve_url(repo.repo_type, repo.repo_id, revision.commit, "")

    def read_card(limit: int) -> bytes | None:
        return catalog.read_file(revision, repo.source, "README.md", limit)

    card = cards.render((repo.source, repo.repo_type, repo.repo_id, revision.commit), read_card, card_url)
    config, problem = None, None
    if repo.repo_type == "model" and revision.file("config.json") is not None:
        data = catalog.read_file(revision, repo.source, "config.json", CONFIG_MAX_BYTES + 1)
        config, problem = parse_config(data)
        if data is None:
            problem = "config.json could not be read."
    return RepoView(repo, revision, card, config, problem, snippets(repo, revision, endpoint))


def snippets(repo: RepoEntry, revision: RevisionEntry, endpoint: str) -> list[Snippet]:
    """Copy-paste commands that load this repo from this server, as a person would type them."""
    repo_id = repo.repo_id
    pinned = revision.name != repo.default_branch
    token = "HF_TOKEN=<your read token> " if revision.private or repo.private else ""
    cli = f"HF_ENDPOINT={endpoint} {token}hf download {repo_id}"
    cli += " --repo-type dataset" if repo.repo_type == "dataset" else ""
    cli += f" --revision {revision.name}" if pinned else ""
    found = [Snippet("Command line", cli)]
    rev_arg = f', revision="{revision.name}"' if pinned else ""
    setup = f'import os\n\nos.environ["HF_ENDPOINT"] = "{endpoint}"\n'

    if repo.repo_type == "dataset":
        found.append(
            Snippet(
                "datasets",
                f'{setup}from datasets import load_dataset\n\nds = load_dataset("{repo_id}"{rev_arg})',
            )
        )
        return found
    if revision.file("config.json") is not None:
        lines = [
            f"{setup}from transformers import AutoConfig",
            "",
            f'config = AutoConfig.from_pretrained("{repo_id}"{rev_arg})',
        ]
        if has_weights(revision.files):
            lines[0] += ", AutoModel"
            lines.append(f'model = AutoModel.from_pretrained("{repo_id}"{rev_arg})')
        found.append(Snippet("transformers", "\n".join(lines)))
    return found


def has_weights(files: tuple[FileEntry, ...]) -> bool:
    return any(f.path.lower().endswith(WEIGHT_SUFFIXES) for f in files)


@dataclass(frozen=True)
class TreeEntry:
    name: str
    path: str
    is_dir: bool
    file: FileEntry | None = None
    size: int = 0


def tree_listing(revision: RevisionEntry, base: str) -> list[TreeEntry] | None:
    """The folders then files directly in ``base`` ("": the root); None when no such folder."""
    prefix = f"{base}/" if base else ""
    folders: dict[str, int] = {}
    files: list[TreeEntry] = []
    for entry in revision.files:
        if not entry.path.startswith(prefix):
            continue
        rest = entry.path[len(prefix) :]
        head, slash, _ = rest.partition("/")
        if slash:
            folders[head] = folders.get(head, 0) + entry.size
        else:
            files.append(TreeEntry(rest, entry.path, False, entry, entry.size))
    if base and not folders and not files:
        return None
    listed = [TreeEntry(name, prefix + name, True, None, size) for name, size in sorted(folders.items())]
    return listed + sorted(files, key=lambda e: e.name)


def breadcrumbs(path: str) -> list[tuple[str, str]]:
    """(name, path) for each folder from the root down to ``path``."""
    parts = [p for p in path.split("/") if p]
    return [(part, "/".join(parts[: index + 1])) for index, part in enumerate(parts)]
