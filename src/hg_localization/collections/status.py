"""What the store and the lock say of each entry of a collection (``show-collection``). No network."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hg_localization.collections.lock import read_lock_if_any
from hg_localization.collections.manifest import Collection, CollectionsManifest, Entry
from hg_localization.collections.selection import covers_entry
from hg_localization.config import HGLocalizationConfig
from hg_localization.ids import parse_repo_id
from hg_localization.usecases.repos import local_store


@dataclass(frozen=True)
class EntryState:
    collection: str
    entry: Entry
    #: The commit the lock pins (None: not locked, or locked with another selection).
    locked_commit: str | None
    #: The commit of the store's copy of the entry's revision (None: not localized).
    local_commit: str | None
    #: The store's copy has every file the entry selects.
    complete: bool
    #: The store has the locked commit (under the revision's name, or its own).
    has_locked_commit: bool

    def as_dict(self) -> dict[str, Any]:
        entry = self.entry
        return {
            "collection": self.collection,
            "repo_type": entry.repo_type,
            "repo_id": entry.repo_id,
            "revision": entry.revision,
            "selects": entry.describe_selection(),
            "full": entry.full,
            "include": list(entry.include),
            "exclude": list(entry.exclude),
            "name": entry.name,
            "line": entry.line,
            "locked_commit": self.locked_commit,
            "local_commit": self.local_commit,
            "complete": self.complete,
            "has_locked_commit": self.has_locked_commit,
        }


def collection_state(
    config: HGLocalizationConfig, manifest: CollectionsManifest, name: str
) -> list[EntryState]:
    """Each entry of the collection ``name``: what the lock pins, what the store has."""
    collection = manifest.collection(name)
    lock = read_lock_if_any(manifest.lock_path)
    states = []
    for entry in collection.entries:
        locked = lock.find(collection.name, entry) if lock is not None else None
        locked_commit = locked.commit if locked is not None and locked.matches(entry) else None
        store = local_store(config, entry.repo_type)
        repo_id = parse_repo_id(entry.repo_id)
        stored = store.get(repo_id, entry.revision)
        has_locked = locked_commit is not None and (
            (stored is not None and stored.manifest.commit == locked_commit)
            or store.find_by_commit(repo_id, locked_commit) is not None
        )
        states.append(
            EntryState(
                collection=collection.name,
                entry=entry,
                locked_commit=locked_commit,
                local_commit=stored.manifest.commit if stored is not None else None,
                complete=stored is not None and covers_entry(entry, stored),
                has_locked_commit=has_locked,
            )
        )
    return states


def collection_summary(collection: Collection) -> dict[str, Any]:
    return {
        "name": collection.name,
        "description": collection.description,
        "public": collection.public,
        "models": len(collection.of_type("model")),
        "datasets": len(collection.of_type("dataset")),
        "line": collection.line,
    }
