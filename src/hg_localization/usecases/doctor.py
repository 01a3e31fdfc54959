"""``hg-localization doctor``: the configuration in effect, and checks that each say how to fix them.

What is shown never holds a secret: a token or a secret key is only said to be set, or not.
The checks, in order: each store is writable, its disk has room, the Hub answers, the bucket
answers with these credentials. A check that fails carries the exit code of its kind of error
(8 local files, 6 Hub, 7 bucket, 3 access refused).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import HGLocalizationError
from hg_localization.redact import url_without_userinfo

#: Below this, the free space check warns (a model's weights are often several GB).
LOW_SPACE_BYTES = 5 * 10**9

Outcome = Literal["ok", "warning", "failed", "skipped"]


@dataclass(frozen=True)
class Check:
    name: str
    outcome: Outcome
    detail: str
    fix: str | None = None
    exit_code: int = 0


@dataclass(frozen=True)
class Diagnosis:
    settings: list[tuple[str, str]]
    checks: list[Check]

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.outcome == "failed"]


def settings(config: HGLocalizationConfig) -> list[tuple[str, str]]:
    """The effective configuration, as (name, value) pairs with no secret in them."""
    bucket = config.s3_bucket_name
    return [
        ("models store", str(config.models_store_path)),
        ("datasets store", str(config.datasets_store_path)),
        ("Hub endpoint", url_without_userinfo(config.hf_endpoint)),
        ("Hub token", "set" if config.token else "not set (public repos only, or the `hf auth login` token)"),
        ("offline (HF_HUB_OFFLINE)", "yes: no network at all" if config.offline else "no"),
        ("bucket", bucket or "not configured"),
        (
            "bucket endpoint",
            url_without_userinfo(config.s3_endpoint_url) if config.s3_endpoint_url else "AWS",
        ),
        ("bucket data prefix", config.s3_data_prefix or "(none)"),
        ("bucket scope in the store", f"by_bucket/{config.bucket_id}" if config.bucket_id else "(unscoped)"),
        ("bucket access key", "set" if config.aws_access_key_id else "not set (the AWS chain is used)"),
        ("bucket secret key", "set" if config.aws_secret_access_key else "not set"),
        ("public URL", url_without_userinfo(config.public_url) if config.public_url else "not set"),
    ]


def diagnose(
    config: HGLocalizationConfig,
    *,
    free_space: Callable[[Path], int] = lambda p: shutil.disk_usage(p).free,
) -> Diagnosis:
    checks: list[Check] = []
    stores = (("models store", config.models_store_path), ("datasets store", config.datasets_store_path))
    for label, root in stores:
        checks.append(_writable(label, root))
        checks.append(_space(label, root, free_space))
    checks.append(_hub(config))
    checks.append(_bucket(config))
    return Diagnosis(settings(config), checks)


def _existing(path: Path) -> Path:
    """``path``, or its nearest folder that exists (a store is created on first use)."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def _writable(label: str, root: Path) -> Check:
    name = f"{label} writable"
    folder = _existing(root)
    fix = (
        f"Make {root} writable by this user, or point the store elsewhere "
        "(HGLOC_MODELS_STORE_PATH / HGLOC_DATASETS_STORE_PATH)."
    )
    if not folder.is_dir():
        return Check(name, "failed", f"{folder} is not a folder", fix, 8)
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".hgloc-doctor-"):
            pass
    except OSError as exc:
        return Check(
            name, "failed", f"cannot write in {folder} ({exc.strerror or type(exc).__name__})", fix, 8
        )
    where = "" if folder == root else f" (it will be created in {folder})"
    return Check(name, "ok", f"{root}{where}")


def _space(label: str, root: Path, free_space: Callable[[Path], int]) -> Check:
    name = f"{label} free space"
    try:
        free = free_space(_existing(root))
    except OSError as exc:
        return Check(name, "failed", f"cannot read the free space ({exc.strerror})", None, 8)
    if free < LOW_SPACE_BYTES:
        return Check(
            name,
            "warning",
            f"only {_gigabytes(free)} free",
            "Free some space (hg-localization prune), or put the store on a bigger disk.",
        )
    return Check(name, "ok", f"{_gigabytes(free)} free")


def _gigabytes(n_bytes: int) -> str:
    return f"{n_bytes / 10**9:.1f} GB"


def _hub(config: HGLocalizationConfig) -> Check:
    if config.offline:
        return Check("Hub reachable", "skipped", "HF_HUB_OFFLINE is set: the Hub is never contacted")
    from hg_localization.hub.probe import probe_hub

    try:
        return Check("Hub reachable", "ok", probe_hub(config.hf_endpoint, config.token))
    except HGLocalizationError as exc:
        return Check("Hub reachable", "failed", exc.message, exc.hint, exc.exit_code)


def _bucket(config: HGLocalizationConfig) -> Check:
    name = "bucket reachable"
    if not config.s3_bucket_name:
        return Check(name, "skipped", "no bucket configured (HGLOC_S3_BUCKET_NAME)")
    if config.offline:
        return Check(name, "skipped", "HF_HUB_OFFLINE is set: no network at all")
    from hg_localization.s3.bucket import Bucket

    try:
        bucket = Bucket.from_config(config)
        next(iter(bucket.list(bucket.location.keys.private.type_prefix("model"))), None)
    except HGLocalizationError as exc:
        return Check(name, "failed", exc.message, exc.hint, exc.exit_code)
    return Check(name, "ok", f"{bucket.location.describe()} can be listed with these credentials")


def exit_code(diagnosis: Diagnosis) -> int:
    """0 when no check failed; the failed checks' exit code when they agree, else 1."""
    codes = {c.exit_code or 1 for c in diagnosis.failed}
    if not codes:
        return 0
    return codes.pop() if len(codes) == 1 else 1
