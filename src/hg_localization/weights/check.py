"""Check a weights folder without the network: every file its checksums.txt lists, matching.

Used by ``verify-weights``, the Docker entrypoint and ``quickstart.sh``. The folder's record
(:mod:`.state`) names the repo and revision it was downloaded from: it says what the
folder holds, refuses a check against another repo, and makes every hint a command that
re-downloads the right repo at the right revision into the right folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hg_localization.errors import NotFoundError
from hg_localization.ids import parse_repo_id
from hg_localization.weights.checksums import (
    CHECKSUMS_FILENAME,
    Checksums,
    FileSum,
    read_checksums,
    verify_folder,
)
from hg_localization.weights.state import ProvenFile, WeightsState, download_command, refuse_another_repo


@dataclass(frozen=True)
class WeightsCheck:
    target_dir: Path
    files: int
    hashed: int
    source: Literal["checksums.txt", "download record"]
    #: What the folder holds, from the record of its last finished download ("" when unknown).
    repo_id: str = ""
    revision: str = ""
    commit: str = ""


def check_weights(target_dir: Path, *, rehash: bool = False, repo_id: str | None = None) -> WeightsCheck:
    """Prove that ``target_dir`` holds complete weights: every file its checksums.txt lists, matching.

    Without a checksums.txt the record of the last download is the list. Read-only folders are
    fine (the record is then not updated and the next check hashes again). With ``repo_id``, a
    folder whose record names another repo is refused. Every hint is a command naming the repo
    and the revision the folder was downloaded from (or ``repo_id``).
    """
    state = WeightsState.load(target_dir) if target_dir.is_dir() else WeightsState()
    wanted = parse_repo_id(repo_id) if repo_id else None
    if wanted is not None:
        refuse_another_repo(target_dir, state, wanted)
    command = download_command(target_dir, state.repo_id or str(wanted or ""), state.revision)
    hint = f"Download them again: {command}"
    if not target_dir.is_dir():
        raise NotFoundError(
            f"There are no weights in {target_dir}: the folder does not exist.",
            hint=f"Download them: {command}",
        )
    listing = target_dir / CHECKSUMS_FILENAME
    source: Literal["checksums.txt", "download record"]
    if listing.exists():
        checksums = read_checksums(listing)
        source = "checksums.txt"
    elif state.complete and state.files:
        checksums = Checksums({path: proven.sums.sha256 for path, proven in state.files.items()})
        source = "download record"
    else:
        raise NotFoundError(
            f"The weights in {target_dir} cannot be verified: it has no {CHECKSUMS_FILENAME} and no "
            "record of a finished download.",
            hint=hint,
        )
    check = verify_folder(target_dir, checksums, known=state.known_sums(), rehash=rehash)
    if check.hashed:
        _remember(state, target_dir, check.proven)
    check.raise_for_problems(str(target_dir), hint=hint)
    held = state if state.complete else WeightsState()  # an unfinished download says nothing held
    return WeightsCheck(
        target_dir=target_dir,
        files=len(check.proven),
        hashed=check.hashed,
        source=source,
        repo_id=held.repo_id,
        revision=held.revision,
        commit=held.commit,
    )


def _remember(state: WeightsState, target: Path, proven: Mapping[str, FileSum]) -> None:
    for path, sums in proven.items():
        previous = state.files.get(path)
        state.files[path] = ProvenFile(sums, previous.git_sha1 if previous else "")
    state.save(target)
