"""Helpers of the collection tests: manifests, store configurations, a Hub whose ``main`` moves."""

from __future__ import annotations

import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

from hg_localization.config import HGLocalizationConfig
from hg_localization.hub.client import HubClient
from hg_localization.ids import parse_repo_id

from helpers.sample_repos import SampleRepos


def store_config(root: Path, hub_url: str) -> HGLocalizationConfig:
    """A store in ``root`` (``models/``, ``datasets/``) whose upstream Hub is ``hub_url``."""
    return HGLocalizationConfig(
        models_store_path=root / "models",
        datasets_store_path=root / "datasets",
        hf_endpoint=hub_url,
        max_workers=4,
    )


def write_manifest(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "hg-localization.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def commit_of(hub_url: str, repo_id: str, revision: str = "main", repo_type: str = "model") -> str:
    return HubClient(hub_url).commit_of(repo_type, parse_repo_id(repo_id), revision)  # type: ignore[arg-type]


def revision_folders(root: Path) -> list[str]:
    """Every folder under a store root, as relative paths (staging folders included)."""
    if not root.exists():
        return []
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir() and ".locks" not in p.parts
    )


@dataclass
class MovingHub:
    """A Hub over a private copy of the sample repos, whose branches a test may move."""

    url: str
    samples: SampleRepos

    def keep(self, repo_id: str, as_branch: str) -> None:
        """Copy ``main`` to another branch, so that its commit stays reachable after ``main`` moves."""
        main = self.samples.revision_dir(repo_id)
        shutil.copytree(main, main.with_name(as_branch))

    def change(self, repo_id: str, path: str, content: bytes) -> None:
        """Change one file of ``main`` (its commit, a content hash, moves)."""
        (self.samples.revision_dir(repo_id) / path).write_bytes(content)
