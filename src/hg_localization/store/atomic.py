"""Crash-safe file writes: a temp file in the same folder, fsync, rename, fsync the folder."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a folder be opened
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; a shared store must stay readable
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(tmp).unlink()
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def link_or_copy(source: Path, target: Path) -> None:
    """Hard-link ``source`` to ``target`` (same content, no extra space), copying across devices."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def swap_in(new: Path, live: Path) -> Path | None:
    """Put the folder ``new`` where ``live`` is; return where the replaced folder now is (or None).

    Where the kernel can (Linux ``renameat2(RENAME_EXCHANGE)``) the two are exchanged in one
    step, so a reader sees the old folder or the new one, never neither. Elsewhere there is a
    short window without ``live``; the old folder is then parked under a hidden ``.old-`` name.
    """
    if not live.exists():
        os.replace(new, live)
        return None
    if _exchange(new, live):
        return new
    old = live.with_name(f".{live.name}.old-{uuid.uuid4().hex[:8]}")
    os.replace(live, old)
    os.replace(new, live)
    return old


def _exchange(first: Path, second: Path) -> bool:
    import ctypes  # here: only a swap needs it, and every command line imports this module

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    return int(renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange)) == 0
