"""What a listing shows of each revision folder, kept in an index keyed by its metadata file's stat.

``list-local-models`` over 10,000 models read and validated 10,000 metadata files (pydantic, the
value checks, the paths: ~0.3 ms each). What a listing shows of one (:class:`RevisionSummary`)
is kept in one file per store scope, ``<base>/.locks/.listing-index.json``, each entry keyed by
the ``stat`` of the metadata file it was read from (device, inode, size, mtime and ctime in ns).
A listing still ``stat``s every metadata file and every repo folder, so it is exact:

- a metadata file written, replaced (a new inode), edited or touched changes its key: it is
  read and validated again (a damaged one is reported as damaged, as without the index);
- a revision folder added or removed changes its repo folder's ``mtime``: the folder's list of
  revision folders is kept keyed by its ``lstat`` too (else it is read with ``scandir``), and a
  new folder has no entry (read), one removed is not walked (its entry dropped);
- an entry is used only when its key is the file's ``stat`` now, and its values have the types
  and forms a validated metadata file gives (else the file is read): the index is never trusted
  beyond its keys, and a damaged index only means a slower listing;
- a file (or folder) changed within the same clock tick as it was read would keep its ``stat``
  (timestamps are coarse), so one is indexed only when its ``ctime`` and ``mtime`` are :data:`RACY_NS`
  older than the moment before it was read, and, when the index is read, an entry whose ``ctime``
  is within :data:`RACY_NS` of the index file's own ``mtime`` (the filesystem's clock) is not
  used (git's "racy clean" rule);
- it is written atomically (a temporary file renamed), and never when the store cannot be
  written; two listings writing at once both write a valid index, the last one stays.

Damaged folders are never indexed: they are read on every listing, as before. Reading the index
needs neither pydantic nor filelock (start-up: bench/README.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from hg_localization.errors import HGLocalizationError
from hg_localization.ids import NO_NAMESPACE_FOLDER, is_commit_sha, parse_repo_id
from hg_localization.store.damaged import DamagedRevision
from hg_localization.store.layout import BY_BUCKET_FOLDER, LOCKS_FOLDER, METADATA_FILENAME
from hg_localization.store.local_store import LocalStore, StoredRevision, revision_named

if TYPE_CHECKING:
    from hg_localization.store.manifest import RevisionManifest

#: The index of a store scope, in its lock folder (a name no namespace folder can have).
INDEX_NAME = ".listing-index.json"
INDEX_FORMAT = 1
#: How much older than "now" a file's (or folder's) timestamps must be before it is indexed.
RACY_NS = 2_000_000_000
_SOURCES = frozenset({"hub", "bucket", "upload"})
_MAX_SIZE = 2**63 - 1

#: [st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns] of a metadata file or a repo folder (a list:
#: it is compared with the index's JSON as it is).
StatKey = list[int]


class SelectionSummary(NamedTuple):
    """One selection of a revision (``Selection`` of the metadata file, its listed fields)."""

    full: bool
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    config_name: str | None


class RevisionSummary(NamedTuple):
    """What a listing shows of a complete revision folder (a tuple: 10,000 are made in a listing)."""

    path: str
    repo_id: str
    revision: str
    commit: str
    files: int
    size: int
    public: bool
    source: str
    #: The repo's card (``README.md``) and, for a model, ``config.json`` are among its files.
    has_card: bool
    has_config: bool
    selections: tuple[SelectionSummary, ...]

    @classmethod
    def of(cls, stored: StoredRevision) -> RevisionSummary:
        manifest = stored.manifest
        paths = {record.path for record in manifest.files}
        return cls(
            path=str(stored.path),
            repo_id=manifest.repo_id,
            revision=manifest.revision,
            commit=manifest.commit,
            files=len(manifest.files),
            size=manifest.total_size,
            public=manifest.public,
            source=manifest.source,
            has_card="README.md" in paths,
            has_config="config.json" in paths,
            selections=_selections(manifest),
        )


def _selections(manifest: RevisionManifest) -> tuple[SelectionSummary, ...]:
    picked = manifest.selections
    return tuple(SelectionSummary(s.full, tuple(s.include), tuple(s.exclude), s.config_name) for s in picked)


def scan_summaries(store: LocalStore) -> Iterator[RevisionSummary | DamagedRevision]:
    """Every revision folder of ``store`` (this scope only), as :meth:`LocalStore.scan` finds them and
    in its order: a summary of each complete one (from the index while its key holds), damaged ones
    as they are. The index is rewritten when anything in it changed."""
    root = str(store.layout.base)
    base = root if root.endswith("/") else f"{root}/"  # paths as str(Path) writes them, "/" too
    index = _Index(f"{base}{LOCKS_FOLDER}/{INDEX_NAME}", store.repo_type)
    revisions = _RevisionNames()
    namespaces: dict[str, bool] = {}
    for namespace in _folder_names(root):
        if namespace == BY_BUCKET_FOLDER:  # the lock folder is hidden: skipped already
            continue
        for name in _folder_names(f"{base}{namespace}"):
            repo_id = _repo_id(namespace, name, namespaces)
            if repo_id is None:
                continue
            repo = f"{namespace}/{name}"
            for folder in index.revision_folders(repo, f"{base}{repo}"):
                revision = revisions.named(folder)
                if revision is None:
                    continue
                relative = f"{repo}/{folder}"
                key = _stat_key(f"{base}{relative}/{METADATA_FILENAME}", os.stat)  # followed, as read
                summary = index.summary(relative, key, f"{base}{relative}", repo_id, revision)
                if summary is not None:
                    yield summary
                    continue
                found = store.inspect(parse_repo_id(repo_id), revision)
                if isinstance(found, StoredRevision):
                    yield index.add(relative, key, RevisionSummary.of(found))
                elif found is not None:
                    yield found
    index.save()


def _repo_id(namespace: str, name: str, namespaces: dict[str, bool]) -> str | None:
    """The repo id the folder ``namespace/name`` stands for; None for a folder that is not one.

    ``namespace/name`` is a valid id exactly when both parts are valid one-part ids (and the
    namespace is not the folder of ids without one): each namespace is checked once a listing."""
    if namespace == NO_NAMESPACE_FOLDER:
        return name if _is_repo_id(name) else None
    valid = namespaces.get(namespace)
    if valid is None:
        valid = namespaces[namespace] = _is_repo_id(namespace)
    return f"{namespace}/{name}" if valid and _is_repo_id(name) else None


#: Names that are certainly valid one-part ids (``parse_repo_id`` is asked about any other):
#: runs of letters, digits and ``_`` joined by single ``-`` or ``.``, at most 96 characters.
_PLAIN_NAME = re.compile(r"(?:[A-Za-z0-9_]+[-.])*[A-Za-z0-9_]+")
_MAX_NAME = 96


def _is_repo_id(value: str) -> bool:
    if len(value) <= _MAX_NAME and _PLAIN_NAME.fullmatch(value):
        return True
    try:
        parse_repo_id(value)
    except HGLocalizationError:
        return False
    return True


class _RevisionNames:
    """:func:`revision_named` of each folder name, worked out once a listing (most are ``main``)."""

    def __init__(self) -> None:
        self._known: dict[str, str | None] = {}

    def named(self, folder: str) -> str | None:
        try:
            return self._known[folder]
        except KeyError:
            revision = self._known[folder] = revision_named(folder)
            return revision


def _folder_names(path: str) -> list[str]:
    """The folders in ``path`` (not hidden, not links), by name (as ``local_store._subfolders``)."""
    try:
        with os.scandir(path) as entries:
            return sorted(
                e.name for e in entries if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)
            )
    except (FileNotFoundError, NotADirectoryError):
        return []


def _stat_key(path: str, stat: Any) -> StatKey | None:
    try:
        st = stat(path)
    except OSError:
        return None
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


class _Index:
    """One scope's index as read, each entry checked when it is used, and as it is to be written:
    what this listing found and could index."""

    def __init__(self, path: str, repo_type: str) -> None:
        self.path = path
        self.repo_type = repo_type
        self.racy_after = time.time_ns() - RACY_NS  # before any file is read
        known = _read_index(path, repo_type)
        self.known: dict[str, Any] = _dict(known.get("entries"))
        self.known_repos: dict[str, Any] = _dict(known.get("repos"))
        # git's "racy clean" rule, with the filesystem's clock: a key taken close to when the index
        # was written may hide a change made in the same clock tick.
        self.fresh_before: int = known.get("written", 0) - RACY_NS
        self.picks = [_selections_from(one) for one in _list(known.get("selections"))]
        self.entries: dict[str, list[Any]] = {}
        self.repos: dict[str, list[Any]] = {}
        self.changed = False

    def revision_folders(self, repo: str, folder: str) -> list[str]:
        """The folders in the repo folder ``folder``: the index's list while its ``lstat`` holds."""
        key = _stat_key(folder, os.lstat)
        entry: Any = self.known_repos.get(repo)
        if _holds(entry, key, self.fresh_before) and _strings(entry[1]):
            names: list[str] = entry[1]
        else:
            names = _folder_names(folder)
            self.changed = True
        if key is not None and max(key[3], key[4]) <= self.racy_after:
            self.repos[repo] = [key, names]
        return names

    def summary(
        self, relative: str, key: StatKey | None, folder: str, repo_id: str, revision: str
    ) -> RevisionSummary | None:
        """The indexed summary of the revision folder ``relative`` while ``key`` is its metadata
        file's, with the folder's own path, id and revision; None when it must be read."""
        entry: Any = self.known.get(relative)
        if not (_holds(entry, key, self.fresh_before) and _values_ok(entry[1], self.picks)):
            return None
        commit, files, size, public, source, has_card, has_config, pick = entry[1]
        self.entries[relative] = entry
        selections = self.picks[pick] or ()
        return RevisionSummary(
            folder, repo_id, revision, commit, files, size, public, source, has_card, has_config, selections
        )

    def add(self, relative: str, key: StatKey | None, summary: RevisionSummary) -> RevisionSummary:
        """A summary just read from its metadata file, indexed unless it may change unseen."""
        self.changed = True
        if key is not None and max(key[3], key[4]) <= self.racy_after:
            if summary.selections in self.picks:
                pick = self.picks.index(summary.selections)
            else:
                pick = len(self.picks)
                self.picks.append(summary.selections)
            values = [summary.commit, summary.files, summary.size, summary.public, summary.source]
            self.entries[relative] = [key, [*values, summary.has_card, summary.has_config, pick]]
        return summary

    def save(self) -> None:
        """Write the index when it differs from the one read (atomically; not when the store is
        read-only: a listing never fails for its index)."""
        if not (self.changed or self.entries.keys() != self.known.keys()):
            return
        data = {
            "format": INDEX_FORMAT,
            "repo_type": self.repo_type,
            "selections": [[list(s) for s in picked or ()] for picked in self.picks],
            "repos": self.repos,
            "entries": self.entries,
        }
        with contextlib.suppress(OSError):
            from hg_localization.store.atomic import atomic_write_text  # only when it is written

            atomic_write_text(Path(self.path), json.dumps(data, separators=(",", ":")))


def _holds(entry: Any, key: StatKey | None, fresh_before: int) -> bool:
    """True when ``entry`` is ``[key, value]`` for this ``key`` (ints a ``stat`` gave), and ``key``
    is older than ``fresh_before`` (not racy)."""
    return (
        key is not None
        and type(entry) is list
        and len(entry) == 2
        and entry[0] == key
        and key[4] < fresh_before
    )


def _read_index(path: str, repo_type: str) -> dict[str, Any]:
    """The index at ``path`` (``written``: its mtime), unchecked; empty when it is absent or not of
    this store."""
    try:
        with open(path, "rb") as handle:
            written = os.fstat(handle.fileno()).st_mtime_ns
            data = json.loads(handle.read())
    except (OSError, ValueError, RecursionError):  # absent, unreadable, not UTF-8 or not JSON
        return {}
    if not isinstance(data, dict) or data.get("format") != INDEX_FORMAT or data.get("repo_type") != repo_type:
        return {}
    data["written"] = written
    return data


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _values_ok(values: Any, picks: list[tuple[SelectionSummary, ...] | None]) -> bool:
    """True when ``values`` are what a validated metadata file gives (the id and revision are the
    folder's, the path is where it is)."""
    if not (type(values) is list and len(values) == 8):
        return False
    commit, files, size, public, source, has_card, has_config, pick = values
    return (
        type(commit) is str
        and is_commit_sha(commit)
        and type(files) is int
        and files >= 0
        and type(size) is int
        and 0 <= size <= _MAX_SIZE
        and type(public) is bool
        and source in _SOURCES
        and type(has_card) is bool
        and type(has_config) is bool
        and type(pick) is int
        and 0 <= pick < len(picks)
        and picks[pick] is not None
    )


def _selections_from(value: Any) -> tuple[SelectionSummary, ...] | None:
    if not isinstance(value, list):
        return None
    picked = []
    for one in value:
        if not (isinstance(one, list) and len(one) == 4):
            return None
        full, include, exclude, config_name = one
        if not (type(full) is bool and _strings(include) and _strings(exclude)):
            return None
        if config_name is not None and type(config_name) is not str:
            return None
        picked.append(SelectionSummary(full, tuple(include), tuple(exclude), config_name))
    return tuple(picked)


def _strings(value: Any) -> bool:
    return type(value) is list and set(map(type, value)) <= _STR


_STR = frozenset({str})
