"""routing.parse(): the Hub's URL shapes, matched on the raw (still percent-encoded) path."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hg_localization.server.routing import ApiRoute, LfsBatchRoute, ListRoute, ResolveRoute, parse


@pytest.mark.parametrize(
    ("raw_path", "expected"),
    [
        ("/api/models/org/name", ApiRoute("model", "org/name", "info")),
        ("/api/models/org/name/revision/main", ApiRoute("model", "org/name", "info", "main")),
        ("/api/datasets/org/data", ApiRoute("dataset", "org/data", "info")),
        ("/api/datasets/org/data/revision/v1.0", ApiRoute("dataset", "org/data", "info", "v1.0")),
        ("/api/models/gpt2", ApiRoute("model", "gpt2", "info")),
        ("/api/models/gpt2/revision/main", ApiRoute("model", "gpt2", "info", "main")),
        ("/api/models/org/name/refs", ApiRoute("model", "org/name", "refs")),
        # a repo may be named like an action
        ("/api/models/org/tree", ApiRoute("model", "org/tree", "info")),
        ("/api/models/org/revision", ApiRoute("model", "org/revision", "info")),
        ("/api/models/org/tree/revision/main", ApiRoute("model", "org/tree", "info", "main")),
    ],
)
def test_repo_info_routes(raw_path: str, expected: ApiRoute) -> None:
    assert parse(raw_path) == expected


def test_an_encoded_revision_is_one_segment() -> None:
    assert parse("/api/models/org/name/revision/refs%2Fpr%2F1") == ApiRoute(
        "model", "org/name", "info", "refs/pr/1"
    )
    assert parse("/org/name/resolve/refs%2Fpr%2F1/config.json") == ResolveRoute(
        "model", "org/name", "refs/pr/1", "config.json"
    )


def test_a_commit_id_is_a_revision() -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert parse(f"/api/models/org/name/tree/{sha}") == ApiRoute("model", "org/name", "tree", sha, "")


@pytest.mark.parametrize(
    ("raw_path", "expected"),
    [
        ("/api/models/org/name/tree/main", ApiRoute("model", "org/name", "tree", "main", "")),
        ("/api/models/org/name/tree/main/", ApiRoute("model", "org/name", "tree", "main", "")),
        # huggingface_hub sends the tree path as one encoded segment …
        (
            "/api/models/org/name/tree/main/extra%2Fnested",
            ApiRoute("model", "org/name", "tree", "main", "extra/nested"),
        ),
        # … other clients as plain segments
        (
            "/api/models/org/name/tree/main/extra/nested",
            ApiRoute("model", "org/name", "tree", "main", "extra/nested"),
        ),
        (
            "/api/models/org/name/tree/refs%2Fpr%2F1/a%20b",
            ApiRoute("model", "org/name", "tree", "refs/pr/1", "a b"),
        ),
        ("/api/datasets/org/data/tree/main/data", ApiRoute("dataset", "org/data", "tree", "main", "data")),
        ("/api/models/gpt2/tree/main", ApiRoute("model", "gpt2", "tree", "main", "")),
        ("/api/models/org/name/paths-info/main", ApiRoute("model", "org/name", "paths-info", "main", "")),
        ("/api/datasets/org/data/paths-info/v1.0", ApiRoute("dataset", "org/data", "paths-info", "v1.0", "")),
        ("/api/models/org/name/preupload/main", ApiRoute("model", "org/name", "preupload", "main", "")),
        ("/api/models/org/name/commit/main", ApiRoute("model", "org/name", "commit", "main", "")),
        (
            "/api/models/org/name/xet-write-token/main",
            ApiRoute("model", "org/name", "xet-write-token", "main", ""),
        ),
    ],
)
def test_api_action_routes(raw_path: str, expected: ApiRoute) -> None:
    assert parse(raw_path) == expected


@pytest.mark.parametrize(
    ("raw_path", "expected"),
    [
        ("/org/name/resolve/main/config.json", ResolveRoute("model", "org/name", "main", "config.json")),
        ("/gpt2/resolve/main/config.json", ResolveRoute("model", "gpt2", "main", "config.json")),
        (
            "/models/org/name/resolve/main/config.json",
            ResolveRoute("model", "org/name", "main", "config.json"),
        ),
        (
            "/datasets/org/data/resolve/main/sentences/train-00000-of-00001.parquet",
            ResolveRoute("dataset", "org/data", "main", "sentences/train-00000-of-00001.parquet"),
        ),
        ("/datasets/squad/resolve/main/README.md", ResolveRoute("dataset", "squad", "main", "README.md")),
        (
            "/org/name/resolve/main/extra/file%20with%20space.txt",
            ResolveRoute("model", "org/name", "main", "extra/file with space.txt"),
        ),
        (
            "/org/name/resolve/v1.0/extra/nested/notes.txt",
            ResolveRoute("model", "org/name", "v1.0", "extra/nested/notes.txt"),
        ),
    ],
)
def test_resolve_routes(raw_path: str, expected: ResolveRoute) -> None:
    assert parse(raw_path) == expected


@pytest.mark.parametrize(
    ("raw_path", "expected"),
    [
        ("/org/name.git/info/lfs/objects/batch", LfsBatchRoute("model", "org/name")),
        ("/datasets/org/data.git/info/lfs/objects/batch", LfsBatchRoute("dataset", "org/data")),
        ("/gpt2.git/info/lfs/objects/batch", LfsBatchRoute("model", "gpt2")),
    ],
)
def test_lfs_batch_routes(raw_path: str, expected: LfsBatchRoute) -> None:
    assert parse(raw_path) == expected


def test_the_catalogue_routes() -> None:
    assert parse("/api/models") == ListRoute("model")
    assert parse("/api/datasets") == ListRoute("dataset")


@pytest.mark.parametrize(
    "raw_path",
    [
        "/",
        "/favicon.ico",
        "/api",
        "/api/spaces/org/name",
        "/api/models/a/b/c/d",
        "/api/models/org/name/tree",
        "/api/models/org/name/revision/main/extra",
        "/api/models/org/name/refs/extra",
        "/org/name/resolve/main",
        "/org/name/blob/main/config.json",
        "/org/name/info/lfs/objects/batch",
    ],
)
def test_unknown_shapes_are_not_routes(raw_path: str) -> None:
    assert parse(raw_path) is None


# --- properties: no input crashes the parser, and what a client encodes comes back ---------------

_TEXT = st.text(st.characters(exclude_categories=("Cs",)))  # what quote() can encode
_SEGMENT = _TEXT.filter(lambda s: s and "/" not in s)


@given(st.text())
def test_no_path_crashes_the_parser(raw_path: str) -> None:
    route = parse(raw_path)
    assert route is None or isinstance(route, ApiRoute | ResolveRoute | ListRoute | LfsBatchRoute)


@given(st.lists(st.sampled_from(["api", "models", "datasets", "resolve", "tree", "refs", "%2F", "%00", ""])))
def test_no_arrangement_of_route_words_crashes_the_parser(segments: list[str]) -> None:
    parse("/" + "/".join(segments))


@given(revision=_TEXT.filter(bool), path=st.lists(_SEGMENT, min_size=1, max_size=4).map("/".join))
def test_an_encoded_revision_and_path_come_back_as_sent(revision: str, path: str) -> None:
    """What huggingface_hub sends: the revision as one segment (``quote(rev, safe="")``), the path quoted."""
    encoded = quote(revision, safe="")
    assert parse(f"/org/name/resolve/{encoded}/{quote(path)}") == ResolveRoute(
        "model", "org/name", revision, path
    )
    assert parse(f"/api/datasets/org/data/tree/{encoded}/{quote(path, safe='')}") == ApiRoute(
        "dataset", "org/data", "tree", revision, path.strip("/")
    )
