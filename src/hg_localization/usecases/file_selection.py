"""Which files a localization selects, by the rules huggingface_hub's ``allow_patterns`` use.

A selection names the metadata files (always fetched when present), and, when ``full``, every
file or those its ``--include``/``--exclude`` patterns match. :func:`trimmed_to` applies the same
rules to a copy already in the store, for a request it covers under another revision name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from hg_localization.errors import HGLocalizationError, InvalidInputError
from hg_localization.hub.patterns import matching
from hg_localization.ids import RepoId
from hg_localization.store.manifest import RevisionManifest, Selection


class _Named(Protocol):
    @property
    def path(self) -> str: ...


F = TypeVar("F", bound=_Named)


class _Request(Protocol):
    @property
    def revision(self) -> str: ...

    @property
    def selection(self) -> Selection: ...

    @property
    def metadata_files(self) -> tuple[str, ...]: ...


def trimmed_to(manifest: RevisionManifest, request: _Request) -> RevisionManifest:
    """``manifest``'s copy as a new localization of ``request`` would make it: the files its
    selection picks, under the revision it names (a commit, where ``manifest`` names a branch)."""
    if manifest.revision == request.revision:
        return manifest
    chosen, missing = select_files(manifest.files, [request.selection], request.metadata_files)
    keep = {f.path for f in chosen}
    return manifest.replace(
        revision=request.revision,
        ref_kind=None,
        selections=[request.selection],
        files=[f for f in manifest.files if f.path in keep],
        missing=missing,
    )


def select_files(
    files: Sequence[F], selections: Sequence[Selection], metadata_files: Sequence[str]
) -> tuple[list[F], list[str]]:
    """The files the selections ask for, and the metadata files the repo does not have."""
    by_path = {f.path: f for f in files}
    chosen: dict[str, F] = {p: by_path[p] for p in metadata_files if p in by_path}
    for selection in selections:
        if not selection.full:
            continue
        matched = matching(by_path, selection.include, selection.exclude)
        chosen.update({p: by_path[p] for p in matched})
    missing = [p for p in metadata_files if p not in by_path]
    return sorted(chosen.values(), key=lambda f: f.path), missing


def patterns_match(selection: Selection, files: Sequence[_Named]) -> bool:
    """False when --include/--exclude were given and select no file at all."""
    if not selection.full or not (selection.include or selection.exclude):
        return True
    return bool(matching([f.path for f in files], selection.include, selection.exclude))


def nothing_to_fetch(repo_id: RepoId, selection: Selection, missing: list[str]) -> HGLocalizationError:
    if selection.full and (selection.include or selection.exclude):
        return InvalidInputError(
            f"No file of '{repo_id}' matches the --include/--exclude patterns.",
            hint="Check the patterns (they match whole repo paths, e.g. '*.safetensors').",
        )
    what = " and ".join(missing) or "any file"
    return InvalidInputError(
        f"'{repo_id}' has no {what}: nothing was localized.",
        hint="Use --full-model to fetch every file of the repository.",
    )
