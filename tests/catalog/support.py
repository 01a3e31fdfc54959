"""Small repos of the catalog tests' own: ``write_repo`` writes one revision in the ``--repos``
format (``<dir>/models/<ns>/<name>/<rev>/``), ``write_stored`` one in the store's format, with its
metadata file."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hg_localization.ids import parse_repo_id, revision_folder
from hg_localization.server.auth import ServerTokens
from hg_localization.store.layout import METADATA_FILENAME
from hg_localization.store.manifest import RevisionManifest, Selection

from helpers.servers import PRIVATE_TOKEN
from helpers.stored import file_record
from helpers.weights_fixtures import write_folder

TOKENS = ServerTokens(read=frozenset({PRIVATE_TOKEN}))
AUTH = {"Authorization": f"Bearer {PRIVATE_TOKEN}"}


def write_repo(
    root: Path,
    repo_id: str,
    files: dict[str, bytes],
    *,
    revision: str = "main",
    repo_type: str = "model",
    settings: dict[str, Any] | None = None,
) -> Path:
    repo_dir = root.joinpath(f"{repo_type}s", *parse_repo_id(repo_id).folder_parts)
    folder = repo_dir / revision_folder(revision)
    for path, data in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    if settings is not None:
        (repo_dir / "repo.json").write_text(json.dumps(settings))
    return folder


def write_stored(
    base: Path,
    repo_id: str,
    files: dict[str, bytes],
    *,
    selections: list[Selection],
    revision: str = "main",
    public: bool = False,
    private: bool = False,
    fetched_at: datetime | None = None,
) -> Path:
    """One revision in the store's layout (``<base>/<ns>/<name>/<rev>/`` and its metadata file)."""
    folder = base.joinpath(*parse_repo_id(repo_id).folder_parts, revision_folder(revision))
    write_folder(folder, files)
    records = [file_record(path, data) for path, data in files.items()]
    manifest = RevisionManifest(
        repo_id=repo_id,
        repo_type="model",
        revision=revision,
        commit=hashlib.sha1(repo_id.encode() + revision.encode()).hexdigest(),
        selections=selections,
        files=records,
        public=public,
        private=private,
        fetched_at=fetched_at or datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
    )
    (folder / METADATA_FILENAME).write_text(manifest.to_json())
    return folder


def card(front_matter: str, body: str) -> bytes:
    return f"---\n{front_matter}\n---\n\n{body}\n".encode()
