"""Leases in the bucket: one replica fetches a missing file from upstream, the others wait for it.

A lease is a small object under ``<prefix>/.leases/`` (named by the sha256 of what it is for)::

    take     PUT If-None-Match: *  {"owner": <uuid>, "expires": <epoch s>, "name": …}   won: ours
             someone's lease is there, not expired           ─▶ not taken: wait (poll) for the
                                                                 file to appear in the bucket
             someone's lease is there, expired (a dead owner) ─▶ PUT If-Match: its ETag: ours
    renew    while held, every ttl/3: PUT If-Match: our ETag   (a long fetch keeps its lease)
    release  DELETE If-Match: our ETag                          (taken over meanwhile: left alone)

The conditional writes make taking a lease atomic across any number of replicas, whatever their
clocks say; the expiry (the owner's clock) only decides when a silent owner is presumed dead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import InvalidInputError, StorageError
from hg_localization.ids import RepoType, parse_repo_id
from hg_localization.s3.bucket import Bucket, WriteConflictError
from hg_localization.s3.catalog import parse_manifest

logger = logging.getLogger(__name__)

LEASES_FOLDER = ".leases"
#: Seconds a lease lasts unless renewed (its owner renews it every third of that).
DEFAULT_TTL = 60.0
#: Seconds between two looks at the bucket while another replica holds the lease.
DEFAULT_POLL = 0.25


@dataclass
class Lease:
    """A lease this process holds: its object's key and the ETag of what it last wrote."""

    key: str
    name: str
    etag: str


class BucketLeases:
    """Leases in one bucket, held by this process (``owner``)."""

    def __init__(
        self,
        bucket: Bucket,
        *,
        ttl: float = DEFAULT_TTL,
        poll: float = DEFAULT_POLL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bucket = bucket
        self.ttl = ttl
        self.poll = poll
        self.owner = uuid.uuid4().hex
        self._clock = clock

    @classmethod
    def from_config(cls, config: HGLocalizationConfig) -> BucketLeases:
        return cls(Bucket.from_config(config))

    def key(self, name: str) -> str:
        digest = hashlib.sha256(name.encode()).hexdigest()
        prefix = self.bucket.location.keys.prefix
        return f"{prefix}/{LEASES_FOLDER}/{digest}.json" if prefix else f"{LEASES_FOLDER}/{digest}.json"

    # --- one attempt ---------------------------------------------------------------------------
    def try_take(self, name: str) -> Lease | None:
        """The lease on ``name``, when nobody (alive) holds it; None when someone does."""
        key = self.key(name)
        try:
            return Lease(key, name, self.bucket.put_bytes(key, self._body(name), if_none_match=True))
        except WriteConflictError:
            pass
        got = self.bucket.get_bytes(key)
        if got is None:  # released meanwhile: try again at the next look
            return None
        data, etag = got
        if self._clock() < _expiry(data):
            return None
        try:  # its owner stopped renewing it: taken over, unless another replica did first
            lease = Lease(key, name, self.bucket.put_bytes(key, self._body(name), if_match=etag))
        except WriteConflictError:
            return None
        logger.warning("Took over the expired lease on %s (its holder stopped renewing it).", name)
        return lease

    def renew(self, lease: Lease) -> bool:
        """Push the lease's expiry on; False when it is no longer ours (it expired and was taken)."""
        try:
            lease.etag = self.bucket.put_bytes(lease.key, self._body(lease.name), if_match=lease.etag)
        except WriteConflictError:
            return False
        return True

    def release(self, lease: Lease) -> None:
        with contextlib.suppress(WriteConflictError):  # taken over meanwhile: the new owner's now
            self.bucket.delete(lease.key, if_match=lease.etag)

    def _body(self, name: str) -> bytes:
        return json.dumps({"owner": self.owner, "expires": self._clock() + self.ttl, "name": name}).encode()

    # --- the whole dance -----------------------------------------------------------------------
    @contextmanager
    def held_unless(self, name: str, arrived: Callable[[], bool]) -> Iterator[bool]:
        """Hold the lease on ``name`` (True) for the ``with`` body, renewed meanwhile; or, once
        ``arrived()`` says the work is done (another replica did it while holding the lease), False."""
        while True:
            if arrived():
                yield False
                return
            lease = self.try_take(name)
            if lease is not None:
                break
            time.sleep(self.poll)
        stop = threading.Event()
        renewer = threading.Thread(target=self._keep, args=(lease, stop), daemon=True, name="hgloc-lease")
        renewer.start()
        try:
            yield True
        finally:
            stop.set()
            renewer.join()
            self.release(lease)

    def _keep(self, lease: Lease, stop: threading.Event) -> None:
        while not stop.wait(self.ttl / 3):
            try:
                if not self.renew(lease):
                    logger.warning("The lease on %s expired and was taken over.", lease.name)
                    return
            except StorageError as exc:
                logger.warning("Could not renew the lease on %s: %s", lease.name, exc.message)


def _expiry(data: bytes) -> float:
    """When a lease object says it expires (a damaged one: already)."""
    try:
        expires = json.loads(data).get("expires")
    except (ValueError, AttributeError):
        return 0.0
    return float(expires) if isinstance(expires, int | float) else 0.0


def file_in_bucket(
    bucket: Bucket, repo_type: RepoType, repo_id: str, revision: str, commit: str, path: str
) -> bool:
    """Whether the bucket's revision ``revision`` holds ``path`` at ``commit`` (its metadata object)."""
    parsed = parse_repo_id(repo_id)
    key = bucket.location.keys.private.metadata_key(repo_type, parsed, revision)
    got = bucket.get_bytes(key)
    if got is None:
        return False
    try:
        manifest = parse_manifest(got[0], repo_type, parsed, revision, where=f"metadata object '{key}'")
    except InvalidInputError:
        return False
    return manifest.commit == commit and manifest.file(path) is not None
