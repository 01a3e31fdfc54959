"""What the last push of a revision left in a bucket: each object's ETag and the sha256 of its bytes.

A push with nothing to send must still know that every object under the revision's prefix holds
the bytes the local metadata records. Asking the bucket for each sha256 is a HEAD per file, and
comparing an ETag with the local file's MD5 is a read of every file. This record makes it one
LIST: when a push has put (or found) bytes of sha256 ``S`` under key ``K`` and the bucket
answered ETag ``E`` for them, it writes ``K -> (E, S)`` here. The next push skips ``K`` when the
LIST still says ``E`` (and the size) and the local metadata still says ``S``: an object
replaced since (damaged, overwritten by another push, deleted and put back with other bytes)
has another ETag, and a file re-localized with other bytes has another sha256, so either sends
the file again. The local file's bytes are not involved: skipping an upload only needs to know
what the bucket holds, and the upload of a file that is sent is verified as it is read.

The record is the store's own file, beside its locks (``<base>/.locks/.pushed/<namespace>/
<name>/<revision>.<destination>.json``, see :meth:`StoreLayout.push_record_file`): never inside a
revision folder, never in the bucket, one per revision and destination (endpoint, bucket and
key prefix). It is written atomically after the push's metadata object; a record that cannot be
read or written (a read-only store, a damaged file) is as if there were none: the push then
compares the slow way, with the same result.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path

from hg_localization.errors import InvalidInputError
from hg_localization.ids import RepoType, parse_repo_id, revision_from_folder
from hg_localization.store.atomic import atomic_write_bytes
from hg_localization.store.layout import StoreLayout

logger = logging.getLogger(__name__)

RECORD_FORMAT = 1

#: key -> (ETag as the bucket gives it, quotes kept; sha256 of the object's bytes).
PushedObjects = dict[str, tuple[str, str]]


class PushRecord:
    """The record of one revision's pushes to one destination (a file that may not exist yet)."""

    def __init__(self, path: Path, destination: str) -> None:
        self.path = path
        self.destination = destination

    @classmethod
    def for_revision(cls, folder: Path, repo_type: RepoType, destination: str) -> PushRecord | None:
        """The record of the revision folder ``folder`` (``<base>/<namespace>/<name>/<revision>``) for
        ``destination``; None when its path cannot be a store's revision folder."""
        layout = StoreLayout(root=folder.parent.parent.parent, repo_type=repo_type)
        namespace, name = folder.parent.parent.name, folder.parent.name
        try:
            repo_id = parse_repo_id(name if namespace == "_" else f"{namespace}/{name}")
            revision = revision_from_folder(folder.name)
            if layout.revision_dir(repo_id, revision) != folder:
                return None
        except InvalidInputError:
            return None
        digest = hashlib.sha256(destination.encode()).hexdigest()[:16]
        return cls(layout.push_record_file(repo_id, revision, digest), destination)

    def load(self) -> PushedObjects:
        """What the record says; empty when there is none or it cannot be used."""
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError, RecursionError):
            return {}
        if (
            not isinstance(data, dict)
            or data.get("format") != RECORD_FORMAT
            or data.get("destination") != self.destination
            or not isinstance(data.get("objects"), dict)
        ):
            return {}
        objects: PushedObjects = {}
        for key, value in data["objects"].items():
            if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
                objects[key] = (value[0], value[1])
        return objects

    def save(self, objects: Mapping[str, tuple[str, str]]) -> None:
        """Replace the record with ``objects``; a store that cannot be written keeps none.

        (An older record left in place is still true: each entry is a fact about one ETag.)
        """
        payload = {
            "format": RECORD_FORMAT,
            "destination": self.destination,
            "objects": {key: list(value) for key, value in sorted(objects.items())},
        }
        try:
            atomic_write_bytes(self.path, json.dumps(payload, separators=(",", ":")).encode())
        except OSError as exc:
            logger.debug("Could not write the push record %s: %s", self.path, exc)
