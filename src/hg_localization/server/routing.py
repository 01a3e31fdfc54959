"""Parse the Hub's URL shapes from the raw (still percent-encoded) request path. Pure.

The Hub's clients encode a revision as one segment (``refs%2Fpr%2F1``) and a tree path the same
way, so routes are matched on the raw path, each segment decoded only after it is split off.
Ids without a namespace (``/api/models/gpt2/tree/main``) are matched after ``ns/name`` ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

from hg_localization.ids import RepoType

ApiAction = Literal[
    "info",
    "tree",
    "paths-info",
    "refs",
    "preupload",
    "commit",
    "xet-read-token",
    "xet-write-token",
    "tag",
    "branch",
    "settings",
    "commits",
]
_ACTIONS_WITH_REVISION: frozenset[str] = frozenset(
    {"revision", "tree", "paths-info", "preupload", "commit", "xet-read-token", "xet-write-token"}
    | {"tag", "branch"}  # ``tag/{revision or tag}``, ``branch/{branch}``: one encoded segment
    | {"commits"}
)
_ACTIONS_WITHOUT_TAIL: frozenset[str] = frozenset({"refs", "settings"})
_ACTIONS: frozenset[str] = _ACTIONS_WITH_REVISION | _ACTIONS_WITHOUT_TAIL
_TYPE_SEGMENTS: dict[str, RepoType] = {"models": "model", "datasets": "dataset"}


@dataclass(frozen=True)
class ApiRoute:
    """``/api/{type}s/{repo}[/{action}/{revision}[/{path}]]``"""

    repo_type: RepoType
    repo_id: str
    action: ApiAction
    revision: str | None = None
    path: str = ""


@dataclass(frozen=True)
class ResolveRoute:
    """``[/datasets]/{repo}/resolve/{revision}/{path}``"""

    repo_type: RepoType
    repo_id: str
    revision: str
    path: str


@dataclass(frozen=True)
class ListRoute:
    """``/api/{type}s`` — the catalogue (``HfApi.list_models``)."""

    repo_type: RepoType


@dataclass(frozen=True)
class LfsBatchRoute:
    """``[/datasets]/{repo}.git/info/lfs/objects/batch``"""

    repo_type: RepoType
    repo_id: str


Route = ApiRoute | ResolveRoute | ListRoute | LfsBatchRoute


def parse(raw_path: str) -> Route | None:
    segments = raw_path.strip("/").split("/") if raw_path.strip("/") else []
    if segments and segments[0] == "api":
        return _parse_api(segments[1:])
    return _parse_resolve(segments) or _parse_lfs(segments)


def _parse_api(segments: list[str]) -> Route | None:
    if not segments or segments[0] not in _TYPE_SEGMENTS:
        return None
    repo_type = _TYPE_SEGMENTS[segments[0]]
    rest = segments[1:]
    if not rest:
        return ListRoute(repo_type)
    for id_length in (2, 1):
        if len(rest) > id_length and rest[id_length] in _ACTIONS:
            repo_id = "/".join(unquote(s) for s in rest[:id_length])
            action = rest[id_length]
            tail = rest[id_length + 1 :]
            if action in _ACTIONS_WITHOUT_TAIL:
                return ApiRoute(repo_type, repo_id, action) if not tail else None  # type: ignore[arg-type]
            if not tail:  # ``/api/models/org/tree`` is the info of a repo named "tree"
                continue
            revision = unquote(tail[0])
            path = unquote("/".join(tail[1:])).strip("/")
            if action == "revision":
                return ApiRoute(repo_type, repo_id, "info", revision) if not path else None
            return ApiRoute(repo_type, repo_id, action, revision, path)  # type: ignore[arg-type]
    if len(rest) <= 2:
        return ApiRoute(repo_type, "/".join(unquote(s) for s in rest), "info")
    return None


def _split_type(segments: list[str]) -> tuple[RepoType, list[str]]:
    if segments and segments[0] == "datasets":
        return "dataset", segments[1:]
    if segments and segments[0] == "models":
        return "model", segments[1:]
    return "model", segments


def _parse_resolve(segments: list[str]) -> ResolveRoute | None:
    repo_type, rest = _split_type(segments)
    for id_length in (2, 1):
        if len(rest) > id_length + 2 and rest[id_length] == "resolve":
            repo_id = "/".join(unquote(s) for s in rest[:id_length])
            revision = unquote(rest[id_length + 1])
            path = unquote("/".join(rest[id_length + 2 :]))
            return ResolveRoute(repo_type, repo_id, revision, path)
    return None


def _parse_lfs(segments: list[str]) -> LfsBatchRoute | None:
    repo_type, rest = _split_type(segments)
    if len(rest) >= 5 and rest[-4:] == ["info", "lfs", "objects", "batch"]:
        id_segments = rest[:-4]
        if id_segments and id_segments[-1].endswith(".git") and len(id_segments) in (1, 2):
            id_segments = [*id_segments[:-1], id_segments[-1][: -len(".git")]]
            return LfsBatchRoute(repo_type, "/".join(unquote(s) for s in id_segments))
    return None
