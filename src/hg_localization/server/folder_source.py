"""A folder of repos as a served source (``hg-localization serve --repos DIR``)::

    DIR/models/<namespace>/<name>/repo.json          optional: {"private": true, "default_branch": "main"}
    DIR/models/<namespace>/<name>/<branch or tag>/   the files of that revision
    DIR/datasets/…                                   the same for datasets

(``_`` stands for "no namespace"; ``refs%2Fpr%2F1`` is the folder of ``refs/pr/1``.) A revision's
commit id is a content hash of its files (40 hex), so it changes exactly when a file does, and the
commit id works as a revision name too. The tags are ``repo.json``'s ``tags``. The server's write
API writes this layout (:mod:`.repo_writer`, :mod:`.ref_writer`).

Checksums are computed once per (path, size, mtime, inode) and cached; a loaded revision is
re-walked only when one of its folders or files changed (:mod:`.folder_signature`, which also
states how fresh an answer given on the event loop is).

Nothing outside the folder is read (:mod:`.confine`): a namespace, repo or revision folder that
is a symbolic link is not served, and every file (served bytes, ``repo.json``) is opened from the
root down without following a link, so a file swapped for a link to ``/etc/passwd`` after it was
listed is refused when it is opened. ``serve --repos DIR --follow-symlinks`` lets an operator opt
in to links (``follow_symlinks=True``).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from starlette.responses import Response

from hg_localization.errors import HGLocalizationError, RepoNotFoundError, RevisionNotFoundError
from hg_localization.ids import (
    NO_NAMESPACE_FOLDER,
    RepoType,
    parse_repo_id,
    revision_folder,
    revision_from_folder,
)
from hg_localization.integrity.hashing import CHUNK_SIZE, hash_chunks
from hg_localization.server import confine
from hg_localization.server.disk_repos import (
    DEFAULT_BRANCH,
    loadable,
    read_settings,
    resolve_named,
    string_list,
)
from hg_localization.server.file_response import disk_file_response
from hg_localization.server.folder_signature import FolderAnswers, FolderSignature, check_folder, subdirs
from hg_localization.server.served import ServedFile, ServedRepo, ServedRevision

#: Files stored with Git LFS on the Hub by default (its .gitattributes), and anything this large.
LFS_SUFFIXES = frozenset(
    (
        ".7z", ".arrow", ".bin", ".bz2", ".ckpt", ".ftz", ".gguf", ".gz", ".h5", ".joblib", ".lz4",
        ".mlmodel", ".model", ".msgpack", ".npy", ".npz", ".onnx", ".ot", ".parquet", ".pb", ".pickle",
        ".pkl", ".pt", ".pth", ".rar", ".safetensors", ".tar", ".tflite", ".tgz", ".wasm", ".xz", ".zip",
        ".zst", ".tfevents",
    )
)  # fmt: skip
LFS_MIN_SIZE = 10 * 1024 * 1024


def is_lfs(path: str, size: int) -> bool:
    """Whether the Hub would keep this file in LFS (what preupload answers, and what is served)."""
    return Path(path).suffix.lower() in LFS_SUFFIXES or size >= LFS_MIN_SIZE


class FolderSource:
    """Repos under one root per repo type, as they are on disk at each call."""

    label = "folder"

    def __init__(self, roots: dict[RepoType, Path], *, follow_symlinks: bool = False) -> None:
        self.roots = roots
        self.follow_symlinks = follow_symlinks
        self._hashes: dict[tuple[str, int, int, int], tuple[str, str]] = {}
        self._revisions: dict[tuple[str, str, bool], tuple[FolderSignature, ServedRevision]] = {}
        self._lock = threading.Lock()
        #: One check (or walk) of a revision folder at a time: the requests that waited reuse it.
        self._checking: dict[str, threading.Lock] = {}
        self._answers = FolderAnswers(follow_symlinks)

    @classmethod
    def for_repos_dir(cls, directory: Path, *, follow_symlinks: bool = False) -> FolderSource:
        roots: dict[RepoType, Path] = {"model": directory / "models", "dataset": directory / "datasets"}
        return cls(roots, follow_symlinks=follow_symlinks)

    def below(self, repo_type: RepoType) -> Path | None:
        """The root files of ``repo_type`` are read below without following links (None: followed)."""
        return None if self.follow_symlinks else self.roots.get(repo_type)

    # --- repos -------------------------------------------------------------------------------
    def repo(self, repo_type: RepoType, repo_id: str) -> ServedRepo:
        root = self.roots.get(repo_type)
        try:
            parsed = parse_repo_id(repo_id)
        except HGLocalizationError:
            raise RepoNotFoundError(repo_id, repo_type) from None
        below = self.below(repo_type)
        path = root.joinpath(*parsed.folder_parts) if root is not None else None
        if path is None or (below is not None and confine.links_below(path, below)):
            raise RepoNotFoundError(repo_id, repo_type)  # a namespace or repo folder that is a link
        revisions = tuple(revision_from_folder(f.name) for f in subdirs(path, self.follow_symlinks))
        if not revisions:
            raise RepoNotFoundError(repo_id, repo_type)
        settings = read_settings(path, below)
        return ServedRepo(
            repo_type=repo_type,
            repo_id=str(parsed),
            private=bool(settings.get("private", False)),
            default_branch=str(settings.get("default_branch", DEFAULT_BRANCH)),
            revisions=revisions,
            path=path,
            tags=string_list(settings.get("tags")),
        )

    def list_repos(self, repo_type: RepoType) -> list[ServedRepo]:
        found = []
        for namespace_dir in subdirs(self.roots.get(repo_type), self.follow_symlinks):
            for repo_dir in subdirs(namespace_dir, self.follow_symlinks):
                namespace, name = namespace_dir.name, repo_dir.name
                try:
                    found.append(
                        self.repo(
                            repo_type, name if namespace == NO_NAMESPACE_FOLDER else f"{namespace}/{name}"
                        )
                    )
                except HGLocalizationError:
                    continue
        return found

    # --- revisions ---------------------------------------------------------------------------
    def answer_signature(self, repo_type: RepoType, repo_id: str, revision: str | None) -> object | None:
        """See :class:`~.folder_signature.FolderAnswers`: a few ``lstat`` calls, or None."""
        root = self.roots.get(repo_type)
        if root is None or not revision:
            return None
        return self._answers.signature(root, self.below(repo_type), repo_id, revision)

    def resolve(self, repo_type: RepoType, repo_id: str, revision: str | None = None) -> ServedRevision:
        """The revision a branch, tag or commit name points at; raises the Hub's kinds of miss."""
        return self.resolve_in(self.repo(repo_type, repo_id), revision)

    def resolve_in(self, repo: ServedRepo, revision: str | None = None) -> ServedRevision:
        return resolve_named(repo, revision, self._load)

    def served_revisions(self, repo: ServedRepo) -> list[ServedRevision]:
        return loadable(repo, self._load)

    def file_response(
        self, revision: ServedRevision, served: ServedFile, headers: dict[str, str]
    ) -> Response | None:
        return disk_file_response(served, headers)

    def _load(self, repo: ServedRepo, revision: str) -> ServedRevision:
        """The revision in ``revision``'s folder: walked again only when its folders or files changed.

        Checks of one folder take turns, and a check that began after this request arrived
        answers it too: when the per-file stats are due again (:mod:`.folder_signature`), the
        16 requests that find them due wait for one check instead of making 16.
        """
        arrived = time.monotonic()
        folder = repo.path / revision_folder(revision)
        below = self.below(repo.repo_type)
        if below is not None and confine.links_below(folder, below):
            raise RevisionNotFoundError(repo.repo_id, revision, repo.repo_type)
        key = (str(folder), revision, repo.private)
        with self._lock:
            checking = self._checking.setdefault(str(folder), threading.Lock())
        with checking:
            with self._lock:
                cached = self._revisions.get(key)
            known = cached and cached[0]
            signature, unchanged = check_folder(known, folder, self.follow_symlinks, since=arrived)
            self._answers.walked(folder, signature)
            if cached is not None and unchanged:
                loaded = cached[1]
            else:
                loaded = self._build(repo, revision, signature.listing, below)
            if cached is None or cached[0] is not signature:
                with self._lock:
                    self._revisions[key] = (signature, loaded)
        return loaded

    def _build(
        self, repo: ServedRepo, revision: str, listing: list[confine.FileStat], below: Path | None
    ) -> ServedRevision:
        files = tuple(served for entry in listing if (served := self._served_file(entry, below)))
        newest = max((entry[3] for entry in listing), default=0)
        return ServedRevision(
            repo_type=repo.repo_type,
            repo_id=repo.repo_id,
            revision=revision,
            commit=_content_commit(files),
            files=files,
            last_modified=datetime.fromtimestamp(newest / 1e9, tz=UTC),
            private=repo.private,
        )

    def _served_file(self, entry: confine.FileStat, below: Path | None) -> ServedFile | None:
        """One file, hashed once; None if it cannot be read (left out)."""
        relative, disk_path, size, mtime_ns, inode = entry
        key = (disk_path, size, mtime_ns, inode)
        with self._lock:
            hashes = self._hashes.get(key)
        if hashes is None:
            try:
                with os.fdopen(confine.open_file(Path(disk_path), below), "rb") as handle:
                    digest = hash_chunks(iter(lambda: handle.read(CHUNK_SIZE), b""), size)
            except OSError:  # unreadable, or a link since the walk
                return None
            if digest.size != size:  # changed since the walk: the next request sees it whole
                return None
            hashes = (digest.git_sha1, digest.sha256)
            with self._lock:
                self._hashes[key] = hashes
        return ServedFile(
            path=relative,
            disk_path=Path(disk_path),
            size=size,
            git_sha1=hashes[0],
            sha256=hashes[1],
            lfs=is_lfs(relative, size),
            below=below,
        )


def _content_commit(files: tuple[ServedFile, ...]) -> str:
    tree = hashlib.sha1(b"hg-localization tree\n")
    for served in sorted(files, key=lambda f: f.path):
        tree.update(f"{served.path}\0{served.git_sha1}\n".encode())
    return tree.hexdigest()
