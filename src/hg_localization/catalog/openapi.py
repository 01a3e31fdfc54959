"""The OpenAPI 3.1 description of ``/api/catalog/…``, its schemas generated from :mod:`.schemas`."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic.json_schema import models_json_schema

from hg_localization._version import __version__
from hg_localization.catalog.model import KINDS
from hg_localization.catalog.schemas import (
    CollectionListOut,
    CollectionOut,
    CompareOut,
    ErrorOut,
    RepoDetailOut,
    RepoListOut,
    StatsOut,
)

_REF = "#/components/schemas/{model}"
#: A repo name as the Hub allows it (the server answers 404 for any other).
NAME_PATTERN = r"^[A-Za-z0-9_](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?$"
#: A collection's name as the manifest allows it.
COLLECTION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


def _ok(model: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model=model)}}},
    }


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model="ErrorOut")}}},
    }


def _query(name: str, schema: dict[str, Any], description: str, *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


def _path(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": NAME_PATTERN},
        "description": description,
    }


_LIST_PARAMETERS = [
    _query(
        "search", {"type": "string"}, "Words that must all appear in the id, name, task, library or tags."
    ),
    _query("author", {"type": "string"}, "The namespace (``org`` of ``org/name``)."),
    _query("tag", {"type": "string"}, "A tag of the card's front matter."),
    _query("kind", {"type": "string", "enum": list(KINDS)}, "What the default revision holds."),
    _query("public", {"type": "boolean"}, "Published to the bucket's public prefix, or not."),
    _query("source", {"type": "string"}, "Only repos of this source (``store``, ``folder``, …)."),
    _query("sort", {"type": "string", "enum": ["id", "recent"]}, "By id, or most recently updated first."),
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "Items per page (50)."),
    _query("offset", {"type": "integer", "minimum": 0, "maximum": 1_000_000}, "Items to skip (0)."),
]
_REVISION = _query("revision", {"type": "string"}, "A branch, tag or commit (default: the default branch).")


def _list_operation(kind: str) -> dict[str, Any]:
    return {
        "get": {
            "operationId": f"list_{kind}s",
            "summary": f"The {kind}s this server holds that the caller may see",
            "parameters": _LIST_PARAMETERS,
            "responses": {
                "200": _ok("RepoListOut", f"A page of {kind}s"),
                "400": _error("A parameter is not valid"),
            },
        }
    }


def _detail_operation(kind: str, *, namespaced: bool) -> dict[str, Any]:
    parameters = [_path("namespace", "The namespace of the id")] if namespaced else []
    parameters += [_path("name", "The name of the id"), _REVISION]
    suffix = "" if namespaced else "_without_namespace"
    return {
        "get": {
            "operationId": f"get_{kind}{suffix}",
            "summary": f"One {kind}: card, config, files, revisions and snippets",
            "parameters": parameters,
            "responses": {
                "200": _ok("RepoDetailOut", f"The {kind} at the revision asked for"),
                "400": _error("A parameter is not valid"),
                "404": _error("No such repo or revision, or the caller may not read it"),
            },
        }
    }


_NO_MANIFEST = "No such collection, or the server was started without a manifest (--collections)"
_COLLECTIONS = {
    "get": {
        "operationId": "list_collections",
        "summary": "The collections of the server's manifest, with how many entries it holds",
        "responses": {
            "200": _ok("CollectionListOut", "Every collection"),
            "404": _error("The server was started without a manifest (--collections)"),
        },
    }
}
_COLLECTION = {
    "get": {
        "operationId": "get_collection",
        "summary": "One collection: each entry present at a commit on this server, or missing",
        "parameters": [
            {
                "name": "name",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": COLLECTION_PATTERN},
                "description": "The collection's name in the manifest",
            }
        ],
        "responses": {"200": _ok("CollectionOut", "The collection"), "404": _error(_NO_MANIFEST)},
    }
}


@cache
def openapi_document() -> dict[str, Any]:
    answers = (RepoListOut, RepoDetailOut, CompareOut, StatsOut, CollectionListOut, CollectionOut, ErrorOut)
    models = [(model, "serialization") for model in answers]
    _, definitions = models_json_schema(models, ref_template=_REF)  # type: ignore[arg-type]
    compare = {
        "get": {
            "operationId": "compare_configs",
            "summary": "Two models' config.json side by side",
            "parameters": [
                _query("a", {"type": "string"}, "ORG/NAME or ORG/NAME@REVISION", required=True),
                _query("b", {"type": "string"}, "ORG/NAME or ORG/NAME@REVISION", required=True),
            ],
            "responses": {
                "200": _ok("CompareOut", "Every key of both configs"),
                "400": _error("a or b is missing"),
                "404": _error("A model, revision or config.json is not there"),
                "422": _error("A config.json is not a JSON object"),
            },
        }
    }
    stats = {
        "get": {
            "operationId": "stats",
            "summary": "What the server holds",
            "responses": {"200": _ok("StatsOut", "Counts")},
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "hg-localization catalog", "version": __version__},
        "paths": {
            "/api/catalog/stats": stats,
            "/api/catalog/models": _list_operation("model"),
            "/api/catalog/datasets": _list_operation("dataset"),
            "/api/catalog/models/{namespace}/{name}": _detail_operation("model", namespaced=True),
            "/api/catalog/models/{name}": _detail_operation("model", namespaced=False),
            "/api/catalog/datasets/{namespace}/{name}": _detail_operation("dataset", namespaced=True),
            "/api/catalog/datasets/{name}": _detail_operation("dataset", namespaced=False),
            "/api/catalog/compare": compare,
            "/api/catalog/collections": _COLLECTIONS,
            "/api/catalog/collections/{name}": _COLLECTION,
        },
        "components": {"schemas": definitions["$defs"]},
    }
