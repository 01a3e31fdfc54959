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
  commit and every file's checksums; folders without one are incomplete and not served. A
  revision that was a tag upstream (the metadata file's ``ref_kind``) is listed as a tag. Every
  scope of the store is served (``by_bucket/<bucket id>/`` and the unscoped folders): when two
  hold the same revision of a repo, the first scope given wins (``serve`` gives the configured
  bucket's, then the unscoped store, then the other buckets').

A commit id abbreviated to 7 or more hex digits names the commit it abbreviates when only one
served revision's commit starts with it (as the Hub does); a branch or tag of that name wins.

Checksums of manifest-less files are computed once per (path, size, mtime) and cached.

Nothing outside a root is read (:mod:`.confine`): a namespace, repo or revision folder that is a
symbolic link is not served, and every file (served bytes, metadata files, ``repo.json``) is
opened from the root down without following a link, so a file swapped for a link to
``/etc/passwd`` after it was listed is refused when it is opened. ``serve --repos DIR
--follow-symlinks`` lets an operator opt in to links (``follow_symlinks=True``). A revision
whose metadata file is damaged or unreadable is skipped, with one warning, and the rest served.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from starlette.responses import Response

from hg_localization.errors import HGLocalizationError, RepoNotFoundError, RevisionNotFoundError
from hg_localization.ids import (
    NO_NAMESPACE_FOLDER,
    RepoType,
    is_commit_prefix,
    is_commit_sha,
    parse_repo_id,
    revision_folder,
    revision_from_folder,
)
from hg_localization.integrity.hashing import CHUNK_SIZE, hash_chunks
from hg_localization.server import confine
from hg_localization.server.file_response import disk_file_response
from hg_localization.server.folder_signature import StoreSignatures, check_folder
from hg_localization.server.folder_signature import subdirs as _subdirs
from hg_localization.server.served import Localized

# Re-exported: modules written before served.py import them from here.
from hg_localization.server.served import ServedFile as ServedFile
from hg_localization.server.served import ServedRepo as ServedRepo
from hg_localization.server.served import ServedRevision as ServedRevision
from hg_localization.store.layout import BY_BUCKET_FOLDER, METADATA_FILENAME
from hg_localization.store.manifest import RevisionManifest

logger = logging.getLogger(__name__)

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


class RepoSource:
    """Repos under one root per repo type, as they are on disk at each call.

    A loaded revision is cached with a signature of what it was built from (the metadata
    file's stat for the store; every file's size, mtime and inode for a folder of repos, and
    its folders' stats), so a request costs ``stat`` calls, not a walk or a rebuild.
    """

    def __init__(
        self, roots: dict[RepoType, Path], *, manifests_only: bool = False, follow_symlinks: bool = False
    ) -> None:
        self.roots = roots
        #: Where repos are looked for, per type, in precedence order (several scopes of a store).
        self.bases: dict[RepoType, tuple[Path, ...]] = {t: (root,) for t, root in roots.items()}
        self.manifests_only = manifests_only
        self.follow_symlinks = follow_symlinks and not manifests_only  # the store never follows links
        self._hashes: dict[tuple[str, int, int, int], tuple[str, str]] = {}
        #: A damaged revision is cached as None (with its signature): warned about once, then skipped.
        self._revisions: dict[tuple[str, str, bool], tuple[object, ServedRevision | None]] = {}
        self._ref_kinds: dict[str, tuple[tuple[int, int, int], str | None]] = {}
        self._lock = threading.Lock()
        self._signatures = StoreSignatures(REPO_SETTINGS_FILENAME, METADATA_FILENAME)

    @classmethod
    def for_repos_dir(cls, directory: Path, *, follow_symlinks: bool = False) -> RepoSource:
        roots: dict[RepoType, Path] = {"model": directory / "models", "dataset": directory / "datasets"}
        return cls(roots, follow_symlinks=follow_symlinks)

    @classmethod
    def for_store(
        cls,
        models_base: Path | Sequence[Path],
        datasets_base: Path | Sequence[Path],
        *,
        roots: tuple[Path, Path] | None = None,
    ) -> RepoSource:
        """The store's scope folders of each type (one, or several in precedence order), read
        below ``roots`` (the models and datasets store folders; default: the first scope's)."""
        models = (models_base,) if isinstance(models_base, Path) else tuple(models_base)
        datasets = (datasets_base,) if isinstance(datasets_base, Path) else tuple(datasets_base)
        model_root, dataset_root = roots or (models[0], datasets[0])
        source = cls({"model": model_root, "dataset": dataset_root}, manifests_only=True)
        source.bases = {"model": models, "dataset": datasets}
        return source

    # --- repos -------------------------------------------------------------------------------
    def repo(self, repo_type: RepoType, repo_id: str) -> ServedRepo:
        try:
            parsed = parse_repo_id(repo_id)
        except HGLocalizationError:
            raise RepoNotFoundError(repo_id, repo_type) from None
        below = self.below(repo_type)
        paths = [base.joinpath(*parsed.folder_parts) for base in self.bases.get(repo_type, ())]
        # A namespace or repo folder that is a link is not served.
        paths = [p for p in paths if below is None or not confine.links_below(p, below)]
        names = {p: tuple(self._revision_names(p)) for p in paths}
        revisions = tuple(dict.fromkeys(name for p in paths for name in names[p]))
        if not revisions:
            raise RepoNotFoundError(repo_id, repo_type)
        path = next(p for p in paths if names[p])
        settings = _read_settings(path, below)
        return ServedRepo(
            repo_type=repo_type,
            repo_id=str(parsed),
            private=bool(settings.get("private", False)),
            default_branch=str(settings.get("default_branch", DEFAULT_BRANCH)),
            revisions=revisions,
            path=path,
            tags=tuple(t for p in paths for t in self._stored_tags(p, names[p], below))
            if self.manifests_only
            else _string_list(settings.get("tags")),
        )

    def _stored_tags(
        self, repo_path: Path, revisions: tuple[str, ...], below: Path | None
    ) -> tuple[str, ...]:
        """The store's revisions whose metadata file says they were a tag upstream (read once each)."""
        tags = []
        for name in revisions:
            manifest_path = repo_path / revision_folder(name) / METADATA_FILENAME
            try:
                stat = confine.regular_lstat(manifest_path)
                if stat is None:
                    continue
                signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
                with self._lock:
                    cached = self._ref_kinds.get(str(manifest_path))
                if cached is None or cached[0] != signature:
                    data = json.loads(confine.read_file(manifest_path, below))
                    kind = data.get("ref_kind") if isinstance(data, dict) else None
                    cached = (signature, kind if isinstance(kind, str) else None)
                    with self._lock:
                        self._ref_kinds[str(manifest_path)] = cached
            except (OSError, ValueError, RecursionError):
                continue  # unreadable: served (or not) as the revision loader decides, never as a tag
            if cached[1] == "tag":
                tags.append(name)
        return tuple(tags)

    def list_repos(self, repo_type: RepoType) -> list[ServedRepo]:
        ids: dict[str, None] = {}
        for base in self.bases.get(repo_type, ()):
            for namespace_dir in _subdirs(base, self.follow_symlinks):
                if self.manifests_only and namespace_dir.name == BY_BUCKET_FOLDER:
                    continue  # the store's bucket scopes: served when given as bases
                for repo_dir in _subdirs(namespace_dir, self.follow_symlinks):
                    namespace, name = namespace_dir.name, repo_dir.name
                    ids[name if namespace == NO_NAMESPACE_FOLDER else f"{namespace}/{name}"] = None
        found = []
        for repo_id in ids:
            try:
                found.append(self.repo(repo_type, repo_id))
            except HGLocalizationError:
                continue
        return found

    def below(self, repo_type: RepoType) -> Path | None:
        """The root files of ``repo_type`` are read below without following links (None: followed)."""
        return None if self.follow_symlinks else self.roots.get(repo_type)

    # --- revisions ---------------------------------------------------------------------------
    def answer_signature(self, repo_type: RepoType, repo_id: str, revision: str | None) -> object | None:
        """What :meth:`repo` and :meth:`resolve_in` answer for ``revision`` (a branch or tag name)
        depends on, in a few ``lstat`` calls; None when no cheap check exists (a folder of repos,
        several scopes, no revision or a commit id): then there is nothing to reuse."""
        bases = self.bases.get(repo_type, ())
        if not self.manifests_only or len(bases) != 1 or not revision or is_commit_prefix(revision):
            return None
        return self._signatures.of(bases[0], self.below(repo_type), repo_type, repo_id, revision)

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
            matches = [candidate for candidate in self.served_revisions(repo) if candidate.commit == wanted]
            if matches:
                return max(matches, key=lambda candidate: len(candidate.files))
        if wanted in repo.revisions:
            return self._load(repo, wanted)
        if is_commit_prefix(wanted):
            matches = [c for c in self.served_revisions(repo) if c.commit.startswith(wanted)]
            if len({c.commit for c in matches}) == 1:
                return max(matches, key=lambda candidate: len(candidate.files))
        raise RevisionNotFoundError(repo.repo_id, wanted, repo_type)

    def served_revisions(self, repo: ServedRepo) -> list[ServedRevision]:
        """Every revision of ``repo`` that can be served, in the order of ``repo.revisions``."""
        served = []
        for name in repo.revisions:
            try:
                served.append(self._load(repo, name))
            except RevisionNotFoundError:  # damaged, or gone since the repo was listed
                continue
        return served

    def file_response(
        self, revision: ServedRevision, served: ServedFile, headers: dict[str, str]
    ) -> Response | None:
        return disk_file_response(served, headers)

    def _revision_names(self, repo_path: Path) -> Iterator[str]:
        for folder in _subdirs(repo_path, self.follow_symlinks):
            if self.manifests_only and confine.regular_lstat(folder / METADATA_FILENAME) is None:
                continue
            yield revision_from_folder(folder.name)

    def _load(self, repo: ServedRepo, revision: str) -> ServedRevision:
        """The revision in ``revision``'s folder, from the cache while its signature holds."""
        folder = self._folder_of(repo, revision)
        below = self.below(repo.repo_type)
        if below is not None and confine.links_below(folder, below):
            raise RevisionNotFoundError(repo.repo_id, revision, repo.repo_type)
        manifest_stat = confine.regular_lstat(folder / METADATA_FILENAME)
        if manifest_stat is None and self.manifests_only:  # removed since the repo was listed
            raise RevisionNotFoundError(repo.repo_id, revision, repo.repo_type)
        key = (str(folder), revision, repo.private)
        with self._lock:
            cached = self._revisions.get(key)
        signature: object
        if manifest_stat is None:  # a folder of repos: walked only when its folders changed
            signature, unchanged = check_folder(cached and cached[0], folder, self.follow_symlinks)
            listing: list[confine.FileStat] | None = signature.listing
        else:
            signature = (manifest_stat.st_mtime_ns, manifest_stat.st_size, manifest_stat.st_ino)
            listing, unchanged = None, cached is not None and cached[0] == signature
        if cached is not None and unchanged:
            loaded = cached[1]
        else:
            loaded = self._build(repo, revision, folder, listing)
        if cached is None or not unchanged or (manifest_stat is None and cached[0] is not signature):
            with self._lock:
                self._revisions[key] = (signature, loaded)
        if loaded is None:
            raise RevisionNotFoundError(repo.repo_id, revision, repo.repo_type)
        return loaded

    def _folder_of(self, repo: ServedRepo, revision: str) -> Path:
        """The folder of ``revision``: in the first scope that has it complete (the repo's folder
        when there is one scope, or none has it)."""
        folder = repo.path / revision_folder(revision)
        bases = self.bases.get(repo.repo_type, ())
        if len(bases) < 2 or confine.regular_lstat(folder / METADATA_FILENAME) is not None:
            return folder
        parts = parse_repo_id(repo.repo_id).folder_parts
        for base in bases:
            candidate = base.joinpath(*parts, revision_folder(revision))
            if confine.regular_lstat(candidate / METADATA_FILENAME) is not None:
                return candidate
        return folder

    def _build(
        self, repo: ServedRepo, revision: str, folder: Path, listing: list[confine.FileStat] | None
    ) -> ServedRevision | None:
        """Build a revision from its metadata file or its files; None (and a warning) when damaged."""
        below = self.below(repo.repo_type)
        if listing is None:
            try:
                manifest = RevisionManifest.from_json(confine.read_file(folder / METADATA_FILENAME, below))
            except (OSError, HGLocalizationError) as exc:
                reason = exc.message if isinstance(exc, HGLocalizationError) else exc.strerror or str(exc)
                logger.warning("Not serving %s: its metadata file cannot be used (%s).", folder, reason)
                return None
            files = tuple(
                ServedFile(
                    path=r.path,
                    disk_path=folder / r.local_path,
                    size=r.size,
                    git_sha1=r.git_sha1,
                    sha256=r.sha256,
                    lfs=r.lfs,
                    below=below,
                )
                for r in manifest.files
            )
            commit = manifest.commit
            modified = manifest.fetched_at
            private = repo.private or manifest.private
            localized: Localized | None = Localized.of(manifest)
        else:
            files = tuple(served for entry in listing if (served := self._served_file(entry, below)))
            commit = _content_commit(files)
            newest = max((entry[3] for entry in listing), default=0)
            modified = datetime.fromtimestamp(newest / 1e9, tz=UTC)
            private = repo.private
            localized = None
        return ServedRevision(
            repo_type=repo.repo_type,
            repo_id=repo.repo_id,
            revision=revision,
            commit=commit,
            files=files,
            last_modified=modified,
            private=private,
            localized=localized,
        )

    def _served_file(self, entry: confine.FileStat, below: Path | None) -> ServedFile | None:
        """One file of a folder of repos, hashed once; None if it cannot be read (left out)."""
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
            lfs=Path(relative).suffix.lower() in LFS_SUFFIXES or size >= LFS_MIN_SIZE,
            below=below,
        )


def _content_commit(files: tuple[ServedFile, ...]) -> str:
    tree = hashlib.sha1(b"hg-localization tree\n")
    for served in sorted(files, key=lambda f: f.path):
        tree.update(f"{served.path}\0{served.git_sha1}\n".encode())
    return tree.hexdigest()


def _string_list(value: object) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _read_settings(repo_path: Path, below: Path | None) -> dict[str, object]:
    try:
        data = json.loads(confine.read_file(repo_path / REPO_SETTINGS_FILENAME, below))
    except (OSError, ValueError, RecursionError):  # missing, a link, unreadable or not JSON
        return {}
    return data if isinstance(data, dict) else {}
