"""The JSON the Hub's read API answers with, built from a :class:`ServedRevision`. No I/O but the card.

Each function is O(files) at most and is called from a worker thread (see :mod:`hub_api`),
never on the event loop; the folder set of a revision is computed once, when it is loaded.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import yaml

from hg_localization.server import confine
from hg_localization.server.served import ServedFile, ServedRevision

CARD_MAX_BYTES = 1024 * 1024


def iso(moment: datetime) -> str:
    """``2024-06-01T12:00:00.000Z``: huggingface_hub parses only this form (UTC, with a ``Z``)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _lfs_pointer_size(served: ServedFile) -> int:
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{served.sha256}\nsize {served.size}\n"
    return len(pointer)


def card_data(revision: ServedRevision) -> dict[str, Any]:
    """The YAML front matter of the repo's README.md, as the Hub's ``cardData``."""
    if revision.card is not None:  # read by the source already (the bucket's)
        return revision.card
    readme = revision.file("README.md")
    if readme is None or readme.disk_path is None or readme.size > CARD_MAX_BYTES:
        return {}
    try:
        with os.fdopen(confine.open_file(readme.disk_path, readme.below), "rb") as handle:
            text = handle.read(CARD_MAX_BYTES).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    return parse_front_matter(text)


def parse_front_matter(text: str) -> dict[str, Any]:
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end == -1:
        return {}
    try:
        data = yaml.safe_load(text[3:end])
    except (yaml.YAMLError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


#: This server scans nothing, and says so in the Hub's own shape: clients 0.26 and later read all
#: three keys (``KeyError: 'avScan'`` without them).
UNSCANNED: dict[str, Any] = {
    "status": "unscanned",
    "avScan": {"status": "unscanned", "version": None},
    "pickleImportScan": {"status": "unscanned", "pickleImports": [], "version": None},
}


def repo_info_json(revision: ServedRevision, card: dict[str, Any], *, with_blobs: bool) -> dict[str, Any]:
    siblings = []
    for served in revision.files:
        sibling: dict[str, Any] = {"rfilename": served.path}
        if with_blobs:
            sibling["size"] = served.size
            sibling["blobId"] = served.git_sha1
            if served.lfs:
                sibling["lfs"] = {
                    "sha256": served.sha256,
                    "size": served.size,
                    "pointerSize": _lfs_pointer_size(served),
                }
        siblings.append(sibling)
    tags = card.get("tags") if isinstance(card.get("tags"), list) else []
    info: dict[str, Any] = {
        **summary_json(revision),
        "disabled": False,
        "gated": False,
        "tags": tags,
        "siblings": siblings,
        "cardData": card,
        "createdAt": iso(revision.last_modified),
        "usedStorage": sum(f.size for f in revision.files),
    }
    if revision.repo_type == "model":
        for key in ("library_name", "pipeline_tag"):
            if isinstance(card.get(key), str):
                info[key] = card[key]
    return info


def summary_json(revision: ServedRevision) -> dict[str, Any]:
    namespace = revision.repo_id.split("/")[0] if "/" in revision.repo_id else None
    summary: dict[str, Any] = {
        "_id": revision.commit[:24],
        "id": revision.repo_id,
        "author": namespace,
        "sha": revision.commit,
        "lastModified": iso(revision.last_modified),
        "private": revision.private,
        "downloads": 0,
        "likes": 0,
        "tags": [],  # clients 0.20–0.23 require the key in catalogue items
    }
    if revision.repo_type == "model":
        summary["modelId"] = revision.repo_id
    return summary


def file_entry(served: ServedFile, revision: ServedRevision, expand: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "file", "oid": served.git_sha1, "size": served.size, "path": served.path}
    if served.lfs:
        entry["lfs"] = {"oid": served.sha256, "size": served.size, "pointerSize": _lfs_pointer_size(served)}
    if expand:
        entry["lastCommit"] = _last_commit(revision)
        entry["securityFileStatus"] = UNSCANNED
    return entry


def dir_entry(path: str, revision: ServedRevision, expand: bool) -> dict[str, Any]:
    oid = hashlib.sha1(f"{revision.commit}:{path}".encode()).hexdigest()
    entry: dict[str, Any] = {"type": "directory", "oid": oid, "size": 0, "path": path}
    if expand:
        entry["lastCommit"] = _last_commit(revision)
    return entry


def commits_json(revision: ServedRevision) -> list[dict[str, Any]]:
    """``list_repo_commits``: the one commit known for a served revision (its history is upstream's)."""
    return [
        {
            "id": revision.commit,
            "title": f"Revision {revision.revision}",
            "message": "",
            "authors": [{"user": "hg-localization"}],
            "date": iso(revision.last_modified),
        }
    ]


def _last_commit(revision: ServedRevision) -> dict[str, str]:
    return {
        "id": revision.commit,
        "title": f"Revision {revision.revision}",
        "date": iso(revision.last_modified),
    }


def tree_entries(
    revision: ServedRevision, base: str, recursive: bool, expand: bool
) -> Iterable[dict[str, Any]]:
    """The entries of folder ``base`` (``""``: the root), folders first, each group sorted."""
    prefix = f"{base}/" if base else ""
    depth = prefix.count("/")
    for folder in revision.directories:
        if folder.startswith(prefix) and (recursive or folder.count("/") == depth):
            yield dir_entry(folder, revision, expand)
    for served in sorted((f for f in revision.files if f.path.startswith(prefix)), key=lambda f: f.path):
        if recursive or served.path.count("/") == depth:
            yield file_entry(served, revision, expand)


def paths_info_entries(revision: ServedRevision, paths: list[str], expand: bool) -> list[dict[str, Any]]:
    """An entry for each of ``paths`` that is a file or a folder of ``revision``; others are left out."""
    result = []
    for path in paths:
        served = revision.file(path)
        if served is not None:
            result.append(file_entry(served, revision, expand))
        elif path and revision.is_directory(path):
            result.append(dir_entry(path, revision, expand))
    return result
