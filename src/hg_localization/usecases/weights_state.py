"""The record kept beside downloaded weights: what was proven, so a re-run need not hash again.

``<target>/.hg_localization_weights.json``::

    {"repo_id": "org/name", "revision": "v2.0", "commit": "<40 hex>", "complete": true,
     "files": {"model.safetensors": {"size": 123, "mtime_ns": 1700000000000000000,
                                     "sha256": "…", "git_sha1": "…" (small files only)}}}

``revision`` is what was asked for (a branch, a tag such as ``v2.0``, or a commit id) and
``commit`` where it pointed. A folder holds one repo: the record names it, so a download of
another repo into the folder is refused and every hint can name the repo and the revision.
``complete`` is true only when a download of ``commit`` finished; a failed run keeps what it
proved (so the next run does not hash it again) but never passes for a complete download. The
record is a cache, never a source of truth: when it is missing, unreadable or describes a file
whose size or mtime changed, the file is hashed again. It never holds a token.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from hg_localization.errors import HGLocalizationError, InvalidInputError
from hg_localization.ids import RepoId, validate_repo_path
from hg_localization.integrity.checksums import FileSum
from hg_localization.store.atomic import atomic_write_text

STATE_FILENAME = ".hg_localization_weights.json"
#: Where weights go by default: ``models/<repo name>``, relative to the working directory.
DEFAULT_TARGET_PARENT = Path("models")


@dataclass(frozen=True)
class Proven:
    """A file's sums as last proven, and the Hub's git blob id for files without an LFS sha256."""

    sums: FileSum
    git_sha1: str = ""


@dataclass
class WeightsState:
    repo_id: str = ""
    commit: str = ""
    files: dict[str, Proven] = field(default_factory=dict)
    #: True only when a download of ``commit`` finished: then ``files`` is the whole list.
    complete: bool = False
    #: The branch, tag or commit id the download asked for ("" in records older than this field).
    revision: str = ""

    @classmethod
    def load(cls, target: Path) -> WeightsState:
        """The record in ``target``, or an empty one when it is missing or unreadable (then re-hash)."""
        try:
            data = json.loads((target / STATE_FILENAME).read_text(encoding="utf-8"))
            files = {
                validate_repo_path(path): Proven(
                    FileSum(int(entry["size"]), int(entry["mtime_ns"]), str(entry["sha256"])),
                    str(entry.get("git_sha1", "")),
                )
                for path, entry in data.get("files", {}).items()
            }
            return cls(
                repo_id=str(data.get("repo_id", "")),
                commit=str(data.get("commit", "")),
                files=files,
                complete=data.get("complete") is True,
                revision=str(data.get("revision", "")),
            )
        except (OSError, ValueError, TypeError, KeyError, AttributeError, HGLocalizationError):
            return cls()

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
