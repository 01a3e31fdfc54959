"""The Hub's ref and repo-management API, as ``HfApi`` sends it (``hf repos tag/branch/settings/delete``).

=================================================  ===============================================
``POST   /api/{type}s/{repo}/tag/{revision}``       ``{"tag", "message"?}``: tag a revision (409 when taken)
``DELETE /api/{type}s/{repo}/tag/{tag}``            delete a tag
``POST   /api/{type}s/{repo}/branch/{branch}``      ``{"startingPoint"?}``: a branch (409 when taken)
``DELETE /api/{type}s/{repo}/branch/{branch}``      delete a branch (never the default one)
``PUT    /api/{type}s/{repo}/settings``             ``{"visibility": "private"|"public"}`` or ``{"private"}``
``DELETE /api/repos/delete``                        ``{"name", "organization"?, "type"?}``
=================================================  ===============================================

Each needs a write token, like every write. Names arrive URL-encoded as one path segment; they
are checked like revisions (:func:`hg_localization.ids.validate_ref_name`) before any file is
touched. The disk side is :class:`RefWriter`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hg_localization.errors import HGLocalizationError, InvalidInputError
from hg_localization.ids import RepoType, parse_repo_type
from hg_localization.server.ref_writer import RefExistsError, RefKind, RefWriter
from hg_localization.server.responses import error_response, hub_error
from hg_localization.server.routing import ApiRoute, Route

DELETE_REPO_PATH = "/api/repos/delete"


@dataclass
class HubRefsApi:
    """Branches, tags and repo deletion (``create_tag``, ``create_branch``, ``delete_*``) over a
    folder of repos, as huggingface_hub calls them; every call needs a write token for the repo."""

    refs: RefWriter
    #: The write-token check of the write API: None when the request may write to the repo (None:
    #: to some repo, before the id is read from the body), else the answer.
    deny: Callable[[Request, str | None], Response | None]

    @staticmethod
    def handles(request: Request, route: Route | None) -> bool:
        method, path = request.method, request.url.path
        if path == DELETE_REPO_PATH:
            return method == "DELETE"
        if not isinstance(route, ApiRoute):
            return False
        if route.action in ("tag", "branch"):
            return method in ("POST", "DELETE")
        return route.action == "settings" and method == "PUT"

    async def handle(self, request: Request, route: Route | None) -> Response | None:
        """Answer a ref, settings or repo-deletion request, or None when this is not one."""
        if not self.handles(request, route):
            return None
        denied = self.deny(request, route.repo_id if isinstance(route, ApiRoute) else None)
        if denied is not None:
            return denied
        try:
            if request.url.path == DELETE_REPO_PATH:
                return await self._delete_repo(request)
            assert isinstance(route, ApiRoute)
            if route.action == "settings":
                return await self._settings(request, route)
            return await self._ref(request, route)
        except RefExistsError as exc:
            return hub_error(409, exc.message)
        except HGLocalizationError as exc:
            return error_response(exc)

    async def _ref(self, request: Request, route: ApiRoute) -> Response:
        kind: RefKind = "tag" if route.action == "tag" else "branch"
        segment = "/".join(p for p in (route.revision, route.path) if p)  # one segment, when encoded
        if request.method == "DELETE":
            await run_in_threadpool(self.refs.delete, route.repo_type, route.repo_id, kind, segment)
            return JSONResponse({"deleted": segment})
        body = await _json_object(request, allow_empty=True)
        if body.get("emptyBranch"):
            raise InvalidInputError("This server makes branches from a revision only, not empty ones.")
        # POST tag/{revision} {"tag", "message"?} | POST branch/{branch} {"startingPoint"?}
        name = body.get("tag") if kind == "tag" else segment
        start = segment if kind == "tag" else body.get("startingPoint")
        message = body.get("message") if kind == "tag" else None
        if not (isinstance(name, str) and all(isinstance(v, str | None) for v in (start, message))):
            raise InvalidInputError(f"The {kind} name, its starting point and its message must be strings.")
        created = await run_in_threadpool(
            lambda: self.refs.create(route.repo_type, route.repo_id, kind, name, start=start, message=message)
        )
        prefix = "refs/tags" if kind == "tag" else "refs/heads"
        return JSONResponse({"name": name, "ref": f"{prefix}/{name}", "targetCommit": created.commit})

    async def _settings(self, request: Request, route: ApiRoute) -> Response:
        body = await _json_object(request)
        private = body.get("private")
        visibility = body.get("visibility")
        if visibility is not None:
            if visibility not in ("private", "public"):
                raise InvalidInputError("'visibility' must be 'private' or 'public' on this server.")
            private = visibility == "private"
        if body.get("gated") not in (None, False):
            raise InvalidInputError("This server has no gated repos: only visibility can be changed.")
        if not isinstance(private, bool):
            raise InvalidInputError('Send {"visibility": "private"|"public"} (or {"private": true|false}).')
        await run_in_threadpool(self.refs.set_private, route.repo_type, route.repo_id, private)
        return JSONResponse({"private": private})

    async def _delete_repo(self, request: Request) -> Response:
        body = await _json_object(request)
        name, organization = body.get("name"), body.get("organization")
        if not isinstance(name, str) or not isinstance(organization, str | None):
            raise InvalidInputError("'name' (and 'organization', if given) must be strings.")
        repo_type: RepoType = parse_repo_type(str(body.get("type") or "model"))
        repo_id = f"{organization}/{name}" if organization else name
        denied = self.deny(request, repo_id)  # token scopes: the id is known only now
        if denied is not None:
            return denied
        await run_in_threadpool(self.refs.delete_repo, repo_type, repo_id)
        return JSONResponse({"deleted": repo_id})


async def _json_object(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    raw = await request.body()
    if allow_empty and not raw.strip():
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise InvalidInputError("The request body is not JSON.") from None
    if not isinstance(body, dict):
        raise InvalidInputError("The request body must be a JSON object.")
    return body
