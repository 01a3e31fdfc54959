"""Sizes as a person reads them: ``512 B``, ``1.5 MB`` (powers of 1000, like the Hub's pages)."""

from __future__ import annotations


def human_size(n_bytes: int) -> str:
    size = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n_bytes} B"  # pragma: no cover
