"""The top-level ``--help``, written from tables: no command module, no typer, no rich.

``hg-localization --help`` used to import every command module (huggingface_hub, boto3, the
server: about two seconds) only to read one line of each command's help. The panels, each
command's first help paragraph and the global options are kept here instead, and written the
way click writes them (its ``HelpFormatter``: width, two-column lists, wrapping), so what users
see is the same. A test renders the help both ways and compares them, and checks each summary
against its command's own help (tests/cli/test_top_help.py): neither can drift.

``hg-localization COMMAND --help`` still goes through typer and the command's module.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence

#: The panels of the top-level help, in order, and the commands in each, in order.
PANELS: dict[str, tuple[str, ...]] = {
    "Models": (
        "download-model",
        "list-local-models",
        "show-model-card",
        "show-model-config",
        "compare-models",
        "remove-model",
    ),
    "Datasets": ("download-dataset", "list-local-datasets", "show-dataset-card", "remove-dataset"),
    "Weights": ("download-weights", "verify-weights", "upload-weights"),
    "Bucket": (
        "sync-local-model-to-s3",
        "sync-all-local-models-to-s3",
        "list-s3-models",
        "list-public-models",
        "unpublish-model",
        "sync-local-dataset-to-s3",
        "sync-all-local-datasets-to-s3",
        "list-s3-datasets",
        "list-public-datasets",
        "unpublish-dataset",
    ),
    "Serve": ("serve",),
    "Collections": ("sync", "lock", "list-collections", "show-collection", "bundle"),
    "Store and setup": ("prune", "doctor", "demo"),
}

#: Each command's first help paragraph, as its own help says it (a test compares them).
SUMMARIES: dict[str, str] = {
    "download-model": "Localize a model: its card and config by default, every file with --full-model.",
    "list-local-models": "List the models in the local store.",
    "show-model-card": "Print a model's card (README) from the local store.",
    "show-model-config": "Print a model's config.json from the local store.",
    "compare-models": "Compare two models' configs key by key; differences are marked.",
    "remove-model": (
        "Delete a model's local revisions (one with --revision), or with --bucket its bucket copy."
    ),
    "download-dataset": (
        "Localize a dataset's files as the repo has them (every file, or one config with --name)."
    ),
    "list-local-datasets": "List the datasets in the local store.",
    "show-dataset-card": "Print a dataset's card (README.md) from the local store.",
    "remove-dataset": (
        "Delete a dataset's local revisions (one with --revision), or with --bucket its bucket copy."
    ),
    "download-weights": (
        "Download a weights repo, verified against its checksums.txt; a re-run fetches only what is missing."
    ),
    "verify-weights": (
        "Check offline that a weights folder is complete: every file its checksums.txt lists, matching."
    ),
    "upload-weights": (
        "Upload a folder of weights in one commit, with a checksums.txt written for every file."
    ),
    "sync-local-model-to-s3": (
        "Upload a localized model to the team bucket (only what the bucket does not have yet)."
    ),
    "sync-all-local-models-to-s3": (
        "Upload every localized model to the team bucket; one failure does not stop the others."
    ),
    "list-s3-models": "List the models in the team bucket (from its index).",
    "list-public-models": (
        "List the models anyone can download (reads public_models.json; no credentials needed)."
    ),
    "unpublish-model": "Withdraw a model's public copy and its public index entry (the private copy stays).",
    "sync-local-dataset-to-s3": (
        "Upload a localized dataset to the team bucket (only what the bucket does not have yet)."
    ),
    "sync-all-local-datasets-to-s3": (
        "Upload every localized dataset to the team bucket; one failure does not stop the others."
    ),
    "list-s3-datasets": "List the datasets in the team bucket (from its index).",
    "list-public-datasets": (
        "List the datasets anyone can download (reads public_datasets.json; no credentials needed)."
    ),
    "unpublish-dataset": (
        "Withdraw a dataset's public copy and its public index entry (the private copy stays)."
    ),
    "serve": "Serve the store (or --repos DIR) so that HF_ENDPOINT=http://HOST:PORT clients load from it.",
    "sync": "Localize every entry of the manifest's collections (like download-model/-dataset each).",
    "lock": "Localize every entry, then pin each one's commit and files in hg-localization.lock.",
    "list-collections": "List the manifest's collections.",
    "show-collection": (
        "Show a collection's entries: what each selects, the locked commit, what the store has."
    ),
    "bundle": (
        "Offline bundles: export collections to one verified file, import it where there is no network."
    ),
    "prune": (
        "Delete what nothing needs: revisions no branch points to, crash leftovers, empty bucket scopes."
    ),
    "doctor": (
        "Show the configuration in effect (never a secret) and check the stores, the Hub and the bucket."
    ),
    "demo": "Run the whole loop on this machine, without huggingface.co (needs the 'demo' extra).",
}

PROG = "hg-localization"
DESCRIPTION = "Bring Hugging Face Hub models, weights and datasets inside your own walls."

#: The application's own options, as click lists them (``cli/root.py`` defines them).
GLOBAL_OPTIONS: tuple[tuple[str, str], ...] = (
    ("-q, --quiet", "Only errors and results."),
    (
        "-v, --verbose",
        "More detail: -v this program's own (tracebacks included), -vv the libraries' DEBUG too.",
    ),
    ("--version", "Show the version and exit."),
    ("--help", "Show this message and exit."),
)

_INDENT = 2
#: click's ``write_dl`` defaults: the first column at most 30 wide, then 2 spaces.
_COL_MAX = 30
_COL_SPACING = 2


def help_width() -> int:
    """click's help width: the terminal's (``COLUMNS`` when set), at most 80, less 2, at least 50."""
    return max(min(shutil.get_terminal_size().columns, 80) - 2, 50)


def top_level_help(width: int | None = None) -> str:
    """``hg-localization --help`` (without its final line break), as click would write it."""
    width = help_width() if width is None else width
    lines = [*_usage(width), ""]
    lines.append(_fill(DESCRIPTION, width, " " * _INDENT))
    sections: list[tuple[str, Sequence[tuple[str, str]]]] = [("Options", GLOBAL_OPTIONS)]
    sections += [(panel, [(name, SUMMARIES[name]) for name in names]) for panel, names in PANELS.items()]
    for title, rows in sections:
        lines += ["", f"{title}:", *_definition_list(rows, width)]
    return "\n".join(lines)


def _usage(width: int) -> list[str]:
    prefix = f"Usage: {PROG} "
    indent = " " * len(prefix)
    return _fill("[OPTIONS] COMMAND [ARGS]...", width, prefix, indent).splitlines()


def _fill(text: str, width: int, initial: str, subsequent: str | None = None) -> str:
    wrapper = textwrap.TextWrapper(
        width,
        initial_indent=initial,
        subsequent_indent=initial if subsequent is None else subsequent,
        replace_whitespace=False,
    )
    return wrapper.fill(text)


def _definition_list(rows: Sequence[tuple[str, str]], width: int) -> list[str]:
    """click's ``HelpFormatter.write_dl`` at one indent level (single-paragraph texts)."""
    first_col = min(max(len(first) for first, _ in rows), _COL_MAX) + _COL_SPACING
    text_width = max(width - first_col - 2, 10)
    lines: list[str] = []
    for first, second in rows:
        wrapped = _fill(second, text_width, "").splitlines()
        if len(first) <= first_col - _COL_SPACING:
            lines.append(" " * _INDENT + first + " " * (first_col - len(first)) + wrapped[0])
        else:
            lines.append(" " * _INDENT + first)
            lines.append(" " * (first_col + _INDENT) + wrapped[0])
        lines += [" " * (first_col + _INDENT) + line for line in wrapped[1:]]
    return lines
