"""The catalog's page URLs are the Hub's own, and never one of the Hub API's."""

from __future__ import annotations

import pytest

from hg_localization.catalog.paths import PageRoute, parse_page, resolve_url, tree_url


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/org/name", PageRoute("model", "org/name", "repo")),
        ("/gpt2", PageRoute("model", "gpt2", "repo")),
        ("/datasets/org/data", PageRoute("dataset", "org/data", "repo")),
        ("/datasets/squad", PageRoute("dataset", "squad", "repo")),
        ("/models/org/name", PageRoute("model", "org/name", "repo")),
        ("/org/name/tree/main", PageRoute("model", "org/name", "tree", "main")),
        ("/org/name/tree/main/extra/nested", PageRoute("model", "org/name", "tree", "main", "extra/nested")),
        ("/org/name/tree/refs%2Fpr%2F1", PageRoute("model", "org/name", "tree", "refs/pr/1")),
        ("/gpt2/tree/v1.0/a%20b.txt", PageRoute("model", "gpt2", "tree", "v1.0", "a b.txt")),
        ("/datasets/org/data/tree/main/data", PageRoute("dataset", "org/data", "tree", "main", "data")),
    ],
)
def test_pages_are_parsed_from_the_hubs_urls(path: str, expected: PageRoute) -> None:
    assert parse_page(path) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/models",
        "/datasets",
        "/compare",
        "/login",
        "/metrics",
        "/health",
        "/static/catalog.css",
        "/api/models",
        "/api/models/org/name",
        "/api/datasets/org/data/tree/main",
        "/api/catalog/models",
        "/org/name/resolve/main/config.json",
        "/datasets/org/data/resolve/main/data/train.csv",
        "/gpt2/resolve/main/config.json",
        "/org/name.git/info/lfs/objects/batch",
        "/org/name/blob/main/x",
    ],
)
def test_the_hub_apis_urls_are_never_pages(path: str) -> None:
    assert parse_page(path) is None


def test_urls_are_built_as_they_are_parsed() -> None:
    url = tree_url("model", "org/name", "refs/pr/1", "extra/file with space.txt")
    assert url == "/org/name/tree/refs%2Fpr%2F1/extra/file%20with%20space.txt"
    assert parse_page(url) == PageRoute("model", "org/name", "tree", "refs/pr/1", "extra/file with space.txt")
    assert resolve_url("dataset", "org/d", "main", "a b.csv") == "/datasets/org/d/resolve/main/a%20b.csv"
