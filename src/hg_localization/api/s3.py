"""Team-bucket functions of the Python API.

The ``sync_*`` functions follow the API's rule: they never raise for an expected failure and
return ``(success, message)`` (one per revision for the sync of everything). The ``list_*``
functions raise :class:`hg_localization.HGLocalizationError` (a ``StorageError`` when the
bucket or the public URL cannot be read): an empty list would claim the bucket is empty.
"""

from __future__ import annotations

from typing import Any

from hg_localization.api.outcomes import EXPECTED, attempt, message_of, redacted_errors
from hg_localization.config import HGLocalizationConfig, load_config
from hg_localization.redact import redact
from hg_localization.s3.catalog import IndexEntry
from hg_localization.s3.push import PushReport
from hg_localization.usecases import s3_sync


def sync_local_model_to_s3(
    model_id: str,
    revision: str | None = None,
    make_public: bool = False,
    config: HGLocalizationConfig | None = None,
    *,
    allow_private_public: bool = False,
) -> tuple[bool, str]:
    """Upload a localized model revision to the team bucket (only what the bucket lacks).

    With ``make_public`` it also becomes readable without credentials and is listed in
    ``public_models.json`` (a private or gated upstream repo only with ``allow_private_public``).
    Returns ``(True, summary)`` or ``(False, what_went_wrong)``.
    """
    return attempt(
        lambda: s3_sync.sync_local_repo(
            load_config(config),
            "model",
            model_id,
            revision,
            make_public=make_public,
            allow_private_public=allow_private_public,
        ),
        describe_push,
    )


def sync_all_local_models_to_s3(
    make_public: bool = False,
    config: HGLocalizationConfig | None = None,
    *,
    allow_private_public: bool = False,
) -> list[dict[str, Any]]:
    """Upload every localized model revision; one dict per revision (``model_id``, ``revision``,
    ``ok``, ``message``). An empty store gives an empty list; a configuration error, one failed entry.
    With ``make_public``, a private or gated upstream revision is a failed entry unless
    ``allow_private_public``.
    """
    try:
        results = s3_sync.sync_all_local(
            load_config(config), "model", make_public=make_public, allow_private_public=allow_private_public
        )
    except EXPECTED as exc:
        return [{"model_id": None, "revision": None, "ok": False, "message": message_of(exc)}]
    return [
        {
            "model_id": result.repo_id,
            "revision": result.revision,
            "ok": result.ok,
            "message": _message(result),
        }
        for result in results
    ]


def _message(result: s3_sync.SyncResult) -> str:
    if result.report is not None:
        return redact(describe_push(result.report))
    return message_of(result.error) if result.error is not None else ""


def list_s3_models(config: HGLocalizationConfig | None = None) -> list[dict[str, Any]]:
    """Every model revision in the team bucket's index (``model_id``, ``revision``, ``commit``,
    ``files``, ``size``, ``full``, ``is_public``, ``fetched_at``)."""
    with redacted_errors():
        listing = s3_sync.list_bucket_repos(load_config(config), "model")
    return [_model_dict(entry) for entry in listing.entries]


def list_public_models(
    public_url: str | None = None, config: HGLocalizationConfig | None = None
) -> list[dict[str, Any]]:
    """The public index (``public_models.json``), read with no credentials at all."""
    with redacted_errors():
        entries = s3_sync.list_public_repos(load_config(config), "model", public_url)
    return [_model_dict(entry) for entry in entries]


def describe_push(report: PushReport) -> str:
    what = f"{report.repo_id} ({report.revision} @ {report.commit[:12]})"
    if report.uploaded_files:
        text = (
            f"Synced {what} to {report.location}: {report.uploaded_files} files uploaded, "
            f"{report.skipped_files} already there."
        )
    else:
        text = f"{what} is already in {report.location}; nothing to upload."
    if report.public_url:
        text += f" Public at {report.public_url}."
    return text


def _model_dict(entry: IndexEntry) -> dict[str, Any]:
    data = entry.as_dict()
    return {
        "model_id": data.pop("repo_id"),
        "revision": data.pop("revision"),
        "commit": data.pop("commit"),
        "files": data.pop("files"),
        "size": data.pop("size"),
        "full": data.pop("full"),
        "is_public": data.pop("public"),
        "fetched_at": data.pop("fetched_at"),
    }
