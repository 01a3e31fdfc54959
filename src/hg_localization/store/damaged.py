"""A revision folder whose metadata file is there but cannot be trusted, and the error that says so.

A metadata file can be damaged on disk (a bad sector, a half-copied backup, a hand edit): not
UTF-8, not JSON, nested too deeply, values of the wrong type, a commit that is not 40-hex, or a
description of another repo or revision than its folder. Such a folder is not a revision: nothing
reads its files. But it is not hidden either: listings show it as damaged, with how to repair it,
and the next localization of that id and revision replaces the folder with a good one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hg_localization.errors import NotFoundError, NotLocalizedError
from hg_localization.ids import RepoType


@dataclass(frozen=True)
class DamagedRevision:
    """A revision folder (named ``repo_id``/``revision`` by its place) whose metadata file is unusable."""

    path: Path
    repo_type: RepoType
    repo_id: str
    revision: str
    #: What is wrong with its metadata file, in words.
    reason: str

    @property
    def repair_command(self) -> str:
        """The command that replaces the folder with a good copy."""
        return f"hg-localization download-{self.repo_type} {self.repo_id} --revision {self.revision}"

    @property
    def hint(self) -> str:
        extra = " (add --full-model if it held every file)" if self.repo_type == "model" else ""
        return f"The next download of it replaces it: {self.repair_command}{extra}"

    def error(self) -> DamagedRevisionError:
        return DamagedRevisionError(self)


class DamagedRevisionError(NotLocalizedError):
    """The local copy asked for is damaged: as good as not localized (callers that fall back to the
    Hub when a copy is missing do so here too), but the message says why and how to repair it."""

    def __init__(self, damaged: DamagedRevision) -> None:
        NotFoundError.__init__(
            self,
            f"The local copy of {damaged.repo_type} '{damaged.repo_id}' (revision '{damaged.revision}') "
            f"is damaged and was not used: {damaged.reason}",
            hint=damaged.hint,
        )
        self.repo_id = damaged.repo_id
        self.damaged = damaged
