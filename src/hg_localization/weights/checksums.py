"""``checksums.txt`` in ``sha256sum`` format: parse and format it (pure), read it, verify a folder.

Accepted lines, as ``sha256sum`` writes them and people edit them::

    # a comment                                   comments and blank lines are ignored
    9f86d0…0a08  config.json                       text mode: two spaces, then the name
    9f86d0…0a08 *sub dir/model weights.bin         binary mode: a space and '*'; spaces in names kept
    \\9f86d0…0a08  odd\\\\name                       GNU escaping: read, then refused (see below)
    SHA256 (tokenizer.json) = 9f86d0…0a08          BSD style (``sha256sum --tag``)

Names are repository paths (``sub/dir/file``; a leading ``./`` is dropped), validated like
every path from outside: no absolute paths, no ``..``, no backslashes or control characters (a
GNU-escaped name is understood, then refused by name). Anything else on a line, a hash that is
not 64 hex digits, or one name listed with two different sums makes the whole file malformed:
a checksums file is never half-trusted.

Only weights use it (``download-weights``, ``verify-weights``, ``upload-weights``). Writing the
file is the caller's (``upload-weights`` writes it atomically, with the store's writer).

Verification keeps what it has already proven: a :class:`FileSum` (size, mtime, sha256) per
file lets the next run skip re-hashing files that have not changed since.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from hg_localization.errors import HGLocalizationError, IntegrityError
from hg_localization.ids import validate_repo_path
from hg_localization.integrity.hashing import StreamHasher, read_chunks

CHECKSUMS_FILENAME = "checksums.txt"

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_GNU_LINE = re.compile(r"^(?P<hash>[0-9a-fA-F]{64}) (?P<mode>[ *])(?P<name>.+)$")
_BSD_LINE = re.compile(r"^SHA256 \((?P<name>.+)\) = (?P<hash>[0-9a-fA-F]{64})$")

#: Receives the number of bytes just read.
ProgressFn = Callable[[int], None]


# --- errors ------------------------------------------------------------------------------------


class ChecksumsFileError(IntegrityError):
    """``checksums.txt`` cannot be read or is not in ``sha256sum`` format; nothing was trusted."""

    def __init__(self, source: str, problem: str) -> None:
        HGLocalizationError.__init__(
            self,
            f"{source} is not a valid checksums file: {problem}",
            hint="Regenerate it with `sha256sum FILES > checksums.txt` (or upload-weights, which writes it).",
        )
        self.path = source
        self.expected = "sha256sum format"
        self.actual = problem


class MissingFilesError(IntegrityError):
    """Files listed in ``checksums.txt`` are not there."""

    def __init__(self, paths: Iterable[str], where: str, *, hint: str | None = None) -> None:
        missing = sorted(paths)
        shown = ", ".join(f"'{p}'" for p in missing[:10]) + (" …" if len(missing) > 10 else "")
        HGLocalizationError.__init__(
            self,
            f"{len(missing)} file(s) listed in {CHECKSUMS_FILENAME} are missing from {where}: {shown}",
            hint=hint or "The weights are incomplete: download them again, or fix checksums.txt.",
        )
        self.path = missing[0] if missing else ""
        self.expected = "present"
        self.actual = "missing"
        self.missing = tuple(missing)


class ChecksumMismatchError(IntegrityError):
    """Files on disk do not match ``checksums.txt`` (the first is named, the count is given)."""

    def __init__(
        self, path: str, expected: str, actual: str, *, count: int = 1, hint: str | None = None
    ) -> None:
        more = f" ({count - 1} more file(s) do not match either)" if count > 1 else ""
        HGLocalizationError.__init__(
            self,
            f"Checksum mismatch for '{path}': expected sha256 {expected}, got {actual}{more}.",
            hint=hint or "The file is corrupt or was changed: download it again.",
        )
        self.path = path
        self.expected = expected
        self.actual = actual


# --- pure: parse and format ----------------------------------------------------------------------


@dataclass(frozen=True)
class Checksums:
    """The sha256 of each listed path (lowercase hex), in file order."""

    sums: Mapping[str, str] = field(default_factory=dict)

    def __iter__(self) -> Iterator[str]:
        return iter(self.sums)

    def __len__(self) -> int:
        return len(self.sums)

    def get(self, path: str) -> str | None:
        return self.sums.get(path)


def parse_checksums(text: str, *, source: str = CHECKSUMS_FILENAME) -> Checksums:
    """Parse ``sha256sum`` output; raise :class:`ChecksumsFileError` on any line it cannot trust."""
    sums: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        digest, name = _parse_line(line, source, number)
        path = _repo_path(name, source, number)
        previous = sums.get(path)
        if previous is not None and previous != digest:
            raise ChecksumsFileError(source, f"line {number}: '{path}' is listed twice with different sums")
        sums[path] = digest
    if not sums:
        raise ChecksumsFileError(source, "it lists no files")
    return Checksums(sums)


def format_checksums(sums: Mapping[str, str]) -> str:
    """Text-mode ``sha256sum`` lines sorted by path, as ``sha256sum -c`` and :func:`parse_checksums` read."""
    lines = []
    for path in sorted(sums):
        digest = sums[path].lower()
        if not _HEX64.match(digest):
            raise ValueError(f"not a sha256: {digest!r}")
        lines.append(f"{digest}  {validate_repo_path(path)}")  # no '\\' or newline: no escaping
    return "".join(f"{line}\n" for line in lines)


def _parse_line(line: str, source: str, number: int) -> tuple[str, str]:
    escaped = line.startswith("\\")
    body = line[1:] if escaped else line
    match = _GNU_LINE.match(body) or _BSD_LINE.match(body)
    if match is None:
        shown = line if len(line) <= 80 else f"{line[:77]}..."
        raise ChecksumsFileError(source, f"line {number} is not 'SHA256  name': {shown!r}")
    name = match.group("name")
    if escaped:
        name = _unescape(name, source, number)
    return match.group("hash").lower(), name


def _unescape(name: str, source: str, number: int) -> str:
    out: list[str] = []
    chars = iter(name)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        following = next(chars, "")
        if following == "\\":
            out.append("\\")
        elif following == "n":
            out.append("\n")
        else:
            raise ChecksumsFileError(source, f"line {number} has an unknown escape '\\{following}'")
    return "".join(out)


def _repo_path(name: str, source: str, number: int) -> str:
    path = name[2:] if name.startswith("./") else name
    try:
        return validate_repo_path(path)
    except HGLocalizationError as exc:
        raise ChecksumsFileError(source, f"line {number}: {exc.message}") from None


# --- I/O: read, verify ---------------------------------------------------------------------------


def read_checksums(path: Path, *, source: str | None = None) -> Checksums:
    """Read and parse a checksums file; unreadable or non-UTF-8 is as bad as malformed."""
    label = source or str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ChecksumsFileError(label, f"it cannot be read ({exc.strerror or exc})") from exc
    return parse_checksums_bytes(data, source=label)


def parse_checksums_bytes(data: bytes, *, source: str = CHECKSUMS_FILENAME) -> Checksums:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ChecksumsFileError(source, "it is not UTF-8 text") from None
    return parse_checksums(text, source=source)


@dataclass(frozen=True)
class FileSum:
    """A file's sha256 as proven at a given size and modification time."""

    size: int
    mtime_ns: int
    sha256: str

    def still_describes(self, path: Path) -> bool:
        """True when the file on disk has the same size and mtime as when it was hashed."""
        try:
            stat = path.stat()
        except OSError:
            return False
        return stat.st_size == self.size and stat.st_mtime_ns == self.mtime_ns


@dataclass(frozen=True)
class Mismatch:
    path: str
    expected: str
    actual: str


@dataclass(frozen=True)
class FolderCheck:
    """What :func:`verify_folder` found: proven files, missing ones, and ones that do not match."""

    proven: dict[str, FileSum]
    missing: tuple[str, ...]
    mismatched: tuple[Mismatch, ...]
    hashed: int

    @property
    def ok(self) -> bool:
        return not self.missing and not self.mismatched

    def raise_for_problems(self, where: str, *, hint: str | None = None) -> None:
        if self.missing:
            raise MissingFilesError(self.missing, where, hint=hint)
        if self.mismatched:
            first = self.mismatched[0]
            raise ChecksumMismatchError(
                first.path, first.expected, first.actual, count=len(self.mismatched), hint=hint
            )


def sum_file(path: Path, on_progress: ProgressFn | None = None) -> FileSum:
    """Hash a file once and remember the size and mtime it had (read before, checked after)."""
    before = path.stat()
    hasher = StreamHasher()
    with path.open("rb") as handle:
        for chunk in read_chunks(handle):
            hasher.update(chunk)
            if on_progress is not None:
                on_progress(len(chunk))
    after = path.stat()
    mtime = after.st_mtime_ns if after.st_mtime_ns == before.st_mtime_ns else -1  # changed while read
    return FileSum(size=hasher.size, mtime_ns=mtime, sha256=hasher.digest().sha256)


def verify_folder(
    folder: Path,
    checksums: Checksums,
    *,
    known: Mapping[str, FileSum] | None = None,
    rehash: bool = False,
    skip: Iterable[str] = (CHECKSUMS_FILENAME,),
) -> FolderCheck:
    """Check every listed file in ``folder``; files ``known`` unchanged since hashed are not re-read.

    The files to hash are hashed on every core at once (hashlib lets go of the GIL while it hashes).
    """
    known = known or {}
    skipped = set(skip)
    proven: dict[str, FileSum] = {}
    missing: list[str] = []
    to_hash: list[tuple[str, Path]] = []
    for path, expected in checksums.sums.items():
        if path in skipped:
            continue
        disk_path = folder / path
        if not disk_path.is_file():
            missing.append(path)
            continue
        remembered = known.get(path)
        unchanged = remembered is not None and remembered.still_describes(disk_path)
        if not rehash and remembered is not None and unchanged and remembered.sha256 == expected:
            proven[path] = remembered
            continue
        to_hash.append((path, disk_path))
    mismatched: list[Mismatch] = []
    for (path, _), found in zip(to_hash, _sum_files([p for _, p in to_hash]), strict=True):
        expected = checksums.sums[path]
        if found.sha256 == expected:
            proven[path] = found
        else:
            mismatched.append(Mismatch(path, expected, found.sha256))
    hashed = len(to_hash)
    return FolderCheck(proven=proven, missing=tuple(missing), mismatched=tuple(mismatched), hashed=hashed)


def _sum_files(paths: list[Path]) -> list[FileSum]:
    """:func:`sum_file` of each path, in order, with one thread per core.

    The biggest files are started first: a big file left for last would hash on one core
    while the others wait (a 10 GB shard after a hundred small files).
    """
    workers = min(len(paths), os.cpu_count() or 1)
    if workers <= 1:
        return [sum_file(path) for path in paths]
    order = sorted(range(len(paths)), key=lambda index: -_size_or_zero(paths[index]))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hgloc-verify") as pool:
        futures = {index: pool.submit(sum_file, paths[index]) for index in order}
        return [futures[index].result() for index in range(len(paths))]


def _size_or_zero(path: Path) -> int:
    """The size to schedule by; a file that cannot be read fails in :func:`sum_file`, as before."""
    try:
        return path.stat().st_size
    except OSError:
        return 0
