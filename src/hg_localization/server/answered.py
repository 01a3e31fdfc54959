"""What the Hub API remembers of the revisions it answered, so that their small answers cost no I/O.

A source that can tell cheaply whether an answer it gave still holds (:class:`AnswerSignatures`:
a few ``lstat`` calls for the store and for a folder of repos, a clock read for the bucket)
lets :class:`AnsweredRevisions` keep, per (type, repo id, revision as asked), the repo and
revision it last answered with that signature. While the signature is unchanged, those are
answered again on the event loop (:mod:`.fast_reads`), with the repo info's JSON built once per
revision and query variant, and each file's Hub headers built once per loaded revision.

Every cache is keyed by the revision object a source hands out, which it keeps while the revision
is unchanged; each is bounded (cleared when full: a rebuild costs one request).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from starlette.responses import Response

from hg_localization.server.served import ServedRepo, ServedRevision, Source

#: Revisions whose info answer is kept.
INFO_CACHE_SIZE = 256
#: Answered (repo, revision) pairs and file headers kept for the event-loop path.
ANSWER_CACHE_SIZE = 4096

#: (repo type, repo id, revision as asked).
AnswerKey = tuple[str, str, str | None]


@runtime_checkable
class AnswerSignatures(Protocol):
    """A source that can tell cheaply, on the event loop, whether an answer it gave still holds."""

    def answer_signature(self, repo_type: Any, repo_id: str, revision: str | None) -> object | None:
        """Equal between two calls only if ``repo()``/``resolve_in()`` would answer the same (None:
        no cheap check). Taken before an answer is built, so a change meanwhile is seen next time."""


class AnsweredRevisions:
    """The answers of one server's source, kept while the source's signature holds."""

    def __init__(self, source: Source) -> None:
        # Checked once: a runtime protocol check per request was a visible part of its time.
        self._signed: AnswerSignatures | None = source if isinstance(source, AnswerSignatures) else None
        #: key -> (the source's signature, repo, revision) last answered.
        self._answers: dict[AnswerKey, tuple[object, ServedRepo, ServedRevision]] = {}
        #: (revision object's id, with blobs) -> (revision, the info answer, ready to send again).
        self._infos: dict[tuple[int, bool], tuple[ServedRevision, Response]] = {}
        #: (revision object's id, path, immutable) -> (revision, the file's Hub headers).
        self._headers: dict[tuple[int, str, bool], tuple[ServedRevision, dict[str, str]]] = {}

    def signature(self, key: AnswerKey) -> object | None:
        return self._signed.answer_signature(*key) if self._signed is not None else None

    def lookup(self, key: AnswerKey) -> tuple[ServedRepo, ServedRevision] | None:
        """The repo and revision answered last for ``key``, while the source says they still hold."""
        cached = self._answers.get(key)
        if cached is None or self.signature(key) != cached[0]:
            return None
        return cached[1], cached[2]

    def remember(self, key: AnswerKey, signature: object, repo: ServedRepo, revision: ServedRevision) -> None:
        """``repo`` and ``revision`` were read after the source gave ``signature`` for ``key``."""
        if len(self._answers) >= ANSWER_CACHE_SIZE:
            self._answers.clear()
        self._answers[key] = (signature, repo, revision)

    def info(self, revision: ServedRevision, with_blobs: bool) -> Response | None:
        """The info answer built for ``revision`` (a Response is sent again as it is: never mutated)."""
        cached = self._infos.get((id(revision), with_blobs))
        return cached[1] if cached is not None and cached[0] is revision else None

    def keep_info(self, revision: ServedRevision, with_blobs: bool, body: bytes) -> Response:
        if len(self._infos) >= INFO_CACHE_SIZE:
            self._infos.clear()
        answer = Response(body, media_type="application/json")
        self._infos[(id(revision), with_blobs)] = (revision, answer)
        return answer

    def headers(self, revision: ServedRevision, path: str, immutable: bool) -> dict[str, str] | None:
        cached = self._headers.get((id(revision), path, immutable))
        return cached[1] if cached is not None and cached[0] is revision else None

    def keep_headers(
        self, revision: ServedRevision, path: str, immutable: bool, headers: dict[str, str]
    ) -> None:
        if len(self._headers) >= ANSWER_CACHE_SIZE:
            self._headers.clear()
        self._headers[(id(revision), path, immutable)] = (revision, headers)
