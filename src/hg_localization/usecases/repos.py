"""What the model and dataset use cases share, whatever the repo type.

Models and datasets are stored, fetched and shared the same way; only what is selected and how
it is described differ (:mod:`.models`, :mod:`.datasets`). Here: which local store, Hub client
and team cache a configuration means, which local revision a name without a revision means,
which full commit an abbreviated one means, reading one file from the Hub, and whether a request
to make something public can be honoured.

The store has one scope per bucket it was used with (``by_bucket/<bucket id>/``) and an unscoped
one: every lookup sees them all, the configured bucket's first, then the unscoped store, then
the others (:func:`hg_localization.store.local_store.store_scopes`). New copies are written to
the first. ``HF_HUB_OFFLINE=1`` (the configuration's ``offline``) means no network at all: a
localization answers from the store, and reading the Hub is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import InvalidInputError, NotLocalizedError, UpstreamError
from hg_localization.ids import (
    RepoId,
    RepoType,
    is_commit_prefix,
    is_commit_sha,
    parse_repo_id,
    validate_revision,
)
from hg_localization.progress import ProgressListener
from hg_localization.store.damaged import DamagedRevision
from hg_localization.store.local_store import LocalStore, StoredRevision
from hg_localization.usecases.listing import local_stores as local_stores  # no Hub client there
from hg_localization.usecases.options import LocalizeOptions

if TYPE_CHECKING:  # imported where used: a bucket sync or a store lookup needs no Hub client
    from hg_localization.hub.client import HubClient
    from hg_localization.usecases.localize import LocalizeOutcome, LocalizeRequest, TeamCache

DEFAULT_REVISION = "main"
OFFLINE_HINT = "HF_HUB_OFFLINE is set: only the local store is used. Unset it (or set it to 0) to fetch."


def local_store(config: HGLocalizationConfig, repo_type: RepoType) -> LocalStore:
    """The store folder new copies of this repo type go to: the configured bucket's scope (if any)."""
    root = config.models_store_path if repo_type == "model" else config.datasets_store_path
    return LocalStore(root, repo_type, config.bucket_id)


def hub_client(config: HGLocalizationConfig) -> HubClient:
    """The configured Hub; with ``HF_HUB_OFFLINE`` set, an UpstreamError that says so."""
    if config.offline:
        raise UpstreamError("HF_HUB_OFFLINE is set: the Hub is not contacted.", hint=OFFLINE_HINT)
    from hg_localization.hub.client import HubClient

    return HubClient(config.hf_endpoint, config.token, timeout=config.download_timeout)


def online_hub(config: HGLocalizationConfig) -> HubClient | None:
    """The configured Hub, or None with ``HF_HUB_OFFLINE`` set."""
    return None if config.offline else hub_client(config)


def team_cache(config: HGLocalizationConfig) -> TeamCache | None:
    """The configured bucket as a team cache, or None without one (or with ``HF_HUB_OFFLINE`` set)."""
    if config.offline or (not config.s3_bucket_name and not config.public_url):
        return None
    # Imported here: boto3 is only loaded when a bucket is configured.
    from hg_localization.s3.team_cache import open_team_cache

    return open_team_cache(config, lambda repo_type: local_store(config, repo_type))


def localize_request(
    config: HGLocalizationConfig,
    request: LocalizeRequest,
    *,
    hub: HubClient | None,
    progress: ProgressListener,
) -> LocalizeOutcome:
    """Run ``request`` against every scope of the store, the team bucket and ``hub``."""
    from hg_localization.usecases.localize import localize

    stores = local_stores(config, request.repo_type)
    try:
        return localize(
            request,
            store=stores[0],
            others=stores[1:],
            hub=hub,
            bucket=team_cache(config),
            max_workers=config.max_workers,
            progress=progress,
        )
    except NotLocalizedError as exc:
        if config.offline:
            exc.hint = OFFLINE_HINT
        raise


def check_make_public(config: HGLocalizationConfig, options: LocalizeOptions) -> None:
    """Refuse a request to share that could not be honoured, before anything is fetched.

    Without this, the download would go ahead and only the push at the end would fail (or,
    with nothing to push to, make-public would be silently ignored). Whether the revision may be
    made public at all (a private or gated upstream repo may not, unless ``allow_private_public``)
    is decided where it is made public: :func:`hg_localization.s3.public.check_may_publish`.
    """
    if options.allow_private_public and not options.make_public:
        raise InvalidInputError(
            "--allow-private-public only applies with --make-public.",
            hint="Add --make-public to publish, or drop --allow-private-public.",
        )
    if not options.make_public:
        return
    if config.offline:
        raise InvalidInputError(
            "--make-public needs the team bucket, and HF_HUB_OFFLINE is set.", hint=OFFLINE_HINT
        )
    if not options.push:
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


def find_local_revision(
    config: HGLocalizationConfig, repo_type: RepoType, repo_id: str, revision: str | None = None
) -> StoredRevision:
    """The local copy, from any scope of the store: the revision asked for (by name, or by a full
    or abbreviated commit id when it is unambiguous), else ``main``, else the most recently
    fetched one.

    A damaged copy is never used: DamagedRevisionError (a NotLocalizedError) says how to repair
    it when it is the one asked for (or ``main``, or the only one there is).
    """
    parsed = parse_repo_id(repo_id)
    wanted = validate_revision(revision or DEFAULT_REVISION)
    stores = local_stores(config, repo_type)
    damaged: list[DamagedRevision] = []
    for store in stores:
        found = store.inspect(parsed, wanted)
        if isinstance(found, StoredRevision):
            return found
        if found is not None:
            damaged.append(found)
    every = [item for store in stores for item in store.scan_repo(parsed)]
    complete = [s for s in every if isinstance(s, StoredRevision)]
    by_commit = at_commit(complete, wanted) if revision is not None else None
    if by_commit is not None:
        return by_commit
    if damaged:
        raise damaged[0].error()
    if revision is not None:
        raise NotLocalizedError(repo_id, revision, repo_type)
    if not complete:
        broken = [d for d in every if isinstance(d, DamagedRevision)]
        raise broken[0].error() if broken else NotLocalizedError(repo_id, None, repo_type)
    return max(complete, key=lambda s: s.manifest.fetched_at)


def at_commit(candidates: Sequence[StoredRevision], commit: str) -> StoredRevision | None:
    """The copy at the commit ``commit`` is (or abbreviates): a folder named by that commit, else
    the one with most files; None when none is; InvalidInputError when it abbreviates several."""
    if not is_commit_prefix(commit):
        return None
    matches = [s for s in candidates if s.manifest.commit.startswith(commit)]
    commits = sorted({s.manifest.commit for s in matches})
    if len(commits) > 1:
        raise InvalidInputError(
            f"The commit '{commit}' is ambiguous: it begins {', '.join(c[:12] for c in commits)}.",
            hint="Give more characters of the commit id.",
        )
    named = [s for s in matches if s.manifest.revision == s.manifest.commit]
    return max(named or matches, key=lambda s: len(s.manifest.files), default=None)


def full_revision(
    stores: Sequence[LocalStore], hub: HubClient | None, repo_type: RepoType, repo_id: RepoId, revision: str
) -> str:
    """``revision``, or the full commit id it abbreviates, as the Hub reads it.

    A name the store has a folder for stays a name (a branch may look like hex); an abbreviation
    the store knows needs no network; else the Hub says where it points (a commit starting with
    it: an abbreviation). Without the Hub it stays as it is.
    """
    if not is_commit_prefix(revision) or is_commit_sha(revision):
        return revision
    if any(store.inspect(repo_id, revision) is not None for store in stores):
        return revision
    known = at_commit([s for store in stores for s in store.revisions_of(repo_id)], revision)
    if known is not None:
        return known.manifest.commit
    if hub is None:
        return revision
    commit = hub.commit_of(repo_type, repo_id, revision)
    return commit if commit.startswith(revision) else revision


def read_hub_file(
    config: HGLocalizationConfig, repo_type: RepoType, repo_id: str, revision: str | None, filename: str
) -> bytes:
    """One file of a repo read from the Hub (``main`` by default); nothing is cached."""
    return hub_client(config).read_file(
        repo_type, parse_repo_id(repo_id), validate_revision(revision or DEFAULT_REVISION), filename
    )
