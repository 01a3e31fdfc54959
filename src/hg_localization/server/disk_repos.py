"""What the two disk sources share (:class:`~.store_source.StoreSource`, the local store, and
:class:`~.folder_source.FolderSource`, a folder of repos): the repo folder's settings file, and
which served revision a branch, tag, commit id or abbreviated commit id names.

A commit id abbreviated to 7 or more hex digits names the commit it abbreviates when only one
served revision's commit starts with it (as the Hub does); a branch or tag of that name wins.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from hg_localization.errors import RevisionNotFoundError
from hg_localization.ids import is_commit_prefix, is_commit_sha
from hg_localization.server import confine
from hg_localization.server.served import ServedRepo, ServedRevision

#: ``<repo folder>/repo.json``: ``{"private": true, "default_branch": "main", "tags": [...]}``, all optional.
REPO_SETTINGS_FILENAME = "repo.json"
DEFAULT_BRANCH = "main"

#: How a source loads one revision of a repo by its name (RevisionNotFoundError: damaged or gone).
Loader = Callable[[ServedRepo, str], ServedRevision]


def read_settings(repo_path: Path, below: Path | None) -> dict[str, object]:
    """The repo's ``repo.json`` (read below ``below`` without following a link); ``{}`` when it
    is missing, a link, unreadable or not a JSON object."""
    try:
        data = json.loads(confine.read_file(repo_path / REPO_SETTINGS_FILENAME, below))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def string_list(value: object) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def loadable(repo: ServedRepo, load: Loader) -> list[ServedRevision]:
    """Every revision of ``repo`` that can be served, in the order of ``repo.revisions``."""
    served = []
    for name in repo.revisions:
        try:
            served.append(load(repo, name))
        except RevisionNotFoundError:  # damaged, or gone since the repo was listed
            continue
    return served


def resolve_named(repo: ServedRepo, revision: str | None, load: Loader) -> ServedRevision:
    """The revision a branch, tag, commit id or abbreviation names (the default branch for None)."""
    wanted = revision or repo.default_branch
    if is_commit_sha(wanted):
        # Several folders can be at one commit (a metadata-only copy named by the commit, a
        # full branch): the fullest answers, so a tree listed by commit never lacks files.
        matches = [candidate for candidate in loadable(repo, load) if candidate.commit == wanted]
        if matches:
            return max(matches, key=lambda candidate: len(candidate.files))
    if wanted in repo.revisions:
        return load(repo, wanted)
    if is_commit_prefix(wanted):
        matches = [c for c in loadable(repo, load) if c.commit.startswith(wanted)]
        if len({c.commit for c in matches}) == 1:
            return max(matches, key=lambda candidate: len(candidate.files))
    raise RevisionNotFoundError(repo.repo_id, wanted, repo.repo_type)
