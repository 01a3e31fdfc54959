"""Running the ``hg-localization`` command in tests: in this process, configured the way a person
configures it (``HGLOC_*`` variables), or as an executable on PATH for shell scripts."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from hg_localization.cli import main
from hg_localization.config import HGLocalizationConfig

#: A prepared ``run``: ``cli(*args)`` gives the exit code, stdout and stderr.
CliRun = Callable[..., tuple[int, str, str]]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``hg-localization ARGS`` in this process: the exit code, stdout and stderr."""
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def use_in_cli(monkeypatch: pytest.MonkeyPatch, config: HGLocalizationConfig) -> None:
    """Give the CLI ``config`` the way a person does: HGLOC_* variables (the fields that are set)."""
    secret = config.aws_secret_access_key.get_secret_value() if config.aws_secret_access_key else ""
    values = {
        "HGLOC_MODELS_STORE_PATH": str(config.models_store_path),
        "HGLOC_DATASETS_STORE_PATH": str(config.datasets_store_path),
        "HGLOC_HF_ENDPOINT": config.hf_endpoint,
        "HGLOC_S3_BUCKET_NAME": config.s3_bucket_name or "",
        "HGLOC_S3_ENDPOINT_URL": config.s3_endpoint_url or "",
        "HGLOC_S3_DATA_PREFIX": config.s3_data_prefix,
        "HGLOC_AWS_ACCESS_KEY_ID": config.aws_access_key_id or "",
        "HGLOC_AWS_SECRET_ACCESS_KEY": secret,
        "HGLOC_PUBLIC_URL": config.public_url or "",
    }
    for name, value in values.items():
        if value:
            monkeypatch.setenv(name, value)


def write_cli_shim(bin_folder: Path) -> Path:
    """``bin_folder/hg-localization``: this interpreter's CLI, as an executable a script can call."""
    bin_folder.mkdir(parents=True, exist_ok=True)
    shim = bin_folder / "hg-localization"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m hg_localization.cli "$@"\n')
    shim.chmod(0o755)
    return shim
