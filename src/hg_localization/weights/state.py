"""The record kept beside downloaded weights: what was proven, so a re-run need not hash again.

``<target>/.hg_localization_weights.json``::

    {"repo_id": "org/name", "revision": "v2.0", "commit": "<40 hex>", "complete": true,
     "files": {"model.safetensors": {"size": 123, "mtime_ns": 1700000000000000000,
                                     "sha256": "…", "git_sha1": "…" (small files only)}}}

``revision`` is what was asked for (a branch, a tag such as ``v2.0``, or a commit id) and
``commit`` where it pointed. A folder holds one repo: the record names it, so a download of
another repo into the folder is refused and every hint can name the repo and the revision.
``complete`` is true only when a download of ``commit`` finished; a failed run keeps what was
proven (so the next run does not hash it again) but never passes for a complete download. The
record is a cache, never a source of truth: when it is missing, unreadable or describes a file
whose size or mtime changed, the file is hashed again. It never holds a token.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from hg_localization.errors import InvalidInputError
from hg_localization.ids import RepoId, validate_repo_path
from hg_localization.store.atomic import atomic_write_text
from hg_localization.weights.checksums import FileSum

STATE_FILENAME = ".hg_localization_weights.json"
#: Where weights go by default: ``models/<repo name>``, relative to the working directory.
DEFAULT_TARGET_PARENT = Path("models")


@dataclass(frozen=True)
class ProvenFile:
    """What was proven about a file: its sums (size, mtime, sha256) when it was last verified, and
    the Hub's git blob id for files without an LFS sha256. The one name for this, everywhere."""

    sums: FileSum
    git_sha1: str = ""

    @classmethod
    def now(cls, path: Path, sha256: str, git_sha1: str = "") -> ProvenFile:
        """The file at ``path`` as it is now, just verified to have ``sha256``."""
        stat = path.stat()
        return cls(FileSum(stat.st_size, stat.st_mtime_ns, sha256), git_sha1)


@dataclass
class WeightsState:
    repo_id: str = ""
    commit: str = ""
    files: dict[str, ProvenFile] = field(default_factory=dict)
    #: True only when a download of ``commit`` finished: then ``files`` is the whole list.
    complete: bool = False
    #: The branch, tag or commit id the download asked for ("" in records older than this field).
    revision: str = ""

    @classmethod
    def load(cls, target: Path) -> WeightsState:
        """The record in ``target``, or an empty one when it is missing or damaged (then re-hash).

        The record is a cache of proofs, never a source of truth: a damaged one costs a re-hash,
        not a failure, so what a missing, unreadable or damaged file raises is caught here, and
        only that.
        """
        try:
            text = (target / STATE_FILENAME).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):  # missing, unreadable, or not text
            return cls()
        try:
            return cls._parse(json.loads(text))
        except ValueError:  # not JSON, not the record's shape, or a bad path (InvalidInputError)
            return cls()

    @classmethod
    def _parse(cls, data: object) -> WeightsState:
        """The record from its JSON; ValueError for anything that is not its shape."""
        record = _mapping(data)
        files = {
            validate_repo_path(path): _proven_file(entry)
            for path, entry in _mapping(record.get("files", {})).items()
        }
        return cls(
            repo_id=_text(record.get("repo_id", "")),
            commit=_text(record.get("commit", "")),
            files=files,
            complete=record.get("complete") is True,
            revision=_text(record.get("revision", "")),
        )

    def save(self, target: Path) -> bool:
        """Write the record; False when the folder is read-only (the next check re-hashes)."""
        data = {
            "repo_id": self.repo_id,
            "revision": self.revision,
            "commit": self.commit,
            "complete": self.complete,
            "files": {
                path: {
                    "size": p.sums.size,
                    "mtime_ns": p.sums.mtime_ns,
                    "sha256": p.sums.sha256,
                    **({"git_sha1": p.git_sha1} if p.git_sha1 else {}),
                }
                for path, p in sorted(self.files.items())
            },
        }
        try:
            atomic_write_text(target / STATE_FILENAME, json.dumps(data, indent=1) + "\n")
        except OSError:
            return False
        return True

    def known_sums(self) -> dict[str, FileSum]:
        return {path: proven.sums for path, proven in self.files.items()}

    def describe(self) -> str:
        """``org/name v2.0 (commit 0123456789ab)``, or as much of it as is recorded."""
        parts = [self.repo_id or "an unknown repo"]
        if self.revision and self.revision != self.commit:
            parts.append(self.revision)
        if self.commit:
            parts.append(f"(commit {self.commit[:12]})")
        return " ".join(parts)


def _proven_file(entry: object) -> ProvenFile:
    fields = _mapping(entry)
    size, mtime_ns = _integer(fields.get("size")), _integer(fields.get("mtime_ns"))
    return ProvenFile(FileSum(size, mtime_ns, _text(fields.get("sha256"))), _text(fields.get("git_sha1", "")))


def _mapping(value: object) -> dict[str, object]:
    if not isinstance(value, dict):
        raise ValueError(f"not an object: {type(value).__name__}")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"not a string: {type(value).__name__}")
    return value


def _integer(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"not an integer: {type(value).__name__}")
    return value


def download_command(target: Path, repo_id: str = "", revision: str = "") -> str:
    """The command that downloads ``repo_id`` at ``revision`` into ``target``, safe to paste in a shell."""
    words = ["hg-localization", "download-weights"]
    if repo_id:
        words += ["--repo-id", repo_id]
    if revision and revision != "main":
        words += ["--revision", revision]
    words += ["--target-dir", str(target)]
    return shlex.join(words)


def refuse_another_repo(target: Path, recorded: WeightsState, wanted: RepoId) -> None:
    """A folder holds one repo's weights: never mix another repo's files (or checksums.txt) into it."""
    if not recorded.repo_id or recorded.repo_id == str(wanted):
        return
    elsewhere = DEFAULT_TARGET_PARENT.joinpath(*wanted.folder_parts)
    raise InvalidInputError(
        f"{target} holds the weights of {recorded.describe()}, not of '{wanted}': two repos are "
        "never mixed in one folder.",
        hint=f"Download '{wanted}' into a folder of its own: {download_command(elsewhere, str(wanted))} "
        f"- or repair this one: {download_command(target, recorded.repo_id, recorded.revision)}",
    )
