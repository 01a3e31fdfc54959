"""The catalog's JSON API: what the pages show, each parameter checked as the OpenAPI says."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from catalog.support import AUTH, TOKENS, write_repo
from hg_localization.catalog import catalog_app
from hg_localization.catalog.compare import compare_sides, load_side
from hg_localization.catalog.routes import default_catalog
from hg_localization.server.folder_source import FolderSource

from helpers.sample_repos import SampleRepos


def test_lists_filter_and_page(client: TestClient, sample_repos: SampleRepos) -> None:
    listing = client.get("/api/catalog/models").json()
    assert [item["id"] for item in listing["items"]] == [
        "hgloc-test/no-config",
        "hgloc-test/tiny-bert",
        "tiny-legacy",
    ]
    assert listing["total"] == 3 and listing["limit"] == 50
    bert = listing["items"][1]
    assert bert["url"] == "/hgloc-test/tiny-bert" and bert["tags"] == ["bert", "tiny", "test"]
    assert bert["default_revision"]["kind"] == "full" and bert["revision_count"] == 3
    page = client.get("/api/catalog/models", params={"limit": 1, "offset": 1}).json()
    assert [item["id"] for item in page["items"]] == ["hgloc-test/tiny-bert"] and page["total"] == 3
    private = client.get("/api/catalog/models", headers=AUTH).json()
    assert sample_repos.private in [item["id"] for item in private["items"]]
    datasets = client.get("/api/catalog/datasets", params={"search": "csv"}).json()
    assert [item["id"] for item in datasets["items"]] == ["hgloc-test/csv-dataset"]


def test_a_parameter_the_description_does_not_allow_is_a_400(client: TestClient) -> None:
    for params in (
        {"limit": "0"},
        {"limit": "x"},
        {"offset": "-1"},
        {"kind": "all"},
        {"public": "yes"},
        {"sort": "up"},
    ):
        answer = client.get("/api/catalog/models", params=params)
        assert answer.status_code == 400, params
        assert set(answer.json()) == {"error"}
    assert client.get("/api/catalog/compare", params={"a": "tiny-legacy"}).status_code == 400


def test_one_repo(client: TestClient, sample_repos: SampleRepos) -> None:
    detail = client.get("/api/catalog/models/hgloc-test/tiny-bert").json()
    assert detail["revision"]["name"] == "main" and detail["card_data"]["license"] == "apache-2.0"
    assert detail["config"]["hidden_dropout_prob"] == 0.1
    assert "<h1>tiny-bert</h1>" in detail["card_html"]
    assert {f["path"] for f in detail["files"]} >= {"config.json", "model.safetensors"}
    assert [s["title"] for s in detail["snippets"]] == ["Command line", "transformers"]
    tagged = client.get("/api/catalog/models/hgloc-test/tiny-bert", params={"revision": "v1.0"}).json()
    assert tagged["config"]["hidden_dropout_prob"] == 0.2
    assert client.get("/api/catalog/models/tiny-legacy").status_code == 200
    assert client.get("/api/catalog/datasets/hgloc-test/tiny-dataset").json()["config"] is None
    assert (
        client.get("/api/catalog/models/hgloc-test/tiny-bert", params={"revision": "nope"}).status_code == 404
    )
    assert client.get(f"/api/catalog/models/{sample_repos.private}").status_code == 404
    assert client.get(f"/api/catalog/models/{sample_repos.private}", headers=AUTH).status_code == 200
    assert client.get("/api/catalog/models/a%20b").status_code == 404
    assert client.get("/api/catalog/nothing/here").status_code == 404


def test_the_api_is_read_only(client: TestClient) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        answer = client.request(method, "/api/catalog/models")
        assert answer.status_code == 405 and answer.headers["allow"] == "GET, HEAD"


def test_compare(client: TestClient) -> None:
    answer = client.get(
        "/api/catalog/compare", params={"a": "hgloc-test/tiny-bert", "b": "hgloc-test/tiny-bert@v1.0"}
    )
    result = answer.json()
    assert (
        result["a"]["revision"] == "main" and result["b"]["revision"] == "v1.0" and result["differing"] == 1
    )
    assert [row for row in result["rows"] if row["differs"]] == [
        {"key": "hidden_dropout_prob", "a": "0.1", "b": "0.2", "differs": True}
    ]
    assert client.get("/api/catalog/compare", params={"a": "x@", "b": "tiny-legacy"}).status_code == 404


def test_a_value_true_differs_from_1(tmp_path: Path) -> None:
    """compare-models' diffing: Python's ``True == 1`` must not hide a changed config value."""
    write_repo(tmp_path, "org/a", {"config.json": b'{"use_cache": true, "n": 1, "eps": 1.0, "l": [true]}'})
    write_repo(tmp_path, "org/b", {"config.json": b'{"use_cache": 1, "n": 1.0, "eps": 1, "l": [1]}'})
    catalog = default_catalog(FolderSource.for_repos_dir(tmp_path))
    rows = compare_sides(
        load_side(catalog, "org/a", may_read=False), load_side(catalog, "org/b", may_read=False)
    )
    assert {row.key: row.differs for row in rows} == {"eps": False, "l": True, "n": False, "use_cache": True}


def test_openapi_describes_every_route(client: TestClient) -> None:
    document = client.get("/api/catalog/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {
        "/api/catalog/stats",
        "/api/catalog/models",
        "/api/catalog/datasets",
        "/api/catalog/models/{namespace}/{name}",
        "/api/catalog/models/{name}",
        "/api/catalog/datasets/{namespace}/{name}",
        "/api/catalog/datasets/{name}",
        "/api/catalog/compare",
        "/api/catalog/collections",
        "/api/catalog/collections/{name}",
    }
    assert "RepoDetailOut" in document["components"]["schemas"]


def test_a_hostile_config_and_front_matter_stay_data(tmp_path: Path) -> None:
    write_repo(
        tmp_path,
        "evil/config",
        {
            "config.json": b'{"</td><script>alert(1)</script>": "<img src=x onerror=alert(2)>", "x": NaN}',
            "README.md": b"---\n1: [2, {3: 4}]\nwhen: 2024-01-01\n---\nhi\n",
        },
    )
    with TestClient(catalog_app(FolderSource.for_repos_dir(tmp_path), tokens=TOKENS)) as client:
        html = client.get("/evil/config").text
        assert "<script>alert(1)" not in html and "<img src=x" not in html
        assert "&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
        detail = client.get("/api/catalog/models/evil/config")
        assert detail.status_code == 200
        assert detail.json()["card_data"] == {"1": [2, {"3": 4}], "when": "2024-01-01"}
        assert detail.json()["config"]["x"] == "nan"
