"""What the Hub-compatible server serves: repos on disk, their revisions and file checksums.

One class reads two kinds of folder, both shaped ``<root>/<namespace>/<name>/<revision>/…``
(``_`` stands for "no namespace"; ``refs%2Fpr%2F1`` is the folder of ``refs/pr/1``):

- **a folder of repos** (``hg-localization serve --repos DIR``)::

      DIR/models/<namespace>/<name>/repo.json          optional: {"private": true, "default_branch": "main"}
      DIR/models/<namespace>/<name>/<branch or tag>/   the files of that revision
      DIR/datasets/…                                   the same for datasets

  A revision's commit id is a content hash of its files (40 hex), so it changes exactly when a
  file does, and the commit id works as a revision name too.

- **the local store**: each revision folder has its metadata file, which names the upstream
  commit and every file's checksums; folders without one are incomplete and not served.

Checksums of manifest-less files are computed once per (path, size, mtime) and cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from hg_localization.errors import HGLocalizationError, RepoNotFoundError, RevisionNotFoundError
from hg_localization.ids import (
    NO_NAMESPACE_FOLDER,
    RepoType,
    is_commit_sha,
    parse_repo_id,
    revision_folder,
    revision_from_folder,
)
from hg_localization.integrity.hashing import hash_file
from hg_localization.store.layout import METADATA_FILENAME, PARTIAL_SUFFIX
from hg_localization.store.manifest import RevisionManifest

REPO_SETTINGS_FILENAME = "repo.json"
DEFAULT_BRANCH = "main"
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


@dataclass(frozen=True)
class ServedFile:
    path: str
    disk_path: Path
    size: int
    git_sha1: str
    sha256: str
    lfs: bool

    @property
    def etag(self) -> str:
        """What the Hub sends as ETag: the sha256 of LFS files, the git blob id of others."""
        return self.sha256 if self.lfs else self.git_sha1


@dataclass(frozen=True)
class ServedRevision:
    repo_type: RepoType
    repo_id: str
    revision: str
    commit: str
    files: tuple[ServedFile, ...]
    last_modified: datetime
    private: bool
    _by_path: dict[str, ServedFile] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_path.update({f.path: f for f in self.files})

    def file(self, path: str) -> ServedFile | None:
        return self._by_path.get(path)


@dataclass(frozen=True)
class ServedRepo:
    repo_type: RepoType
    repo_id: str
    private: bool
    default_branch: str
    revisions: tuple[str, ...]
    path: Path
    tags: tuple[str, ...] = ()


_FileStat = tuple[str, str, int, int, int]  # (repo path, disk path, size, mtime_ns, inode)


class RepoSource:
    """Repos under one root per repo type, as they are on disk at each call.

    A loaded revision is cached with a signature of what it was built from (the metadata
    file's stat for the store; every file's size, mtime and inode for a folder of repos), so
    a request costs one directory walk, not a rebuild, and a changed file is seen at once.
    """

    def __init__(self, roots: dict[RepoType, Path], *, manifests_only: bool = False) -> None:
        self.roots = roots
        self.manifests_only = manifests_only
        self._hashes: dict[tuple[str, int, int, int], tuple[str, str]] = {}
        self._revisions: dict[tuple[str, str, bool], tuple[object, ServedRevision]] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_repos_dir(cls, directory: Path) -> RepoSource:
        return cls({"model": directory / "models", "dataset": directory / "datasets"})

    @classmethod
    def for_store(cls, models_base: Path, datasets_base: Path) -> RepoSource:
        return cls({"model": models_base, "dataset": datasets_base}, manifests_only=True)

    # --- repos -------------------------------------------------------------------------------
    def repo(self, repo_type: RepoType, repo_id: str) -> ServedRepo:
        try:
            parsed = parse_repo_id(repo_id)
        except HGLocalizationError:
            raise RepoNotFoundError(repo_id, repo_type) from None
        root = self.roots.get(repo_type)
        if root is None:
            raise RepoNotFoundError(repo_id, repo_type)
        path = root.joinpath(*parsed.folder_parts)
        revisions = tuple(self._revision_names(path))
        if not revisions:
            raise RepoNotFoundError(repo_id, repo_type)
        settings = _read_settings(path)
        return ServedRepo(
            repo_type=repo_type,
            repo_id=str(parsed),
            private=bool(settings.get("private", False)),
            default_branch=str(settings.get("default_branch", DEFAULT_BRANCH)),
            revisions=revisions,
            path=path,
            tags=_string_list(settings.get("tags")),
        )

    def list_repos(self, repo_type: RepoType) -> list[ServedRepo]:
        root = self.roots.get(repo_type)
        found = []
        for namespace_dir in _subdirs(root):
            for repo_dir in _subdirs(namespace_dir):
                namespace = namespace_dir.name
                name = repo_dir.name
                repo_id = name if namespace == NO_NAMESPACE_FOLDER else f"{namespace}/{name}"
                try:
                    found.append(self.repo(repo_type, repo_id))
                except HGLocalizationError:
                    continue
        return found

    # --- revisions ---------------------------------------------------------------------------
    def resolve(self, repo_type: RepoType, repo_id: str, revision: str | None = None) -> ServedRevision:
        """The revision a branch, tag or commit name points at; raises the Hub's kinds of miss."""
        return self.resolve_in(self.repo(repo_type, repo_id), revision)

    def resolve_in(self, repo: ServedRepo, revision: str | None = None) -> ServedRevision:
        """Like :meth:`resolve`, for a repo already looked up."""
        repo_type = repo.repo_type
        wanted = revision or repo.default_branch
        if is_commit_sha(wanted):
            # Several folders can be at one commit (a metadata-only copy named by the commit, a
            # full branch): the fullest answers, so a tree listed by commit never lacks files.
            loaded = [self._load(repo, name) for name in repo.revisions]
            matches = [candidate for candidate in loaded if candidate.commit == wanted]
            if matches:
                return max(matches, key=lambda candidate: len(candidate.files))
        if wanted in repo.revisions:
            return self._load(repo, wanted)
        raise RevisionNotFoundError(repo.repo_id, wanted, repo_type)

    def _revision_names(self, repo_path: Path) -> Iterator[str]:
        for folder in _subdirs(repo_path):
            if self.manifests_only and not (folder / METADATA_FILENAME).is_file():
                continue
            yield revision_from_folder(folder.name)

    def _load(self, repo: ServedRepo, revision: str) -> ServedRevision:
        folder = repo.path / revision_folder(revision)
        manifest_path = folder / METADATA_FILENAME
        try:
            manifest_stat = manifest_path.stat()
        except (FileNotFoundError, NotADirectoryError):
            manifest_stat = None
        listing = None if manifest_stat is not None else _walk(folder)
        signature: object = (
            (manifest_stat.st_mtime_ns, manifest_stat.st_size, manifest_stat.st_ino)
            if manifest_stat
            else listing
        )
        key = (str(folder), revision, repo.private)
        with self._lock:
            cached = self._revisions.get(key)
        if cached is not None and cached[0] == signature:
            return cached[1]
        if listing is None:
            manifest = RevisionManifest.from_json(manifest_path.read_text(encoding="utf-8"))
            files = tuple(
                ServedFile(
                    path=r.path,
                    disk_path=folder / r.local_path,
                    size=r.size,
                    git_sha1=r.git_sha1,
                    sha256=r.sha256,
                    lfs=r.lfs,
                )
                for r in manifest.files
            )
            commit = manifest.commit
            modified = manifest.fetched_at
            private = repo.private or manifest.private
        else:
            files = tuple(self._served_file(entry) for entry in listing)
            commit = _content_commit(files)
            newest = max((entry[3] for entry in listing), default=0)
            modified = datetime.fromtimestamp(newest / 1e9, tz=UTC)
            private = repo.private
        loaded = ServedRevision(
            repo_type=repo.repo_type,
            repo_id=repo.repo_id,
            revision=revision,
            commit=commit,
            files=files,
            last_modified=modified,
            private=private,
        )
        with self._lock:
            self._revisions[key] = (signature, loaded)
        return loaded

    def _served_file(self, entry: _FileStat) -> ServedFile:
        relative, disk_path, size, mtime_ns, inode = entry
        git_sha1, sha256 = self._hashes_of(Path(disk_path), size, mtime_ns, inode)
        return ServedFile(
            path=relative,
            disk_path=Path(disk_path),
            size=size,
            git_sha1=git_sha1,
            sha256=sha256,
            lfs=Path(relative).suffix.lower() in LFS_SUFFIXES or size >= LFS_MIN_SIZE,
        )

    def _hashes_of(self, path: Path, size: int, mtime_ns: int, inode: int) -> tuple[str, str]:
        key = (str(path), size, mtime_ns, inode)
        with self._lock:
            cached = self._hashes.get(key)
        if cached is None:
            digest = hash_file(path)
            cached = (digest.git_sha1, digest.sha256)
            with self._lock:
                self._hashes[key] = cached
        return cached


def _walk(folder: Path) -> list[_FileStat]:
    """Every regular file under ``folder`` (no hidden names, no links, no partial downloads), sorted."""
    found: list[_FileStat] = []
    pending = [(str(folder), "")]
    while pending:
        directory, prefix = pending.pop()
        try:
            entries = os.scandir(directory)
        except (FileNotFoundError, NotADirectoryError):
            continue
        with entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                relative = f"{prefix}{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, f"{relative}/"))
                elif entry.is_file(follow_symlinks=False) and not entry.name.endswith(PARTIAL_SUFFIX):
                    stat = entry.stat(follow_symlinks=False)
                    found.append((relative, entry.path, stat.st_size, stat.st_mtime_ns, stat.st_ino))
    found.sort()
    return found


def _content_commit(files: tuple[ServedFile, ...]) -> str:
    tree = hashlib.sha1(b"hg-localization tree\n")
    for served in sorted(files, key=lambda f: f.path):
        tree.update(f"{served.path}\0{served.git_sha1}\n".encode())
    return tree.hexdigest()


def _string_list(value: object) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _read_settings(repo_path: Path) -> dict[str, object]:
    try:
        data = json.loads((repo_path / REPO_SETTINGS_FILENAME).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _subdirs(path: Path | None) -> list[Path]:
    if path is None:
        return []
    try:
        entries = sorted(path.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [e for e in entries if e.is_dir() and not e.is_symlink() and not e.name.startswith(".")]
