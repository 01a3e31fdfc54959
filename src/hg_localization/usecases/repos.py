"""What the model and dataset use cases share, whatever the repo type.

Models and datasets are stored, fetched and shared the same way; only what is selected and how
it is described differ (:mod:`.models`, :mod:`.datasets`). Here: which local store, Hub client
and team cache a configuration means, which local revision a name without a revision means,
reading one file from the Hub, and whether a request to make something public can be honoured.
"""

from __future__ import annotations

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import InvalidInputError, NotLocalizedError
from hg_localization.hub.client import HubClient
from hg_localization.ids import RepoType, parse_repo_id, validate_revision
from hg_localization.store.damaged import DamagedRevision
from hg_localization.store.local_store import LocalStore, StoredRevision
from hg_localization.usecases.localize import TeamCache

DEFAULT_REVISION = "main"


def local_store(config: HGLocalizationConfig, repo_type: RepoType) -> LocalStore:
    """The store folder of this repo type, scoped to the configured bucket (if any)."""
    root = config.models_store_path if repo_type == "model" else config.datasets_store_path
    return LocalStore(root, repo_type, config.bucket_id)


def hub_client(config: HGLocalizationConfig) -> HubClient:
    return HubClient(config.hf_endpoint, config.token, timeout=config.download_timeout)


def team_cache(config: HGLocalizationConfig) -> TeamCache | None:
    """The configured bucket as a team cache, or None without one."""
    if not config.s3_bucket_name and not config.public_url:
        return None
    # Imported here: boto3 is only loaded when a bucket is configured.
    from hg_localization.s3.team_cache import open_team_cache

    return open_team_cache(config)


def check_make_public(
    config: HGLocalizationConfig, *, make_public: bool, push: bool, allow_private_public: bool = False
) -> None:
    """Refuse a request to share that could not be honoured, before anything is fetched.

    Without this, the download would go ahead and only the push at the end would fail (or,
    with nothing to push to, make-public would be silently ignored). Whether the revision may be
    made public at all (a private or gated upstream repo may not, unless ``allow_private_public``)
    is decided where it is made public: :func:`hg_localization.s3.public.check_may_publish`.
    """
    if allow_private_public and not make_public:
        raise InvalidInputError(
            "--allow-private-public only applies with --make-public.",
            hint="Add --make-public to publish, or drop --allow-private-public.",
        )
    if not make_public:
        return
    if not push:
        raise InvalidInputError("--make-public and --no-s3-upload contradict each other: choose one.")
    if config.s3_bucket_name:
        return
    if config.public_url:
        raise InvalidInputError(
            "Only a public URL is configured: --make-public needs a team bucket to write to.",
            hint="Set HGLOC_S3_BUCKET_NAME and credentials that may write to the bucket, "
            "or drop --make-public.",
        )
    raise InvalidInputError(
        "--make-public needs a team bucket, and none is configured.",
        hint="Set HGLOC_S3_BUCKET_NAME (and its endpoint and credentials), or drop --make-public.",
    )


def local_revisions(config: HGLocalizationConfig, repo_type: RepoType) -> list[StoredRevision]:
    """Every complete revision of this repo type in the local store, by id, then revision."""
    revisions = local_store(config, repo_type).iter_revisions()
    return sorted(revisions, key=lambda s: (s.manifest.repo_id, s.manifest.revision))


def find_local_revision(
    config: HGLocalizationConfig, repo_type: RepoType, repo_id: str, revision: str | None = None
) -> StoredRevision:
    """The local copy: the revision asked for, else ``main``, else the most recently fetched one.

    A damaged copy is never used: DamagedRevisionError (a NotLocalizedError) says how to repair
    it when it is the one asked for (or ``main``, or the only one there is).
    """
    parsed = parse_repo_id(repo_id)
    store = local_store(config, repo_type)
    found = store.inspect(parsed, validate_revision(revision or DEFAULT_REVISION))
    if isinstance(found, DamagedRevision):
        raise found.error()
    if found is not None:
        return found
    if revision is not None:
        raise NotLocalizedError(repo_id, revision, repo_type)
    every = list(store.scan_repo(parsed))
    candidates = [s for s in every if isinstance(s, StoredRevision)]
    if not candidates:
        damaged = [d for d in every if isinstance(d, DamagedRevision)]
        raise damaged[0].error() if damaged else NotLocalizedError(repo_id, None, repo_type)
    return max(candidates, key=lambda s: s.manifest.fetched_at)


def read_hub_file(
    config: HGLocalizationConfig, repo_type: RepoType, repo_id: str, revision: str | None, filename: str
) -> bytes:
    """One file of a repo read from the Hub (``main`` by default); nothing is cached."""
    return hub_client(config).read_file(
        repo_type, parse_repo_id(repo_id), validate_revision(revision or DEFAULT_REVISION), filename
    )
