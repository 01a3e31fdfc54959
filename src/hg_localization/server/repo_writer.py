"""Writes into a folder of repos, the layout :class:`FolderSource` serves: repos, LFS objects, commits.

::

    <root>/<namespace>/<name>/repo.json                  {"private", "tags", "tag_messages"}: the settings
    <root>/<namespace>/<name>/<revision>/…               one branch or tag; a commit replaces a branch whole
    <root>/<namespace>/<name>/.<id>.next/                the next revision being built (hidden: never served)
    <root>/<namespace>/<name>/.<name>.deleted-<id>/      a deleted ref or repo, being removed (hidden)
    <root>/<namespace>/<name>/.hgloc-write.lock          one commit at a time per repo
    <root>/.hgloc-lfs/<sha256>                           an uploaded object, verified, waiting for its commit
    <root>/.hgloc-lfs/<sha256>.<id>.incomplete           an upload in progress

A commit copies the base revision as hard links (no file is ever changed in place: new content
is a new file), applies the operations, then swaps the new folder in with one
``renameat2(RENAME_EXCHANGE)`` where the kernel has it, so a reader sees the old revision or the
new one, never a mix. The commit id is the content hash the :class:`FolderSource` computes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from hg_localization.errors import (
    EntryNotFoundError,
    HGLocalizationError,
    IntegrityError,
    InvalidInputError,
    RepoNotFoundError,
)
from hg_localization.ids import RepoType, parse_repo_id, revision_folder, validate_repo_path
from hg_localization.server.disk_repos import DEFAULT_BRANCH, REPO_SETTINGS_FILENAME
from hg_localization.server.folder_source import FolderSource
from hg_localization.server.served import ServedRevision
from hg_localization.store.atomic import atomic_write_bytes, atomic_write_text, link_or_copy, swap_in
from hg_localization.store.layout import PARTIAL_SUFFIX

#: What a write to any other source (the local store) is answered (400).
READ_ONLY = (
    "This server serves a local store, which is read-only: serve a folder of repos "
    "(hg-localization serve --repos DIR) to accept uploads."
)
STAGING_FOLDER = ".hgloc-lfs"
LOCK_FILENAME = ".hgloc-write.lock"
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_PR_RE = re.compile(r"^refs/pr/(\d+)$")


class RepoExistsError(HGLocalizationError):
    """``create repo`` for a repo that is already there (the Hub answers 409)."""


class CommitConflictError(HGLocalizationError):
    """The commit names a parent that is no longer the head of the branch (the Hub answers 412)."""


@dataclass(frozen=True)
class Addition:
    """A file of a commit: inline ``content`` (regular) or an uploaded LFS object (``oid``, ``size``)."""

    path: str
    content: bytes | None = None
    oid: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class Commit:
    summary: str
    additions: tuple[Addition, ...] = ()
    deleted_files: tuple[str, ...] = ()
    deleted_folders: tuple[str, ...] = ()
    parent_commit: str | None = None


@dataclass(frozen=True)
class Committed:
    revision: str
    commit: str
    pull_request: int | None = None


@dataclass
class RepoWriter:
    source: FolderSource

    def root(self, repo_type: RepoType) -> Path:
        return self.source.roots[repo_type]

    # --- repos -------------------------------------------------------------------------------
    def create_repo(self, repo_type: RepoType, repo_id: str, *, private: bool) -> str:
        """Create an empty repo (an empty default branch); raise :class:`RepoExistsError` if it exists."""
        parsed = parse_repo_id(repo_id)
        repo_dir = self.root(repo_type).joinpath(*parsed.folder_parts)
        with FileLock(str(self._lock_path(repo_dir))):
            with contextlib.suppress(RepoNotFoundError):
                self.source.repo(repo_type, str(parsed))
                raise RepoExistsError(f"The {repo_type} repository '{parsed}' already exists.")
            (repo_dir / revision_folder(DEFAULT_BRANCH)).mkdir(parents=True, exist_ok=True)
            atomic_write_text(repo_dir / REPO_SETTINGS_FILENAME, json.dumps({"private": private}) + "\n")
        return str(parsed)

    # --- uploaded objects ----------------------------------------------------------------------
    def staged_object(self, repo_type: RepoType, oid: str) -> Path:
        if not _SHA256_RE.match(oid):
            raise InvalidInputError(f"'{oid}' is not a sha256 object id.")
        return self.root(repo_type) / STAGING_FOLDER / oid

    def has_object(self, repo_type: RepoType, oid: str, size: int, base: ServedRevision | None) -> bool:
        staged = self.staged_object(repo_type, oid)
        if staged.is_file() and staged.stat().st_size == size:
            return True
        return base is not None and _find_in(base, oid, size) is not None

    def new_upload(self, repo_type: RepoType, oid: str) -> Path:
        """Where an upload of ``oid`` is written before it is verified."""
        staged = self.staged_object(repo_type, oid)
        staged.parent.mkdir(parents=True, exist_ok=True)
        return staged.with_name(f"{oid}.{uuid.uuid4().hex}{PARTIAL_SUFFIX}")

    def accept_upload(
        self, repo_type: RepoType, oid: str, size: int, partial: Path, sha256: str, got: int
    ) -> None:
        """Keep ``partial`` as object ``oid`` only if its sha256 and size are the announced ones."""
        try:
            if got != size:
                raise IntegrityError(oid, f"{size} bytes", f"{got} bytes", algorithm="size")
            if sha256 != oid:
                raise IntegrityError(oid, oid, sha256)
            os.replace(partial, self.staged_object(repo_type, oid))
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()

    # --- commits -------------------------------------------------------------------------------
    def commit(
        self, repo_type: RepoType, repo_id: str, revision: str, commit: Commit, *, create_pr: bool = False
    ) -> Committed:
        repo = self.source.repo(repo_type, repo_id)
        self.root(repo_type)
        with FileLock(str(self._lock_path(repo.path))):
            base = self.source.resolve(repo_type, repo.repo_id, revision)
            if base.revision in repo.tags and not create_pr:
                raise InvalidInputError(
                    f"'{base.revision}' is a tag of '{repo.repo_id}': a tag never moves, so it takes "
                    "no commits.",
                    hint="Commit to a branch (main), then tag the new commit.",
                )
            if commit.parent_commit and commit.parent_commit != base.commit:
                raise CommitConflictError(
                    f"'{revision}' has moved: its head is {base.commit}, not {commit.parent_commit}.",
                    hint="Fetch the new head and commit again.",
                )
            pull_request = _next_pull_request(repo.revisions) if create_pr else None
            target_name = f"refs/pr/{pull_request}" if pull_request else base.revision
            building = repo.path / f".{uuid.uuid4().hex}.next"
            try:
                clone_tree(repo.path / revision_folder(base.revision), building)
                used = self._apply(repo_type, base, commit, building)
                replaced = swap_in(building, repo.path / revision_folder(target_name))
                if replaced is not None:
                    shutil.rmtree(replaced, ignore_errors=True)
            finally:
                shutil.rmtree(building, ignore_errors=True)
            for staged in used:
                with contextlib.suppress(FileNotFoundError):
                    staged.unlink()
            head = self.source.resolve(repo_type, repo.repo_id, target_name)
        return Committed(revision=target_name, commit=head.commit, pull_request=pull_request)

    def _apply(self, repo_type: RepoType, base: ServedRevision, commit: Commit, folder: Path) -> list[Path]:
        """Apply the operations to ``folder``; return the staged objects it took in."""
        for path in commit.deleted_folders:
            shutil.rmtree(_inside(folder, path.rstrip("/")), ignore_errors=True)
        for path in commit.deleted_files:
            target = _inside(folder, path)
            if not target.is_file():
                raise EntryNotFoundError(base.repo_id, path, base.revision)
            target.unlink()
        used: list[Path] = []
        for addition in commit.additions:
            target = _inside(folder, addition.path)
            if target.is_dir():
                raise InvalidInputError(f"'{addition.path}' is a folder in the repository, not a file.")
            for parent in target.relative_to(folder).parents:
                if (folder / parent).is_file():
                    raise InvalidInputError(f"'{parent.as_posix()}' is a file in the repo, not a folder.")
            if addition.content is not None:
                atomic_write_bytes(target, addition.content)  # a new inode: base files stay untouched
                continue
            oid, size = addition.oid or "", addition.size if addition.size is not None else -1
            staged = self.staged_object(repo_type, oid)
            if staged.is_file() and staged.stat().st_size == size:
                link_or_copy(staged, target)
                used.append(staged)
                continue
            existing = _find_in(base, oid, size)
            if existing is None:
                raise InvalidInputError(
                    f"The LFS object {oid} for '{addition.path}' was never uploaded (or not in full).",
                    hint="Upload it through the LFS batch endpoint first.",
                )
            link_or_copy(existing, target)
        return used

    def _lock_path(self, repo_dir: Path) -> Path:
        repo_dir.mkdir(parents=True, exist_ok=True)
        return repo_dir / LOCK_FILENAME


def _inside(folder: Path, path: str) -> Path:
    return folder / validate_repo_path(path)


def _find_in(revision: ServedRevision, oid: str, size: int) -> Path | None:
    for served in revision.files:
        if served.sha256 == oid and served.size == size and served.disk_path and served.disk_path.is_file():
            return served.disk_path
    return None


def _next_pull_request(revisions: tuple[str, ...]) -> int:
    numbers = [int(m.group(1)) for m in (_PR_RE.match(r) for r in revisions) if m]
    return max(numbers, default=0) + 1


def clone_tree(source: Path, target: Path) -> None:
    """``target`` becomes a copy of ``source`` made of hard links (copies across devices).

    Symbolic links are left out, as :class:`FolderSource` never serves them.
    """
    target.mkdir(parents=True)
    if not source.is_dir():
        return
    for folder, dirnames, filenames in os.walk(source):
        here = Path(folder)
        relative = here.relative_to(source)
        dirnames[:] = [d for d in dirnames if not (here / d).is_symlink()]
        for name in dirnames:
            (target / relative / name).mkdir()
        for name in filenames:
            if not (here / name).is_symlink():
                link_or_copy(here / name, target / relative / name)
