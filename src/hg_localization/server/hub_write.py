"""The Hub's write API, as ``HfApi.create_repo`` and ``upload_folder``/``create_commit`` use it.

==========================================================  =====================================
``POST /api/repos/create``                                  create a repo (409 when it exists)
``POST /api/validate-yaml``                                 the README's front matter is YAML
``POST /api/{type}s/{repo}/preupload/{rev}``                 which files go as LFS, and what is there
``POST [/datasets]/{repo}.git/info/lfs/objects/batch``       signed upload URLs for LFS objects
``PUT  /_hgloc/lfs/{type}/{oid}/{size}?expires=…&sig=…``     the upload itself: no auth header
``POST /api/{type}s/{repo}/commit/{rev}`` (NDJSON)           one commit: files, LFS files, deletions
``/api/{type}s/{repo}/xet-{read,write}-token/{rev}``         307 to ``XET_HELP_PATH``, which is a 501
tags, branches, settings, ``DELETE /api/repos/delete``       :mod:`hub_refs`
==========================================================  =====================================

Every write needs a bearer token from the server's write tokens, except the upload PUT: the
client sends it without any header, so its URL authorises itself (HMAC-SHA256 over type, oid,
size and expiry with a secret made per process). Uploaded bytes are hashed as they arrive and
kept only when their sha256 and size are the announced ones.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import yaml
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from hg_localization.errors import HGLocalizationError, InvalidInputError
from hg_localization.ids import RepoType, parse_repo_type, validate_revision
from hg_localization.server.auth import ServerTokens
from hg_localization.server.confine import writable_path
from hg_localization.server.folder_source import FolderSource, is_lfs
from hg_localization.server.hub_refs import HubRefsApi
from hg_localization.server.ref_writer import RefWriter
from hg_localization.server.repo_writer import (
    READ_ONLY,
    Addition,
    Commit,
    CommitConflictError,
    RepoExistsError,
    RepoWriter,
)
from hg_localization.server.responses import error_response, header_value, hub_error
from hg_localization.server.routing import ApiRoute, LfsBatchRoute, Route
from hg_localization.server.served import ServedRevision, Source

UPLOAD_PREFIX = "/_hgloc/lfs/"
#: Where the Xet token routes send clients: hf_xet shows only the status and this URL, so it spells the fix.
XET_HELP_PATH = "/_hgloc/xet-is-not-supported/set-HF_HUB_DISABLE_XET=1-and-retry"
LFS_MEDIA_TYPE = "application/vnd.git-lfs+json"
XET_UNSUPPORTED = (
    "This server does not support Xet storage. Set HF_HUB_DISABLE_XET=1 in the environment of the "
    "process that uploads (before huggingface_hub is imported) to use the plain-HTTP LFS protocol."
)
#: How long a signed upload URL stays valid.
UPLOAD_URL_TTL = 3600


@dataclass
class HubWriteApi:
    """Writes into a folder of repos; any other source refuses every write (400, ``READ_ONLY``)."""

    source: Source
    tokens: ServerTokens
    url_ttl: int = UPLOAD_URL_TTL
    _secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def __post_init__(self) -> None:
        self._writer = RepoWriter(self.source) if isinstance(self.source, FolderSource) else None
        self.refs = HubRefsApi(RefWriter(self._writer), deny=self._deny) if self._writer else None  # tags…

    @property
    def writer(self) -> RepoWriter:
        if self._writer is None:
            raise InvalidInputError(READ_ONLY)
        return self._writer

    async def handle(self, request: Request, route: Route | None) -> Response | None:
        """Answer a write request, or None when this is not one."""
        path = request.url.path
        xet = xet_answer(path, route)
        if xet is not None:
            return xet
        if request.method == "PUT" and path.startswith(UPLOAD_PREFIX):
            return await self._receive(request, path[len(UPLOAD_PREFIX) :])
        if HubRefsApi.handles(request, route):
            if self.refs is not None:
                return await self.refs.handle(request, route)
            denied = self._deny(request, route.repo_id if isinstance(route, ApiRoute) else None)
            return denied or error_response(InvalidInputError(READ_ONLY))
        if request.method != "POST":
            return None
        if path == "/api/validate-yaml":
            return await _validate_yaml(request)
        is_write = (
            path == "/api/repos/create"
            or isinstance(route, LfsBatchRoute)
            or (isinstance(route, ApiRoute) and route.action in ("preupload", "commit"))
        )
        if not is_write:
            return None
        denied = self._deny(request, route.repo_id if isinstance(route, ApiRoute | LfsBatchRoute) else None)
        if denied is not None:
            return denied
        try:
            if path == "/api/repos/create":
                return await self._create_repo(request)
            if isinstance(route, LfsBatchRoute):
                return await self._lfs_batch(request, route)
            assert isinstance(route, ApiRoute)
            if route.action == "preupload":
                return await self._preupload(request, route)
            return await self._commit(request, route)
        except CommitConflictError as exc:
            return hub_error(412, exc.message)
        except HGLocalizationError as exc:
            return error_response(exc)

    def _deny(self, request: Request, repo_id: str | None) -> Response | None:
        """None when the request may write to ``repo_id`` (None: to some repo, before its id is read)."""
        caller = self.tokens.identify(request)
        if not caller.sent_token:
            return hub_error(401, "Uploads need a write token: send Authorization: Bearer <token>.")
        if not caller.may_write_somewhere:
            return hub_error(403, "This token may not write to this server.")
        if repo_id is not None and not caller.may_write(repo_id):
            scope = caller.scope_of("write")
            return hub_error(403, f"This token may write only to repos matching {scope}: not to {repo_id}.")
        return None

    # --- POST /api/repos/create ------------------------------------------------------------------
    async def _create_repo(self, request: Request) -> Response:
        body = await _json_object(request)
        name, organization = body.get("name"), body.get("organization")
        if not isinstance(name, str) or not (organization is None or isinstance(organization, str)):
            raise InvalidInputError("'name' (and 'organization', if given) must be strings.")
        repo_type = parse_repo_type(str(body.get("type") or "model"))
        repo_id = f"{organization}/{name}" if organization else name
        denied = self._deny(request, repo_id)  # token scopes: the id is known only now
        if denied is not None:
            return denied
        private = body.get("visibility") == "private" or body.get("private") is True
        try:
            created = await run_in_threadpool(self.writer.create_repo, repo_type, repo_id, private=private)
        except RepoExistsError as exc:  # the client reads the url from the 409 too (exist_ok=True)
            url = _repo_url(request, repo_type, repo_id)
            headers = {"X-Error-Message": header_value(exc.message)}
            return JSONResponse({"error": exc.message, "url": url}, 409, headers)
        return JSONResponse({"url": _repo_url(request, repo_type, created), "name": created, "id": created})

    # --- POST /api/{type}s/{repo}/preupload/{rev} --------------------------------------------------
    async def _preupload(self, request: Request, route: ApiRoute) -> Response:
        body = await _json_object(request)
        base = await self._base(route.repo_type, route.repo_id, route.revision)
        answers = []
        for entry in _list_of_objects(body.get("files")):
            path = writable_path(entry.get("path"))
            size = _non_negative_int(entry.get("size"), f"size of '{path}'")
            lfs = is_lfs(path, size)  # the rule FolderSource serves by
            answer: dict[str, Any] = {
                "path": path,
                "uploadMode": "lfs" if lfs else "regular",
                "shouldIgnore": False,
            }
            served = base.file(path)
            if served is not None:
                answer["oid"] = served.sha256 if lfs else served.git_sha1
            answers.append(answer)
        return JSONResponse({"files": answers, "commitOid": base.commit})

    # --- POST {repo}.git/info/lfs/objects/batch ----------------------------------------------------
    async def _lfs_batch(self, request: Request, route: LfsBatchRoute) -> Response:
        body = await _json_object(request)
        if body.get("operation") != "upload":
            raise InvalidInputError("This endpoint serves uploads only ('operation': 'upload').")
        ref = body.get("ref")
        revision = ref.get("name") if isinstance(ref, dict) and isinstance(ref.get("name"), str) else None
        base = await self._base(route.repo_type, route.repo_id, revision)
        base_url = str(request.base_url).rstrip("/")
        objects = []
        for entry in _list_of_objects(body.get("objects")):
            oid = str(entry.get("oid", "")).lower()
            size = _non_negative_int(entry.get("size"), f"size of {oid}")
            if await run_in_threadpool(self.writer.has_object, route.repo_type, oid, size, base):
                objects.append({"oid": oid, "size": size, "authenticated": True})
                continue
            expires = int(time.time()) + self.url_ttl
            signature = self._sign(route.repo_type, oid, size, expires)
            query = f"expires={expires}&sig={signature}"
            href = f"{base_url}{UPLOAD_PREFIX}{route.repo_type}/{oid}/{size}?{query}"
            objects.append(
                {
                    "oid": oid,
                    "size": size,
                    "authenticated": True,
                    "actions": {"upload": {"href": href, "expires_in": self.url_ttl}},
                }
            )
        return JSONResponse(
            {"transfer": "basic", "objects": objects, "hash_algo": "sha256"}, media_type=LFS_MEDIA_TYPE
        )

    # --- PUT /_hgloc/lfs/{type}/{oid}/{size}?expires&sig -------------------------------------------
    async def _receive(self, request: Request, tail: str) -> Response:
        parts = tail.split("/")
        expires, signature = request.query_params.get("expires", ""), request.query_params.get("sig", "")
        if len(parts) != 3 or not _is_number(parts[2]) or not _is_number(expires):
            return hub_error(404, "No such upload URL.")
        repo_type, oid, size = parts[0], parts[1], int(parts[2])
        if repo_type not in ("model", "dataset") or not hmac.compare_digest(
            signature, self._sign(repo_type, oid, size, int(expires))
        ):
            return hub_error(403, "This upload URL is not valid: ask the LFS batch endpoint for a new one.")
        if int(expires) < time.time():
            return hub_error(403, "This upload URL has expired: ask the LFS batch endpoint for a new one.")
        kind: RepoType = "model" if repo_type == "model" else "dataset"
        try:
            partial = self.writer.new_upload(kind, oid)
        except HGLocalizationError as exc:
            return error_response(exc)
        digest, received = hashlib.sha256(), 0
        try:
            with partial.open("wb") as sink:
                async for chunk in request.stream():
                    received += len(chunk)
                    if received > size:
                        break
                    digest.update(chunk)
                    sink.write(chunk)
            await run_in_threadpool(
                self.writer.accept_upload, kind, oid, size, partial, digest.hexdigest(), received
            )
        except HGLocalizationError as exc:
            return hub_error(400, f"The upload of {oid} was refused: {exc.message}")
        finally:
            partial.unlink(missing_ok=True)
        return Response(status_code=200)

    def _sign(self, repo_type: str, oid: str, size: int, expires: int) -> str:
        message = f"{repo_type}\n{oid}\n{size}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    # --- POST /api/{type}s/{repo}/commit/{rev} (NDJSON) --------------------------------------------
    async def _commit(self, request: Request, route: ApiRoute) -> Response:
        commit = parse_commit(await request.body())
        revision = validate_revision(route.revision or "main")
        create_pr = request.query_params.get("create_pr", "").lower() in ("1", "true")
        done = await run_in_threadpool(
            lambda: self.writer.commit(route.repo_type, route.repo_id, revision, commit, create_pr=create_pr)
        )
        url = _repo_url(request, route.repo_type, route.repo_id)
        answer: dict[str, Any] = {
            "success": True,
            "commitOid": done.commit,
            "commitUrl": f"{url}/commit/{done.commit}",
            "commitMessage": commit.summary,
            "hookOutput": "",
            "pullRequestUrl": f"{url}/discussions/{done.pull_request}" if done.pull_request else None,
        }
        return JSONResponse(answer)

    async def _base(self, repo_type: RepoType, repo_id: str, revision: str | None) -> ServedRevision:
        source = self.source
        return await run_in_threadpool(lambda: source.resolve_in(source.repo(repo_type, repo_id), revision))


def xet_answer(path: str, route: Route | None) -> Response | None:
    """The answer to ``xet-read-token``/``xet-write-token`` (any method, read-only servers too), or None.

    huggingface_hub's Python side shows the ``X-Error-Message``/``error`` of an answer, but
    hf_xet (Rust) shows only the status and the URL it ended on. So the token routes redirect
    (307) to :data:`XET_HELP_PATH`, a URL that spells the fix, which answers 501 (not retried)
    with the message: either way the person reads "set HF_HUB_DISABLE_XET=1".
    """
    if path == XET_HELP_PATH:
        return hub_error(501, XET_UNSUPPORTED)
    if isinstance(route, ApiRoute) and route.action in ("xet-read-token", "xet-write-token"):
        headers = {"X-Error-Message": header_value(XET_UNSUPPORTED)}
        return RedirectResponse(XET_HELP_PATH, status_code=307, headers=headers)
    return None


def parse_commit(body: bytes) -> Commit:
    """The Hub's NDJSON commit payload; anything unexpected is a 400, nothing half-applied."""
    summary, parent = "", None
    additions: list[Addition] = []
    deleted_files: list[str] = []
    deleted_folders: list[str] = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            raise InvalidInputError(f"Commit line {number} is not JSON.") from None
        if not isinstance(item, dict) or not isinstance(item.get("value"), dict):
            raise InvalidInputError(f"Commit line {number} is not {{'key': …, 'value': {{…}}}}.")
        key, value = item.get("key"), item["value"]
        if key == "header":
            summary = str(value.get("summary") or "")
            parent = value.get("parentCommit") if isinstance(value.get("parentCommit"), str) else None
        elif key == "file":
            if value.get("encoding", "base64") != "base64":
                raise InvalidInputError(f"Commit line {number}: only base64 content is accepted.")
            try:
                content = base64.b64decode(str(value.get("content", "")), validate=True)
            except (binascii.Error, ValueError):
                raise InvalidInputError(f"Commit line {number}: the content is not valid base64.") from None
            additions.append(Addition(writable_path(value.get("path")), content=content))
        elif key == "lfsFile":
            path = writable_path(value.get("path"))
            if value.get("algo", "sha256") != "sha256":
                raise InvalidInputError(f"Commit line {number}: only sha256 LFS objects are accepted.")
            size = _non_negative_int(value.get("size"), f"commit line {number} size")
            oid = str(value.get("oid", "")).lower()
            additions.append(Addition(path, oid=oid, size=size))
        elif key == "deletedFile":
            deleted_files.append(writable_path(value.get("path")))
        elif key == "deletedFolder":
            deleted_folders.append(writable_path(str(value.get("path", "")).rstrip("/")))
        else:
            raise InvalidInputError(f"Commit line {number}: unknown operation {key!r}.")
    if not summary:
        raise InvalidInputError("The commit has no header with a summary (the commit message).")
    return Commit(
        summary=summary,
        additions=tuple(additions),
        deleted_files=tuple(deleted_files),
        deleted_folders=tuple(deleted_folders),
        parent_commit=parent,
    )


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 18


async def _validate_yaml(request: Request) -> Response:
    """Errors in the README's YAML front matter, always as JSON."""
    try:
        body = await request.json()
    except ValueError:
        body = None
    content = body.get("content") if isinstance(body, dict) else None
    if not isinstance(content, str):
        return JSONResponse({"errors": [{"message": "'content' must be a string."}], "warnings": []}, 400)
    errors = []
    if content.startswith("---"):
        end = content.find("\n---", 3)
        if end == -1:
            errors.append({"message": "The YAML front matter is not closed with '---'."})
        else:
            try:
                data = yaml.safe_load(content[3:end])
            except yaml.YAMLError as exc:
                errors.append({"message": f"The YAML front matter is not valid YAML: {exc}"})
            else:
                if data is not None and not isinstance(data, dict):
                    errors.append({"message": "The YAML front matter must be a mapping."})
    return JSONResponse({"errors": errors, "warnings": []}, status_code=400 if errors else 200)


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise InvalidInputError("The request body is not JSON.") from None
    if not isinstance(body, dict):
        raise InvalidInputError("The request body must be a JSON object.")
    return body


def _list_of_objects(value: object) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InvalidInputError("Expected a list of objects.")
    return value


def _non_negative_int(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidInputError(f"The {what} must be a non-negative integer.")
    return value


def _repo_url(request: Request, repo_type: RepoType, repo_id: str) -> str:
    base = str(request.base_url).rstrip("/")
    prefix = "/datasets" if repo_type == "dataset" else ""
    return f"{base}{prefix}/{quote(repo_id, safe='/')}"
