"""--include / --exclude patterns, matched by the Hub's own rules (those ``snapshot_download``
applies), so a selection picks the same files from the Hub, the store and the bucket."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from huggingface_hub.utils import filter_repo_objects


def matching(paths: Iterable[str], include: Sequence[str], exclude: Sequence[str]) -> list[str]:
    """The ``paths`` that ``include`` selects (every one, when it is empty) and ``exclude`` does not."""
    return list(
        filter_repo_objects(
            list(paths), allow_patterns=list(include) or None, ignore_patterns=list(exclude) or None
        )
    )
