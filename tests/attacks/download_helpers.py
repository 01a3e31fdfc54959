"""Helpers of the download attack tests: localize from a hostile Hub, look at the store, a tiny disk."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hostile_upstream import HostileHub

from hg_localization.config import HGLocalizationConfig
from hg_localization.hub.client import HubClient
from hg_localization.hub.download import FreeSpace, free_bytes
from hg_localization.ids import parse_repo_id
from hg_localization.progress import ProgressListener
from hg_localization.store.local_store import LocalStore
from hg_localization.store.manifest import Selection
from hg_localization.usecases import models
from hg_localization.usecases.localize import LocalizeOutcome, LocalizeRequest, localize
from hg_localization.usecases.options import LocalizeOptions


def store_config(tmp_path: Path, hub: HostileHub, **changes: object) -> HGLocalizationConfig:
    return HGLocalizationConfig(
        models_store_path=tmp_path / "store" / "models",
        datasets_store_path=tmp_path / "store" / "datasets",
        hf_endpoint=hub.url,
        **changes,
    )


def fetch(
    hub: HostileHub,
    store_root: Path,
    *,
    client: HubClient | None = None,
    revision: str = "main",
    full: bool = True,
    include: tuple[str, ...] = (),
    free_space: FreeSpace = free_bytes,
    progress: ProgressListener | None = None,
) -> LocalizeOutcome:
    """Localize the hostile Hub's repo into ``store_root`` (through ``client``, else default settings)."""
    request = LocalizeRequest(
        repo_type="model",
        repo_id=parse_repo_id(hub.repo_id),
        revision=revision,
        selection=Selection(full=full or bool(include), include=include),
        metadata_files=models.MODEL_METADATA_FILES,
        options=LocalizeOptions(push=False),
    )
    return localize(
        request,
        store=LocalStore(store_root, "model"),
        hub=client or HubClient(hub.url),
        free_space=free_space,
        progress=progress or ProgressListener(),
    )


def store_files(root: Path) -> list[str]:
    """Every file in a store, as paths relative to it (the lock files left out)."""
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and ".locks" not in p.parts
    )


class Received(ProgressListener):
    """Counts the bytes written for each file."""

    def __init__(self) -> None:
        self.bytes: dict[str, int] = {}

    def file_advanced(self, path: str, n_bytes: int) -> None:
        self.bytes[path] = self.bytes.get(path, 0) + n_bytes


@contextmanager
def small_disk(folder: Path, size: str = "2m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``folder`` (skips the test where mounting is not allowed)."""
    folder.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"Cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
