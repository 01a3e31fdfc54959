"""The minimal model card ``upload-weights`` adds when the folder to upload has no README.md.

::

    ---
    license: other        # a placeholder, said so in a comment: the Hub accepts "other"
    tags: [hg-localization]
    ---
    # <repo name>
    ## Files              a table: path, size, sha256 (the same sums as checksums.txt)
    ## Download           with hg-localization (verified) and with `hf download`

Pure: the caller decides when to render it (a preview before hashing, the real one after).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence

from hg_localization.config import DEFAULT_HF_ENDPOINT
from hg_localization.ids import RepoId
from hg_localization.store.layout import CARD_FILENAME as CARD_FILENAME
from hg_localization.weights.checksums import CHECKSUMS_FILENAME

LICENSE_PLACEHOLDER = "other"
#: What the sha256 column shows before the files are hashed (the confirmation's preview).
NOT_HASHED_YET = "(computed when uploading)"


def model_card(
    repo_id: RepoId,
    files: Sequence[tuple[str, int]],
    sha256: Mapping[str, str] | None = None,
    *,
    revision: str | None = None,
    endpoint: str = DEFAULT_HF_ENDPOINT,
) -> str:
    """The card's text: ``files`` are (path, size); ``sha256`` by path (None for a preview)."""
    name = repo_id.name
    rows = "\n".join(
        f"| {_cell(path)} | {_size(size)} | {_code(sha256[path]) if sha256 else NOT_HASHED_YET} |"
        for path, size in files
    )
    return "\n".join(
        [
            "---",
            f"license: {LICENSE_PLACEHOLDER}  # a placeholder: set the license of these weights",
            "tags:",
            "- hg-localization",
            "---",
            "",
            f"# {name}",
            "",
            f"Model weights, uploaded with hg-localization. `{CHECKSUMS_FILENAME}` lists the sha256 of every",
            f"file below (`sha256sum -c {CHECKSUMS_FILENAME}` checks a copy).",
            "",
            "## Files",
            "",
            "| File | Size | sha256 |",
            "|---|---:|---|",
            rows,
            "",
            "## Download",
            "",
            "With hg-localization, every file verified against `checksums.txt`:",
            "",
            "```bash",
            _command(["hg-localization", "download-weights", "--repo-id", str(repo_id)], revision, endpoint),
            "```",
            "",
            "With the Hugging Face CLI:",
            "",
            "```bash",
            _command(["hf", "download", str(repo_id), "--local-dir", name], revision, endpoint),
            "```",
            "",
        ]
    )


def _command(words: list[str], revision: str | None, endpoint: str) -> str:
    if revision:
        words = [*words, "--revision", revision]
    prefix = "" if endpoint.rstrip("/") == DEFAULT_HF_ENDPOINT else f"HF_ENDPOINT={shlex.quote(endpoint)} "
    return prefix + shlex.join(words)


def _size(size: int) -> str:
    """``300.0 KB (300,000 bytes)``: readable, and exact."""
    if size < 1000:
        return f"{size} B"
    value, shown = float(size), ""
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1000
        shown = f"{value:.1f} {unit}"
        if value < 1000:
            break
    return f"{shown} ({size:,} bytes)"


def _cell(path: str) -> str:
    """A file name in a table cell: as code, with ``|`` escaped (a name may hold either)."""
    escaped = path.replace("|", "\\|")
    return escaped if "`" in path else f"`{escaped}`"


def _code(text: str) -> str:
    return f"`{text}`"
