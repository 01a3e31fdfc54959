"""The revision metadata file (``.hg_localization_bucket_metadata.json``), (de)serialised.

It is the proof that a revision folder (or a bucket prefix) is complete, and the record of
what is in it: each file's repo path, stored path, size, sha256 and git blob id. It never holds
a token or any other secret.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from hg_localization.errors import InvalidInputError
from hg_localization.ids import RepoType, validate_repo_path

MANIFEST_FORMAT = 1


class Selection(BaseModel):
    """What a localization asked for: the card and config only, or (filtered) every file."""

    full: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    config_name: str | None = None

    def covers(self, other: Selection) -> bool:
        """True when every file ``other`` selects is also selected by ``self``."""
        if self == other:
            return True
        if not other.full and other.config_name is None:
            return True  # metadata files are part of every selection
        return self.full and not self.include and not self.exclude and self.config_name is None


class FileRecord(BaseModel):
    path: str  # the path in the repository
    local_path: str  # the path in the revision folder
    size: int
    sha256: str
    git_sha1: str
    lfs: bool = False


class RevisionManifest(BaseModel):
    format: int = MANIFEST_FORMAT
    repo_id: str
    repo_type: RepoType
    revision: str
    commit: str
    selections: list[Selection] = Field(default_factory=list)
    files: list[FileRecord] = Field(default_factory=list)
    #: Metadata files that were asked for but that the repository does not have.
    missing: list[str] = Field(default_factory=list)
    fetched_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    source: Literal["hub", "bucket", "upload"] = "hub"
    source_url: str | None = None
    public: bool = False
    #: The upstream repo is private or gated: the store's server serves it only with a token.
    private: bool = False
    card_data: dict[str, object] = Field(default_factory=dict)

    @property
    def full(self) -> bool:
        return any(s.full for s in self.selections)

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    def covers(self, selection: Selection) -> bool:
        return any(s.covers(selection) for s in self.selections)

    def file(self, path: str) -> FileRecord | None:
        return next((f for f in self.files if f.path == path), None)

    def local_file(self, local_path: str) -> FileRecord | None:
        return next((f for f in self.files if f.local_path == local_path), None)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str | bytes, *, where: str = "metadata file") -> RevisionManifest:
        try:
            manifest = cls.model_validate(json.loads(text))
        except (ValueError, ValidationError) as exc:
            raise InvalidInputError(f"The {where} is not valid: {_short(exc)}") from exc
        for record in manifest.files:  # a manifest from a bucket is outside input: check its paths
            validate_repo_path(record.path)
            validate_repo_path(record.local_path)
        return manifest


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()
    return text[0] if text else type(exc).__name__
