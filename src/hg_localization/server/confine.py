"""Reading what the server serves without ever leaving its root: no link below the root is followed.

Every served byte, metadata file and ``repo.json`` is read through :func:`open_file`. Given the
root it must stay below, it opens one folder at a time from that root (``openat`` with
``O_NOFOLLOW``), so a namespace, repo, revision or sub-folder, or the file itself, that is (or
has just become) a symbolic link to elsewhere is refused at the moment of the open: there is
no window between a check and the read. ``O_NONBLOCK`` keeps a FIFO planted in a folder from
hanging a worker, and only regular files are answered. Where the platform has no ``dir_fd``,
the real path is compared with the root's instead.

``hg-localization serve --repos DIR --follow-symlinks`` passes no root: links are followed,
the operator having said that they may lead anywhere.
"""

from __future__ import annotations

import errno
import os
import stat
from functools import lru_cache
from pathlib import Path

from hg_localization.errors import InvalidInputError
from hg_localization.ids import validate_repo_path
from hg_localization.store.layout import is_reserved_name

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)
_READ = os.O_RDONLY | _O_CLOEXEC | _O_BINARY
#: Walk down from the root with one descriptor per folder (POSIX); else compare real paths.
WALK_WITH_FDS = os.open in os.supports_dir_fd and bool(_O_NOFOLLOW and _O_DIRECTORY)

#: (repo path, disk path, size, mtime_ns, inode) of one file of a folder of repos.
FileStat = tuple[str, str, int, int, int]


def open_file(path: Path, below: Path | None) -> int:
    """A read-only descriptor of the regular file ``path``, which must stay below ``below``.

    Raises OSError when the file is missing, is not a regular file, or (``below`` given) is
    reached through a symbolic link anywhere below ``below``. ``below=None`` follows links.
    """
    if below is None:
        return _regular(os.open(path, _READ | _O_NONBLOCK), path)
    parts = _parts_below(path, below)
    if not parts or any(part in (".", "..") for part in parts):
        raise OSError(errno.EINVAL, "Not a file below the served folder", str(path))
    if not WALK_WITH_FDS:
        return _open_by_real_path(path, below, parts)
    folder = os.open(below, _READ | _O_DIRECTORY)
    try:
        for part in parts[:-1]:
            inner = os.open(part, _READ | _O_DIRECTORY | _O_NOFOLLOW, dir_fd=folder)
            os.close(folder)
            folder = inner
        descriptor = os.open(parts[-1], _READ | _O_NOFOLLOW | _O_NONBLOCK, dir_fd=folder)
    finally:
        os.close(folder)
    return _regular(descriptor, path)


@lru_cache(maxsize=16384)
def _parts_below(path: Path, below: Path) -> tuple[str, ...]:
    """``path``'s parts below ``below`` (pure: remembered, the same files are opened again and again)."""
    return path.relative_to(below).parts


def read_file(path: Path, below: Path | None) -> bytes:
    """The bytes of ``path``, read as :func:`open_file` opens it."""
    with os.fdopen(open_file(path, below), "rb") as handle:
        return handle.read()


def stat_file(path: Path, below: Path | None) -> os.stat_result | None:
    """The stat of ``path`` if :func:`open_file` would open it, else None."""
    try:
        descriptor = open_file(path, below)
    except (OSError, ValueError):  # ValueError: a NUL in the name
        return None
    try:
        return os.fstat(descriptor)
    finally:
        os.close(descriptor)


def links_below(path: Path, below: Path) -> bool:
    """True when a folder between ``below`` (excluded) and ``path`` (included) is a symbolic link."""
    current = below
    for part in path.relative_to(below).parts:
        current = current / part
        try:
            if stat.S_ISLNK(os.lstat(current).st_mode):
                return True
        except (FileNotFoundError, NotADirectoryError):
            return False
    return False


def regular_lstat(path: Path) -> os.stat_result | None:
    """The stat of ``path`` when it is a regular file itself (not a link to one), else None."""
    try:
        found = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return found if stat.S_ISREG(found.st_mode) else None


def is_served_path(path: str) -> bool:
    """True for a repo path a folder of repos serves: what a commit may write, and what is listed.

    Names starting with ``.`` are hidden at every depth (the server's bookkeeping, ``.git``,
    ``.cache``), and the store's reserved names (:func:`~hg_localization.store.layout.is_reserved_name`:
    the metadata file, ``*.incomplete``) are never repo files.
    """
    return not any(part.startswith(".") for part in path.split("/")) and not is_reserved_name(path)


def writable_path(value: object) -> str:
    """A path a commit (or preupload) may name: a valid repo path that this server serves.

    Refused (InvalidInputError, a 400): names the server hides or the store reserves
    (:func:`is_served_path`), which a commit would write and never serve, or which would replace
    a revision's metadata file; deleting them too.
    """
    path = validate_repo_path(value)
    if not is_served_path(path):
        raise InvalidInputError(
            f"'{path}' cannot be committed: names starting with '.' and names ending in '.incomplete' "
            "are kept for hg-localization's own files and never served. Rename it, or leave it out "
            "of the upload (upload_folder(..., ignore_patterns=['.*', '*/.*', '*.incomplete']))."
        )
    return path


def walk(folder: Path, *, follow_links: bool, folders: list[str] | None = None) -> list[FileStat]:
    """Every served regular file under ``folder`` (see :func:`is_served_path`), sorted.

    Links are skipped, or followed with ``follow_links`` (each real folder is walked once, so a
    link back up does not loop). ``folders``, when given, receives every folder that was read.
    """
    found: list[FileStat] = []
    pending = [(str(folder), "")]
    seen: set[str] = set()
    while pending:
        directory, prefix = pending.pop()
        if follow_links:
            real = os.path.realpath(directory)
            if real in seen:
                continue
            seen.add(real)
        try:
            entries = os.scandir(directory)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        if folders is not None:
            folders.append(directory)
        with entries:
            for entry in entries:
                relative = f"{prefix}{entry.name}"
                if entry.name.startswith("."):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=follow_links):
                        pending.append((entry.path, f"{relative}/"))
                    elif entry.is_file(follow_symlinks=follow_links) and is_served_path(relative):
                        info = entry.stat(follow_symlinks=follow_links)
                        found.append((relative, entry.path, info.st_size, info.st_mtime_ns, info.st_ino))
                except OSError:  # gone since the listing, or a dangling link
                    continue
    found.sort()
    return found


def _regular(descriptor: int, path: Path) -> int:
    if stat.S_ISREG(os.fstat(descriptor).st_mode):
        return descriptor
    os.close(descriptor)
    raise OSError(errno.EINVAL, "Not a regular file", str(path))


def _open_by_real_path(path: Path, below: Path, parts: tuple[str, ...]) -> int:
    if os.path.realpath(path) != os.path.join(os.path.realpath(below), *parts):
        raise OSError(errno.ELOOP, "Reached through a symbolic link", str(path))
    return _regular(os.open(path, _READ | _O_NOFOLLOW | _O_NONBLOCK), path)
