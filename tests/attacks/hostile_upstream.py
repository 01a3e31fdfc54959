"""A hostile (or merely broken) upstream Hub of the tests' own, on 127.0.0.1.

    with serve_hostile_hub(Behaviour(Mode.STALL_MID_FILE, times=1)) as hub:
        models.localize_model(hub.repo_id, config=config.with_overrides(hf_endpoint=hub.url), full=True)
        assert hub.gets_from_zero("weights.bin") == 1          # the retry asked for the rest only
        assert hub.ranges("weights.bin") == [None, f"bytes={hub.cut_at('weights.bin')}-"]

It serves one model repo (``hub.repo_id``, files given or :data:`DEFAULT_FILES`) through the part
of the Hub API that huggingface_hub and hg-localization read::

    GET       /api/models/{repo}[/revision/{rev}]       {"id", "sha", "siblings", "private", ...}
    GET       /api/models/{repo}/tree/{rev}[/{path}]    [{"type": "file", "path", "size", "oid",
                                                          "lfs"?}], paged with Link headers
    HEAD/GET  /{repo}/resolve/{rev}/{path}              the bytes; Range answered with 206

and misbehaves as its :class:`Behaviour` says (one :class:`Mode`), for the first ``times``
requests the mode concerns (``None``: always). ``hub.behave(...)`` switches behaviour between
runs and resets that count. Every request is logged (:class:`Seen`): method, kind, file path and
``Range`` header, so tests can assert what a client asked for.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from helpers.servers import run_server

REPO_ID = "hostile/model"
#: A well-formed commit id (the hub's own, unless a mode says otherwise).
COMMIT = hashlib.sha1(b"hostile upstream").hexdigest()
#: The repo's files unless others are given: a card, a config, and a 3 MiB LFS file.
DEFAULT_FILES: dict[str, bytes] = {
    "README.md": b"---\nlicense: mit\n---\n# A hostile upstream\n",
    "config.json": b'{"model_type": "bert", "hidden_size": 8}\n',
    "weights.bin": b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(3 * 2**15)),
}
CHUNK = 64 * 1024


class Mode(enum.Enum):
    NORMAL = "normal"
    ENDLESS_BODY = "endless body"  # the file's GET streams zeros without end (no Content-Length)
    LONGER_THAN_ANNOUNCED = "longer than announced"  # the listing announces `announced_size` bytes
    STALL_MID_FILE = "stall mid-file"  # sends `cut_at` bytes, then nothing for `stall_seconds`
    DROP_MID_FILE = "drop mid-file"  # sends `cut_at` bytes, then drops the connection
    STATUS = "status"  # answers `status` (with `retry_after`) to requests of kind `target`
    IGNORE_RANGE = "ignore range"  # answers a Range request with 200 and the whole file
    ENDLESS_PAGING = "endless paging"  # every page of the listing has a Link to a next one
    BAD_COMMIT = "bad commit"  # `commit` is the repo's sha and X-Repo-Commit
    HOSTILE_NAMES = "hostile names"  # the listing holds `names` (with the target file's bytes)


@dataclass
class Behaviour:
    mode: Mode = Mode.NORMAL
    #: How many requests misbehave (those of the kind the mode concerns); None: all of them.
    times: int | None = None
    #: The file the file modes concern; None: the largest one.
    target_file: str | None = None
    #: Where a stall or drop happens, in bytes; None: half the file.
    cut_at: int | None = None
    stall_seconds: float = 60.0
    #: STATUS: the status, its Retry-After header (None: none) and which requests get it.
    status: int = 503
    retry_after: str | None = "0"
    target: str = "file"  # "info", "tree" or "file"
    #: LONGER_THAN_ANNOUNCED: the size the listing announces; send_length: a true Content-Length.
    announced_size: int = 10
    send_length: bool = True
    commit: str = "../../../etc/passwd"
    names: tuple[str, ...] = ("../../../../ESCAPED.txt",)
    page_size: int = 1000
    #: ENDLESS_BODY stops after this many bytes whatever happens (a test must end).
    safety_cap: int = 1 << 30


@dataclass(frozen=True)
class Seen:
    """One request: its method, kind ("info", "tree", "file", "other"), file path, Range and query."""

    method: str
    kind: str
    path: str
    range: str | None
    query: str


class _DeliberateDrop(Exception):
    """Raised mid-body to drop a connection (its log record is filtered out)."""


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], _DeliberateDrop))


@dataclass
class HostileHub:
    url: str
    behaviour: Behaviour
    files: dict[str, bytes]
    repo_id: str = REPO_ID
    requests: list[Seen] = field(default_factory=list)
    closing: threading.Event = field(default_factory=threading.Event)
    _misbehaved: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def behave(self, behaviour: Behaviour) -> None:
        """Switch behaviour (e.g. between two runs) and reset the count of misbehaviours."""
        with self._lock:
            self.behaviour, self._misbehaved = behaviour, 0

    @property
    def commit(self) -> str:
        return self.behaviour.commit if self.behaviour.mode is Mode.BAD_COMMIT else COMMIT

    @property
    def target_file(self) -> str:
        return self.behaviour.target_file or max(self.files, key=lambda p: len(self.files[p]))

    def commit_header(self) -> dict[str, str]:
        """``X-Repo-Commit``, left out when the (bad) commit cannot be sent in a header."""
        printable = self.commit.isprintable() and self.commit.isascii()
        return {"X-Repo-Commit": self.commit} if printable else {}

    def cut_at(self, path: str) -> int:
        return self.behaviour.cut_at if self.behaviour.cut_at is not None else len(self.files[path]) // 2

    def file_gets(self, path: str) -> list[Seen]:
        return [s for s in self.requests if s.kind == "file" and s.method == "GET" and s.path == path]

    def ranges(self, path: str) -> list[str | None]:
        """The Range header of each GET of ``path``, in order (None: the whole file was asked for)."""
        return [s.range for s in self.file_gets(path)]

    def gets_from_zero(self, path: str) -> int:
        """How many GETs of ``path`` asked for it from its first byte."""
        return sum(1 for r in self.ranges(path) if r is None or r.replace(" ", "") in ("bytes=0-",))

    def count(self, kind: str) -> int:
        return sum(1 for s in self.requests if s.kind == kind)

    def misbehaves(self, mode: Mode, *, kind: str = "file", path: str | None = None) -> bool:
        """Whether this request is one that misbehaves now (counted)."""
        behaviour = self.behaviour
        if behaviour.mode is not mode:
            return False
        if mode is Mode.STATUS and behaviour.target != kind:
            return False
        if kind == "file" and path != self.target_file:
            return False
        with self._lock:
            if behaviour.times is not None and self._misbehaved >= behaviour.times:
                return False
            self._misbehaved += 1
        return True

    def seen(self, request: Request, kind: str, path: str = "") -> None:
        query = request.url.query
        self.requests.append(Seen(request.method, kind, path, request.headers.get("range"), query))


# --- the answers -------------------------------------------------------------------------------


def _entry(path: str, data: bytes, size: int | None = None) -> dict[str, Any]:
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{_sha256(data)}\nsize {len(data)}\n"
    lfs = len(data) > 1024 * 1024
    blob = pointer.encode() if lfs else data
    entry: dict[str, Any] = {
        "type": "file",
        "path": path,
        "size": len(data) if size is None else size,
        "oid": hashlib.sha1(b"blob %d\0" % len(blob) + blob).hexdigest(),
    }
    if lfs:
        entry["lfs"] = {"oid": _sha256(data), "size": len(data), "pointerSize": len(pointer)}
    return entry


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _listing(hub: HostileHub) -> list[dict[str, Any]]:
    behaviour, target = hub.behaviour, hub.target_file
    if behaviour.mode is Mode.HOSTILE_NAMES:
        return [_entry(name, hub.files[target]) for name in behaviour.names]
    entries = []
    for path, data in sorted(hub.files.items()):
        longer = behaviour.mode is Mode.LONGER_THAN_ANNOUNCED and path == target
        entries.append(_entry(path, data, behaviour.announced_size if longer else None))
    return entries


def _status(hub: HostileHub) -> Response:
    headers = {"Retry-After": hub.behaviour.retry_after} if hub.behaviour.retry_after is not None else {}
    return JSONResponse({"error": "try again later"}, status_code=hub.behaviour.status, headers=headers)


def _app(hub: HostileHub) -> Starlette:
    async def info(request: Request) -> Response:
        hub.seen(request, "info")
        if hub.misbehaves(Mode.STATUS, kind="info"):
            return _status(hub)
        siblings = [{"rfilename": p} for p in hub.files]
        body = {"_id": COMMIT[:24], "id": hub.repo_id, "modelId": hub.repo_id, "sha": hub.commit}
        body |= {"private": False, "disabled": False, "gated": False, "siblings": siblings, "tags": []}
        return JSONResponse(body, headers=hub.commit_header())

    async def tree(request: Request) -> Response:
        hub.seen(request, "tree")
        if hub.misbehaves(Mode.STATUS, kind="tree"):
            return _status(hub)
        cursor = int(request.query_params.get("cursor", "0") or 0)
        headers = hub.commit_header()
        if hub.behaviour.mode is Mode.ENDLESS_PAGING:
            page = [_entry(f"junk/{cursor}.bin", b"x")]
            more = True
        else:
            entries = _listing(hub)
            size = hub.behaviour.page_size
            page, more = entries[cursor : cursor + size], cursor + size < len(entries)
        if more:
            step = 1 if hub.behaviour.mode is Mode.ENDLESS_PAGING else hub.behaviour.page_size
            headers["Link"] = f'<{request.url.include_query_params(cursor=cursor + step)}>; rel="next"'
        return JSONResponse(page, headers=headers)

    async def resolve(request: Request) -> Response:
        _revision, _, path = request.path_params["rest"].partition("/")
        hub.seen(request, "file", path)
        if path not in hub.files and not (
            hub.behaviour.mode is Mode.HOSTILE_NAMES and path in hub.behaviour.names
        ):
            return JSONResponse({"error": "Entry not found"}, 404, headers={"X-Error-Code": "EntryNotFound"})
        if request.method == "GET" and hub.misbehaves(Mode.STATUS, kind="file", path=path):
            return _status(hub)
        return _file_answer(hub, request, path)

    return Starlette(
        routes=[
            Route("/api/models/{ns}/{name}", info),
            Route("/api/models/{ns}/{name}/revision/{rev:path}", info),
            Route("/api/models/{ns}/{name}/tree/{rest:path}", tree),
            Route("/{ns}/{name}/resolve/{rest:path}", resolve, methods=["GET", "HEAD"]),
        ]
    )


def _file_answer(hub: HostileHub, request: Request, path: str) -> Response:
    data = hub.files.get(path, hub.files[hub.target_file])
    headers = {**hub.commit_header(), "ETag": f'"{_sha256(data)}"', "Accept-Ranges": "bytes"}
    if request.method == "HEAD":
        return Response(headers={**headers, "Content-Length": str(len(data))})
    if hub.misbehaves(Mode.ENDLESS_BODY, path=path):
        return StreamingResponse(_endless(hub), headers=headers)
    if hub.misbehaves(Mode.LONGER_THAN_ANNOUNCED, path=path):
        if hub.behaviour.send_length:
            headers["Content-Length"] = str(len(data))
        return StreamingResponse(_chunks(data), headers=headers)
    start, status = 0, 200
    wanted = request.headers.get("range", "")
    if wanted.startswith("bytes=") and not hub.misbehaves(Mode.IGNORE_RANGE, path=path):
        start = int(wanted[6:].split("-")[0] or 0)
        if start >= len(data):
            return Response(status_code=416, headers={"Content-Range": f"bytes */{len(data)}"})
        status = 206
        headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
    headers["Content-Length"] = str(len(data) - start)
    body = data[start:]
    cut = max(0, hub.cut_at(path) - start)
    if hub.misbehaves(Mode.STALL_MID_FILE, path=path):
        return StreamingResponse(_stalling(hub, body, cut), status_code=status, headers=headers)
    if hub.misbehaves(Mode.DROP_MID_FILE, path=path):
        return StreamingResponse(_dropping(body, cut), status_code=status, headers=headers)
    return StreamingResponse(_chunks(body), status_code=status, headers=headers)


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), CHUNK):
        yield data[offset : offset + CHUNK]


async def _endless(hub: HostileHub) -> AsyncIterator[bytes]:
    sent = 0
    while sent < hub.behaviour.safety_cap and not hub.closing.is_set():
        yield b"\0" * CHUNK
        sent += CHUNK
        await asyncio.sleep(0)


async def _stalling(hub: HostileHub, body: bytes, cut: int) -> AsyncIterator[bytes]:
    async for chunk in _chunks(body[:cut]):
        yield chunk
    loop = asyncio.get_running_loop()
    deadline = loop.time() + hub.behaviour.stall_seconds
    while loop.time() < deadline and not hub.closing.is_set():
        await asyncio.sleep(0.05)
    # then the connection is closed with the body unfinished


async def _dropping(body: bytes, cut: int) -> AsyncIterator[bytes]:
    async for chunk in _chunks(body[:cut]):
        yield chunk
    raise _DeliberateDrop("the connection is dropped on purpose")


@contextmanager
def serve_hostile_hub(
    behaviour: Behaviour | None = None, files: dict[str, bytes] | None = None, *, repo_id: str = REPO_ID
) -> Iterator[HostileHub]:
    """Serve a hostile Hub on 127.0.0.1 for the duration of the block; yields it (``.url`` etc.)."""
    hub = HostileHub(url="", behaviour=behaviour or Behaviour(), files=dict(files or DEFAULT_FILES))
    hub.repo_id = repo_id
    quiet = _QuietDrops()
    uvicorn_log = logging.getLogger("uvicorn.error")
    uvicorn_log.addFilter(quiet)
    try:
        with run_server(_app(hub)) as url:
            hub.url = url
            try:
                yield hub
            finally:
                hub.closing.set()  # stalls and endless bodies end, so the server stops at once
    finally:
        uvicorn_log.removeFilter(quiet)
