"""The bucket side of store management: withdraw a public copy, or delete a bucket copy.

Both act on one revision of the configured bucket (credentials that may delete), in the order
:mod:`hg_localization.s3.withdraw` draws; an unpublish also records ``public: false`` in the
local copies, so that the listing and a later sync tell the truth.
"""

from __future__ import annotations

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import NotFoundError
from hg_localization.ids import RepoType, parse_repo_id, validate_revision
from hg_localization.s3.bucket import Bucket
from hg_localization.s3.client import bucket_location
from hg_localization.s3.withdraw import Withdrawn, delete_revision, unpublish_revision
from hg_localization.usecases.housekeeping import mark_private_locally

DEFAULT_REVISION = "main"


def _bucket(config: HGLocalizationConfig) -> Bucket:
    bucket_location(config)  # raises, saying what to set, when no bucket is configured
    return Bucket.from_config(config)


def unpublish(
    config: HGLocalizationConfig, repo_type: RepoType, repo_id: str, revision: str | None = None
) -> Withdrawn:
    """Withdraw the public copy of ``repo_id``@``revision`` and its public index entry."""
    parsed = parse_repo_id(repo_id)
    wanted = validate_revision(revision or DEFAULT_REVISION)
    withdrawn = unpublish_revision(_bucket(config), repo_type, parsed, wanted)
    mark_private_locally(config, repo_type, parsed, wanted)
    if not withdrawn.objects_deleted and not withdrawn.was_listed:
        raise NotFoundError(
            f"The {repo_type} '{parsed}' (revision '{wanted}') has no public copy in {withdrawn.location}.",
            hint=f"See what is public with: hg-localization list-public-{repo_type}s",
        )
    return withdrawn


def remove_from_bucket(
    config: HGLocalizationConfig, repo_type: RepoType, repo_id: str, revision: str | None = None
) -> Withdrawn:
    """Delete the bucket's copy of ``repo_id``@``revision`` (its public copy and entries too)."""
    parsed = parse_repo_id(repo_id)
    wanted = validate_revision(revision or DEFAULT_REVISION)
    withdrawn = delete_revision(_bucket(config), repo_type, parsed, wanted)
    mark_private_locally(config, repo_type, parsed, wanted)
    if not withdrawn.objects_deleted:
        raise NotFoundError(
            f"The {repo_type} '{parsed}' (revision '{wanted}') is not in {withdrawn.location}.",
            hint=f"See what the bucket holds with: hg-localization list-s3-{repo_type}s",
        )
    return withdrawn
