"""Tags, branches, visibility and deletion in a folder of repos (the layout :mod:`repo_writer` draws).

Every change holds the repo's write lock (the one commits take), so a tag is never made from a
branch halfway through a commit. What readers see changes in one rename:

- create a tag or branch: the revision it starts from is copied as hard links into a hidden
  folder, which is then renamed to the ref's name (a tag is recorded in ``repo.json`` first);
- delete one: its folder is renamed to a hidden name, then removed (a tag is forgotten after);
- delete a repo: its folder is renamed to a hidden name, then removed;
- visibility: ``repo.json`` is rewritten atomically.

Tags and branches share one namespace here (each is a folder): a name taken by either is taken.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from filelock import FileLock

from hg_localization.errors import HGLocalizationError, InvalidInputError, RevisionNotFoundError
from hg_localization.ids import RepoType, revision_folder, validate_ref_name, validate_revision
from hg_localization.server.disk_repos import REPO_SETTINGS_FILENAME
from hg_localization.server.repo_writer import LOCK_FILENAME, RepoWriter, clone_tree
from hg_localization.server.served import ServedRepo, ServedRevision
from hg_localization.store.atomic import atomic_write_text

RefKind = Literal["tag", "branch"]
_SHORT_COMMIT_RE = re.compile(r"^[0-9a-f]{7,39}$")


class RefExistsError(HGLocalizationError):
    """A tag or branch of that name is already there (the Hub answers 409)."""


@dataclass(frozen=True)
class RefWriter:
    writer: RepoWriter

    @contextlib.contextmanager
    def _locked(self, repo_type: RepoType, repo_id: str) -> Iterator[ServedRepo]:
        """The repo under its write lock, as it is once the lock is held."""
        repo = self.writer.source.repo(repo_type, repo_id)
        self.writer.root(repo_type)
        with FileLock(str(repo.path / LOCK_FILENAME)):
            yield self.writer.source.repo(repo_type, repo.repo_id)

    # --- tags and branches ---------------------------------------------------------------------
    def create(
        self,
        repo_type: RepoType,
        repo_id: str,
        kind: RefKind,
        name: str,
        *,
        start: str | None = None,
        message: str | None = None,
    ) -> ServedRevision:
        """Make tag or branch ``name`` point at ``start`` (default: the default branch)."""
        name = validate_ref_name(name, kind)
        start = validate_revision(start) if start else None
        with self._locked(repo_type, repo_id) as repo:
            if name in repo.revisions:
                what = "tag" if name in repo.tags else "branch"
                raise RefExistsError(f"'{repo.repo_id}' already has a {what} named '{name}'.")
            base = self._start(repo, start)
            building = repo.path / f".{uuid.uuid4().hex}.next"
            try:
                clone_tree(repo.path / revision_folder(base.revision), building)
                if kind == "tag":
                    _change_settings(repo.path, lambda s: _add_tag(s, name, message))
                try:
                    os.rename(building, repo.path / revision_folder(name))
                except OSError:
                    if kind == "tag":
                        _change_settings(repo.path, lambda s: _drop_tag(s, name))
                    raise
            finally:
                shutil.rmtree(building, ignore_errors=True)
        return self.writer.source.resolve(repo_type, repo.repo_id, name)

    def delete(self, repo_type: RepoType, repo_id: str, kind: RefKind, name: str) -> None:
        """Remove tag or branch ``name``; the default branch and pull requests stay."""
        name = validate_ref_name(name, kind)
        with self._locked(repo_type, repo_id) as repo:
            is_tag = name in repo.tags
            if name not in repo.revisions or is_tag != (kind == "tag"):
                raise RevisionNotFoundError(repo.repo_id, name, repo_type)
            if kind == "branch" and name == repo.default_branch:
                raise InvalidInputError(
                    f"'{name}' is the default branch of '{repo.repo_id}': it cannot be deleted."
                )
            _remove_aside(repo.path / revision_folder(name))
            if kind == "tag":
                _change_settings(repo.path, lambda s: _drop_tag(s, name))

    def _start(self, repo: ServedRepo, start: str | None) -> ServedRevision:
        """The revision a new ref starts from: a branch, tag, commit id or its first 7+ hex digits."""
        source = self.writer.source
        if start and _SHORT_COMMIT_RE.match(start) and start not in repo.revisions:
            commits = {source.resolve_in(repo, r).commit for r in repo.revisions}
            found = sorted(c for c in commits if c.startswith(start))
            if len(found) == 1:
                return source.resolve_in(repo, found[0])
        return source.resolve_in(repo, start)

    # --- the repo itself -----------------------------------------------------------------------
    def set_private(self, repo_type: RepoType, repo_id: str, private: bool) -> None:
        with self._locked(repo_type, repo_id) as repo:
            _change_settings(repo.path, lambda settings: settings.update(private=private))

    def delete_repo(self, repo_type: RepoType, repo_id: str) -> None:
        with self._locked(repo_type, repo_id) as repo:
            parked = repo.path.with_name(f".{repo.path.name}.deleted-{uuid.uuid4().hex}")
            os.rename(repo.path, parked)  # gone for readers at once; the lock file went with it
        shutil.rmtree(parked, ignore_errors=True)
        with contextlib.suppress(OSError):
            repo.path.parent.rmdir()  # the namespace folder, when this was its last repo


def _remove_aside(folder: Path) -> None:
    parked = folder.with_name(f".{folder.name}.deleted-{uuid.uuid4().hex}")
    os.rename(folder, parked)
    shutil.rmtree(parked, ignore_errors=True)


def _add_tag(settings: dict[str, Any], name: str, message: str | None) -> None:
    tags = [t for t in settings.get("tags", []) if isinstance(t, str) and t != name]
    settings["tags"] = [*tags, name]
    messages = settings.get("tag_messages")
    messages = {k: v for k, v in messages.items() if k != name} if isinstance(messages, dict) else {}
    if message:
        messages[name] = message
    settings["tag_messages"] = messages


def _drop_tag(settings: dict[str, Any], name: str) -> None:
    tags = settings.get("tags")
    settings["tags"] = [t for t in tags if t != name] if isinstance(tags, list) else []
    messages = settings.get("tag_messages")
    if isinstance(messages, dict):
        messages.pop(name, None)


def _change_settings(repo_path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Read ``repo.json`` (kept keys included), apply ``change``, write it back atomically."""
    path = repo_path / REPO_SETTINGS_FILENAME
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        settings = {}
    if not isinstance(settings, dict):
        settings = {}
    change(settings)
    atomic_write_text(path, json.dumps(settings, indent=1, sort_keys=True) + "\n")
