"""The one boundary with the optional ``datasets`` library (and the pyarrow under it).

``require_datasets`` imports it lazily, so nothing else of hg-localization needs it installed.
``library_errors`` translates what it raises, and only what is known:

* its own errors (``datasets.exceptions.DatasetsError``: a file that does not parse, columns
  that do not match, ``CastError``) and pyarrow's (``ArrowException``: a corrupt parquet file, a
  type parquet cannot hold) are the data's fault: :class:`InvalidInputError`, naming the dataset
  and the first cause that says something;
* an ``OSError`` (a store file gone, a full disk under the Arrow cache or the staging folder) is
  :class:`LocalFileError`;
* a ``TypeError`` only where the caller says keyword arguments came from a card (a builder
  option the builder does not have fails there, as it does in ``datasets.load_dataset``).

Anything else, out-of-memory included, is not the input's fault and propagates as it is.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Literal

import hg_localization.hub  # noqa: F401  (before `datasets` imports huggingface_hub: its defaults)
from hg_localization.errors import HGLocalizationError, InvalidInputError, LocalFileError

INSTALL_HINT = "pip install 'hg-localization[datasets]'"


def require_datasets() -> ModuleType:
    """The ``datasets`` package, or an error that says how to install it."""
    try:
        return importlib.import_module("datasets")
    except ImportError as exc:
        raise InvalidInputError(
            "This needs the optional 'datasets' package, which is not installed.",
            hint=f"Install it with: {INSTALL_HINT}",
        ) from exc


@contextmanager
def library_errors(
    dataset_id: str,
    config_name: str,
    action: Literal["load", "save"],
    *,
    options_from_card: bool = False,
) -> Iterator[None]:
    """Translate the errors of the ``datasets`` calls in the block (see the module docstring).

    Call it only once :func:`require_datasets` has succeeded: it imports the library's error types.
    """
    data_errors = _data_error_types(options_from_card)
    try:
        yield
    except HGLocalizationError:
        raise
    except MemoryError:
        raise  # pyarrow's ArrowMemoryError is one too: not the data's fault
    except OSError as exc:
        raise LocalFileError.from_os_error(exc, action="read" if action == "load" else "write") from exc
    except data_errors as exc:
        where = "from the local store" if action == "load" else "into the local store"
        raise InvalidInputError(
            f"'datasets' could not {action} config '{config_name}' of '{dataset_id}' {where}: "
            f"{_describe(exc)}"
        ) from exc


def _data_error_types(options_from_card: bool) -> tuple[type[Exception], ...]:
    known: tuple[type[Exception], ...] = (
        importlib.import_module("datasets.exceptions").DatasetsError,
        importlib.import_module("datasets.table").CastError,
        importlib.import_module("pyarrow").ArrowException,
    )
    return (*known, TypeError) if options_from_card else known


def _describe(exc: BaseException) -> str:
    """``Type: first line`` of the exception, or of its cause when it only says "an error occurred"
    (``DatasetGenerationError`` wraps the parser's error)."""
    shown = exc.__cause__ if exc.__cause__ is not None else exc
    text = str(shown).strip()
    return f"{type(shown).__name__}: {text.splitlines()[0] if text else ''}"
