"""The server holds its ground: nothing outside its root is read, every request gets a well-formed
answer, the write API refuses the names the server keeps for itself, no request holds the event
loop, and a damaged metadata file costs its own revision only.

Most requests here go straight to the ASGI application (``call``): that gives full control of
the raw path and of what happens between the response's headers and its body, and checks every
header the way the HTTP layer (h11) does before it would send it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode

import h11
import httpx
import pytest
from huggingface_hub import (
    CommitOperation,
    CommitOperationAdd,
    CommitOperationCopy,
    CommitOperationDelete,
    HfApi,
)
from huggingface_hub.errors import HfHubHTTPError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hg_localization.ids import RepoType
from hg_localization.server.app import create_app
from hg_localization.server.auth import ServerTokens
from hg_localization.server.folder_source import FolderSource
from hg_localization.server.hub_api import PATHS_INFO_MAX_PATHS
from hg_localization.server.hub_write import HubWriteApi
from hg_localization.server.responses import INTERNAL_ERROR
from hg_localization.server.served import ServedRepo, ServedRevision
from hg_localization.server.store_source import StoreSource
from hg_localization.store.layout import METADATA_FILENAME
from hg_localization.store.manifest import FileRecord, RevisionManifest, Selection

from helpers.cli import run
from helpers.servers import run_server
from helpers.stored import file_record
from helpers.weights_fixtures import WRITE_TOKEN, WeightsHub, folder_files, write_folder

SECRET = b"TOP-SECRET: outside the served folder"
CONFIG = b'{"hidden_size": 8}\n'
Message = dict[str, Any]


# --- an ASGI client that checks headers as h11 does -----------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    error: Exception | None = None

    def json(self) -> Any:
        return json.loads(self.body)


async def _call(
    app: Any, method: str, raw_path: bytes, body: bytes, on_send: Callable[[Message], Awaitable[None]] | None
) -> Answer:
    path, _, query = raw_path.partition(b"?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(path.decode("latin-1")),
        "raw_path": path,
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/x-www-form-urlencoded")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[Message] = []

    async def receive() -> Message:
        if pending:
            return pending.pop()
        await asyncio.Event().wait()  # the client never disconnects: wait to be cancelled
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)
        if on_send is not None:
            await on_send(message)

    error = None
    try:
        await app(scope, receive, send)
    except Exception as exc:  # the app re-raises after its 500 (Starlette's ServerErrorMiddleware)
        error = exc
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1, f"{method} {raw_path!r} got no answer ({error!r})"
    headers = [(bytes(k), bytes(v)) for k, v in starts[0].get("headers", [])]
    h11.Response(status_code=starts[0]["status"], headers=headers)  # raises for a header h11 refuses
    decoded = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers}
    body_bytes = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(starts[0]["status"], decoded, body_bytes, error)


def call(
    app: Any,
    raw_path: str | bytes,
    method: str = "GET",
    body: bytes = b"",
    on_send: Callable[[Message], Awaitable[None]] | None = None,
) -> Answer:
    raw = raw_path.encode("latin-1") if isinstance(raw_path, str) else raw_path
    return asyncio.run(_call(app, method, raw, body, on_send))


# --- served folders with links that lead out ------------------------------------------------------


def write_stored(folder: Path, repo_id: str, revision: str, files: dict[str, bytes]) -> None:
    """A store revision folder: the files and a metadata file that lists them."""
    write_folder(folder, files)
    records = [file_record(path, data) for path, data in files.items()]
    commit = hashlib.sha1(repr(sorted(files.items())).encode()).hexdigest()
    manifest = RevisionManifest(
        repo_id=repo_id,
        repo_type="model",
        revision=revision,
        commit=commit,
        selections=[Selection(full=True)],
        files=records,
    )
    (folder / METADATA_FILENAME).write_text(manifest.to_json())


@dataclass
class Served:
    """A folder of repos and a store, each with a link out of it at every level."""

    repos: Path
    store: Path
    outside: Path
    apps: dict[str, Any] = field(default_factory=dict)


def build_served(base: Path) -> Served:
    outside = base / "outside"
    (outside / "secret.txt").parent.mkdir(parents=True)
    (outside / "secret.txt").write_bytes(SECRET)
    for folder in ("ns/name/main", "repo/main", "rev", "dir"):
        (outside / folder).mkdir(parents=True)
        (outside / folder / "config.json").write_bytes(SECRET)
    # a folder of repos: team/good is real; a file, a sub-folder, a revision, a repo and a namespace link out
    repos = base / "repos"
    good = repos / "models" / "team" / "good"
    (good / "main").mkdir(parents=True)
    (good / "main" / "config.json").write_bytes(CONFIG)
    (good / "main" / "leak.txt").symlink_to(outside / "secret.txt")
    (good / "main" / "sub").symlink_to(outside / "dir")
    (good / "v-link").symlink_to(outside / "rev")
    (repos / "models" / "team" / "linked-repo").symlink_to(outside / "repo")
    (repos / "models" / "evil-ns").symlink_to(outside / "ns")
    # the store: the same links, and files its metadata lists that are now links
    store = base / "store" / "models"
    stored = store / "team" / "stored"
    write_stored(stored / "main", "team/stored", "main", {"config.json": CONFIG, "sub/x.json": CONFIG})
    (stored / "main" / "config.json").unlink()
    (stored / "main" / "config.json").symlink_to(outside / "secret.txt")
    write_stored(outside / "store-rev", "team/stored", "v-link", {"config.json": SECRET})
    (stored / "v-link").symlink_to(outside / "store-rev")
    write_stored(outside / "store-repo" / "main", "team/linked", "main", {"config.json": SECRET})
    (store / "team" / "linked").symlink_to(outside / "store-repo")
    write_stored(stored / "dir-link", "team/stored", "dir-link", {"sub/config.json": CONFIG})
    (stored / "dir-link" / "sub" / "config.json").unlink()
    (stored / "dir-link" / "sub").rmdir()
    (stored / "dir-link" / "sub").symlink_to(outside / "dir")
    write_stored(stored / "meta-link", "team/stored", "meta-link", {"config.json": CONFIG})
    (stored / "meta-link" / METADATA_FILENAME).unlink()
    (stored / "meta-link" / METADATA_FILENAME).symlink_to(outside / "store-rev" / METADATA_FILENAME)
    served = Served(repos=repos, store=store, outside=outside)
    repo_source = FolderSource.for_repos_dir(repos)
    tokens = ServerTokens(write=frozenset({WRITE_TOKEN}))
    served.apps = {
        "repos": create_app(repo_source, tokens=tokens, write_api=HubWriteApi(repo_source, tokens)),
        "store": create_app(StoreSource.for_store(store, base / "store" / "datasets")),
    }
    return served


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Served:
    return build_served(tmp_path_factory.mktemp("served"))


def assert_refused(answer: Answer, status: int = 404) -> None:
    assert answer.status == status, answer.body
    assert SECRET not in answer.body


# --- 2. nothing outside the root is read ------------------------------------------------------------


@pytest.mark.parametrize(
    ("app", "path", "code"),
    [
        ("repos", "/evil-ns/name/resolve/main/config.json", "RepoNotFound"),
        ("repos", "/team/linked-repo/resolve/main/config.json", "RepoNotFound"),
        ("repos", "/team/good/resolve/v-link/config.json", "RevisionNotFound"),
        ("repos", "/team/good/resolve/main/leak.txt", "EntryNotFound"),
        ("repos", "/team/good/resolve/main/sub/config.json", "EntryNotFound"),
        ("store", "/team/linked/resolve/main/config.json", "RepoNotFound"),
        ("store", "/team/stored/resolve/v-link/config.json", "RevisionNotFound"),
        ("store", "/team/stored/resolve/meta-link/config.json", "RevisionNotFound"),
        ("store", "/team/stored/resolve/main/config.json", "EntryNotFound"),  # listed, now a link
        ("store", "/team/stored/resolve/dir-link/sub/config.json", "EntryNotFound"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_link_out_of_the_served_folder_is_never_followed(
    served: Served, app: str, path: str, code: str, method: str
) -> None:
    answer = call(served.apps[app], path, method)
    assert_refused(answer)
    assert answer.headers["x-error-code"] == code


def test_links_are_not_listed_and_the_real_files_still_are(served: Served) -> None:
    repos, store = served.apps["repos"], served.apps["store"]
    tree = call(repos, "/api/models/team/good/tree/main?recursive=true").json()
    assert [entry["path"] for entry in tree] == ["config.json"]
    listed = {repo["id"] for repo in call(repos, "/api/models").json()}
    assert listed == {"team/good"}
    assert call(repos, "/team/good/resolve/main/config.json").body == CONFIG
    assert call(store, "/team/stored/resolve/main/sub/x.json").body == CONFIG
    refs = call(store, "/api/models/team/stored/refs").json()
    assert sorted(branch["name"] for branch in refs["branches"]) == ["dir-link", "main"]


def test_a_file_swapped_for_a_link_after_the_check_is_not_read(tmp_path: Path) -> None:
    """The headers are out (the file was checked) when the file becomes a link: no byte of the target."""
    served = build_served(tmp_path)
    config = served.repos / "models" / "team" / "good" / "main" / "config.json"

    async def swap(message: Message) -> None:
        if message["type"] == "http.response.start":
            config.unlink()
            config.symlink_to(served.outside / "secret.txt")

    answer = call(served.apps["repos"], "/team/good/resolve/main/config.json", on_send=swap)
    assert answer.status == 200 and answer.error is not None
    assert SECRET not in answer.body


def test_an_operator_may_opt_in_to_following_links(tmp_path: Path) -> None:
    served = build_served(tmp_path)
    app = create_app(FolderSource.for_repos_dir(served.repos, follow_symlinks=True))
    assert call(app, "/team/good/resolve/main/leak.txt").body == SECRET
    assert call(app, "/team/good/resolve/main/sub/config.json").body == SECRET
    assert call(app, "/team/linked-repo/resolve/main/config.json").body == SECRET
    assert call(app, "/evil-ns/name/resolve/main/config.json").body == SECRET


def test_follow_symlinks_is_for_a_read_only_folder_of_repos(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "serve", "--follow-symlinks")
    assert code == 2 and "--follow-symlinks works with --repos only" in err
    tokens = tmp_path / "tokens"
    tokens.write_text("write:a-write-token\n")
    (tmp_path / "repos").mkdir()
    code, _, err = run(
        capsys, "serve", "--repos", str(tmp_path / "repos"), "--follow-symlinks", "--tokens-file", str(tokens)
    )
    assert code == 2 and "read-only" in err
    assert "a-write-token" not in err


# --- 3. every request gets an answer, with headers the HTTP layer accepts ----------------------------


def _raw_request(url: str, target: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("escape", ["%0d", "%00", "%0a", "%0d%0aSet-Cookie:%20x=1", "%7f"])
def test_a_control_character_in_the_path_gets_an_answer(served: Served, escape: str) -> None:
    with run_server(served.apps["repos"]) as url:
        answer = _raw_request(url, f"/team/good/resolve/main/x{escape}y".encode())
        listing = _raw_request(url, f"/api/models/team/good/tree/main/x{escape}y".encode())
    for raw in (answer, listing):
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert head.startswith(b"HTTP/1.1 404 "), raw[:200]
        names = [line.split(b":", 1)[0].lower() for line in head.split(b"\r\n")[1:]]
        assert b"x-error-message" in names
        assert b"set-cookie" not in names  # no header smuggled in


class _Broken(FolderSource):
    def repo(self, repo_type: RepoType, repo_id: str) -> ServedRepo:
        raise RuntimeError("internal detail: /srv/private/path")


def test_an_unexpected_failure_is_a_generic_500_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(_Broken.for_repos_dir(tmp_path))
    with caplog.at_level(logging.ERROR, logger="hg_localization.server"):
        answer = call(app, "/api/models/team/good")
    assert answer.status == 500
    assert answer.json() == {"error": INTERNAL_ERROR}
    assert answer.headers["x-error-message"] == INTERNAL_ERROR
    assert b"internal detail" not in answer.body and b"Traceback" not in answer.body
    assert any("internal detail" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


_FRAGMENTS = [
    "api", "models", "datasets", "team", "good", "stored", "linked-repo", "linked", "evil-ns", "name",
    "resolve", "tree", "paths-info", "refs", "revision", "preupload", "commit", "main", "v-link",
    "meta-link", "dir-link", "config.json", "leak.txt", "sub", "secret.txt", "..", ".", "", "%2e%2e",
    "%2E%2E%2F%2E%2E%2Foutside%2Fsecret.txt", "%2f", "%00", "%0d", "%0a", "%0d%0a", "%ff", "%c3%a9",
    "%", "%zz", "refs%2Fpr%2F1", "_hgloc", "lfs", "model", "info", "objects", "batch", "good.git",
    METADATA_FILENAME, "x.incomplete", "?cursor=²&limit=" + "9" * 5000, "?recursive=true&expand=true",
    "\u00e9", "\u2028",
]  # fmt: skip
_SEGMENT = st.one_of(
    st.sampled_from(_FRAGMENTS),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12).map(lambda s: quote(s, safe="")),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    segments=st.lists(_SEGMENT, min_size=1, max_size=9),
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE"]),
    app=st.sampled_from(["repos", "store"]),
    body=st.sampled_from([b"", b"paths=config.json&paths=sub&expand=true", b"\x00\xff", b"{"]),
)
def test_any_path_gets_a_sane_answer_and_nothing_from_outside(
    served: Served, segments: list[str], method: str, app: str, body: bytes
) -> None:
    raw = ("/" + "/".join(segments)).encode("utf-8")
    answer = call(served.apps[app], raw, method, body)  # checks the headers as h11 does
    assert answer.error is None, repr(answer.error)
    assert 200 <= answer.status < 600
    assert SECRET not in answer.body


# --- 4. the write API refuses the names the server keeps for itself ---------------------------------


def _commit(hub: WeightsHub, repo: str, lines: list[dict[str, Any]]) -> Answer:
    header = {"key": "header", "value": {"summary": "attack", "description": ""}}
    body = b"".join(json.dumps(item).encode() + b"\n" for item in [header, *lines])
    response = httpx.post(
        f"{hub.url}/api/models/{repo}/commit/main",
        content=body,
        headers={"Authorization": f"Bearer {WRITE_TOKEN}", "Content-Type": "application/x-ndjson"},
    )
    return Answer(response.status_code, dict(response.headers), response.content)


def _forged_manifest() -> bytes:
    record = FileRecord(
        path="forged.bin", local_path="config.json", size=3, sha256="a" * 64, git_sha1="b" * 40
    )
    manifest = RevisionManifest(
        repo_id="team/target", repo_type="model", revision="main", commit="c" * 40, files=[record]
    )
    return manifest.to_json().encode()


RESERVED = [METADATA_FILENAME, "sub/.hidden", ".git/config", "weights.bin.incomplete", ".gitattributes"]


@pytest.mark.parametrize("path", RESERVED)
def test_a_commit_that_adds_a_reserved_name_is_refused_and_the_repo_still_serves(
    hub: WeightsHub, path: str
) -> None:
    api = HfApi(endpoint=hub.url, token=WRITE_TOKEN)
    api.create_repo("team/target")
    api.upload_file(path_or_fileobj=CONFIG, path_in_repo="config.json", repo_id="team/target")
    before = api.model_info("team/target").sha
    content = base64.b64encode(_forged_manifest()).decode()
    operations = [
        {"key": "file", "value": {"path": path, "content": content, "encoding": "base64"}},
        {"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": "a" * 64, "size": 3}},
        {"key": "deletedFile", "value": {"path": path}},
        {"key": "deletedFolder", "value": {"path": f"{path}/"}},
    ]
    for operation in operations:
        answer = _commit(hub, "team/target", [operation])
        assert answer.status == 400, (operation, answer.body)
        assert "cannot be committed" in answer.json()["error"]
    assert folder_files(hub.revision_dir("team/target")) == {"config.json": CONFIG}
    assert api.model_info("team/target").sha == before
    assert [f.rfilename for f in api.model_info("team/target").siblings or []] == ["config.json"]


@pytest.mark.parametrize(
    "operation",
    [
        CommitOperationAdd(path_in_repo=METADATA_FILENAME, path_or_fileobj=_forged_manifest()),
        CommitOperationCopy(src_path_in_repo="weights.bin", path_in_repo="weights.bin.incomplete"),
        CommitOperationDelete(path_in_repo=".cache-of-mine/"),
    ],
    ids=["add", "copy", "delete"],
)
def test_the_unmodified_client_is_told_why_a_reserved_name_is_refused(
    hub: WeightsHub, operation: CommitOperation
) -> None:
    api = HfApi(endpoint=hub.url, token=WRITE_TOKEN)
    api.create_repo("team/target")
    api.upload_file(path_or_fileobj=b"\1" * 100, path_in_repo="weights.bin", repo_id="team/target")
    with pytest.raises(HfHubHTTPError) as info:
        api.create_commit("team/target", operations=[operation], commit_message="forge")
    assert info.value.response.status_code == 400
    assert "cannot be committed" in str(info.value)
    assert [s.rfilename for s in api.model_info("team/target").siblings or []] == ["weights.bin"]


# --- 7. no request holds the event loop; paths-info is capped ----------------------------------------


class _LoopWatchedFiles(tuple):  # type: ignore[type-arg]
    """A revision's files that count the times they are walked on an event loop's thread."""

    walks_on_loop = 0

    def __iter__(self) -> Iterator[Any]:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a worker thread: fine
            return super().__iter__()
        type(self).walks_on_loop += 1
        return super().__iter__()


def _watched(revision: ServedRevision) -> ServedRevision:
    return replace(revision, files=_LoopWatchedFiles(revision.files))


class _WatchedSource(FolderSource):
    def resolve_in(self, repo: ServedRepo, revision: str | None = None) -> ServedRevision:
        return _watched(super().resolve_in(repo, revision))

    def served_revisions(self, repo: ServedRepo) -> list[ServedRevision]:
        return [_watched(revision) for revision in super().served_revisions(repo)]


def _many_files(root: Path, count: int) -> None:
    main = root / "models" / "team" / "big" / "main"
    for number in range(count):
        (main / f"d{number % 10}" / f"f{number}.txt").parent.mkdir(parents=True, exist_ok=True)
        (main / f"d{number % 10}" / f"f{number}.txt").write_bytes(b"%d" % number)


def test_no_answer_walks_a_repo_on_the_event_loop(tmp_path: Path) -> None:
    _many_files(tmp_path, 50)
    app = create_app(_WatchedSource.for_repos_dir(tmp_path))
    form = urlencode([("paths", p) for p in ("d1", "d2/f2.txt", "nothing")], doseq=True).encode()
    answers = [
        call(app, "/api/models/team/big"),
        call(app, "/api/models/team/big/tree/main?recursive=true&expand=true"),
        call(app, "/api/models/team/big/tree/main/d3"),
        call(app, "/api/models/team/big/paths-info/main", "POST", form),
        call(app, "/api/models/team/big/refs"),
        call(app, "/api/models"),
        call(app, "/team/big/resolve/main/d4/f4.txt"),
    ]
    assert [a.status for a in answers] == [200] * len(answers)
    assert [e["type"] for e in answers[3].json()] == ["directory", "file"]
    assert _LoopWatchedFiles.walks_on_loop == 0


def test_paths_info_takes_at_most_1000_paths(tmp_path: Path) -> None:
    _many_files(tmp_path, 20)
    app = create_app(FolderSource.for_repos_dir(tmp_path))
    url = "/api/models/team/big/paths-info/main"
    paths = [f"d{n % 10}/f{n}.txt" for n in range(PATHS_INFO_MAX_PATHS)]
    allowed = call(app, url, "POST", urlencode({"paths": paths}, doseq=True).encode())
    assert allowed.status == 200 and len(allowed.json()) == 20
    for extra in (1, 5000):
        too_many = call(app, url, "POST", urlencode({"paths": paths + ["x"] * extra}, doseq=True).encode())
        assert too_many.status == 400
        assert "at most 1000 paths" in too_many.headers["x-error-message"]
        assert "at most 1000 paths" in too_many.json()["error"]


# --- 14. a damaged metadata file costs its own revision, never the repo or the server -----------------


def _deeply_nested(path: Path) -> None:
    path.write_bytes(b'{"repo_id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:40])


DAMAGES: dict[str, Callable[[Path], None]] = {
    "binary": lambda path: path.write_bytes(bytes(range(256)) * 4),
    "deeply nested": _deeply_nested,
    "wrong types": lambda path: path.write_text(json.dumps({"repo_id": 5, "files": "all", "commit": []})),
    "truncated": _truncated,
}


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
def test_a_damaged_metadata_file_costs_only_its_own_revision(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: Callable[[Path], None]
) -> None:
    store = tmp_path / "models"
    write_stored(store / "team" / "one" / "main", "team/one", "main", {"config.json": CONFIG})
    write_stored(store / "team" / "one" / "v1", "team/one", "v1", {"config.json": b"{}"})
    write_stored(store / "team" / "two" / "main", "team/two", "main", {"config.json": CONFIG})
    damage(store / "team" / "one" / "v1" / METADATA_FILENAME)
    damage(store / "team" / "two" / "main" / METADATA_FILENAME)
    app = create_app(StoreSource.for_store(store, tmp_path / "datasets"))
    with caplog.at_level(logging.WARNING, logger="hg_localization.server"):
        for _ in range(3):
            assert [repo["id"] for repo in call(app, "/api/models").json()] == ["team/one"]
            refs = call(app, "/api/models/team/one/refs")
            assert refs.status == 200
            assert [branch["name"] for branch in refs.json()["branches"]] == ["main"]
            commit = call(app, "/api/models/team/one").json()["sha"]
            assert call(app, f"/api/models/team/one/revision/{commit}").status == 200
            assert call(app, f"/team/one/resolve/{commit}/config.json").body == CONFIG
            missing = call(app, "/api/models/team/one/revision/v1")
            assert (missing.status, missing.headers["x-error-code"]) == (404, "RevisionNotFound")
            assert call(app, "/api/models/team/two").headers["x-error-code"] == "RevisionNotFound"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([w for w in warnings if f"one{os.sep}v1" in w]) == 1, warnings
    assert len([w for w in warnings if f"two{os.sep}main" in w]) == 1, warnings


def test_a_damaged_repo_json_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "models" / "team" / "one" / "main").mkdir(parents=True)
    (tmp_path / "models" / "team" / "one" / "main" / "config.json").write_bytes(CONFIG)
    _deeply_nested(tmp_path / "models" / "team" / "one" / "repo.json")
    app = create_app(FolderSource.for_repos_dir(tmp_path))
    assert call(app, "/api/models/team/one").status == 200
    assert call(app, "/team/one/resolve/main/config.json").body == CONFIG
