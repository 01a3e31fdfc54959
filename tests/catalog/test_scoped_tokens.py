"""A read token scoped to some repos (``read:TOKEN:acme/*``) shows exactly the private repos its
globs cover: in the pages, the search, and the JSON API; sent as a header or set by the form."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from catalog.support import write_stored
from hg_localization.catalog import catalog_app
from hg_localization.server.auth import ServerTokens
from hg_localization.server.store_source import StoreSource
from hg_localization.store.manifest import Selection

CONFIG = b'{"model_type": "bert", "hidden_size": 8}'
ACME = "scoped-acme-token"
EVERYTHING = "unscoped-token"


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    models = tmp_path / "store" / "models"
    for repo_id, private in (("acme/secret", True), ("other/secret", True), ("acme/open", False)):
        write_stored(
            models, repo_id, {"config.json": CONFIG}, selections=[Selection(full=True)], private=private
        )
    tokens_file = tmp_path / "tokens"
    tokens_file.write_text(f"read:{ACME}:acme/*  # acme-team\nread:{EVERYTHING}\n")
    source = StoreSource.for_store(models, tmp_path / "store" / "datasets")
    return TestClient(catalog_app(source, tokens=ServerTokens.from_file(tokens_file)))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def listed(client: TestClient, headers: dict[str, str], **params: str) -> list[str]:
    answer = client.get("/api/catalog/models", headers=headers, params=params)
    return [item["id"] for item in answer.json()["items"]]


def test_a_scoped_token_lists_and_finds_only_the_private_repos_it_covers(client: TestClient) -> None:
    assert listed(client, {}) == ["acme/open"]
    assert listed(client, bearer(ACME)) == ["acme/open", "acme/secret"]
    assert listed(client, bearer(ACME), search="secret") == ["acme/secret"]
    assert listed(client, bearer(EVERYTHING)) == ["acme/open", "acme/secret", "other/secret"]
    assert client.get("/api/catalog/models/acme/secret", headers=bearer(ACME)).status_code == 200
    assert client.get("/api/catalog/models/other/secret", headers=bearer(ACME)).status_code == 404
    assert client.get("/api/catalog/stats", headers=bearer(ACME)).json()["models"] == 2


def test_a_scoped_token_in_the_pages(client: TestClient) -> None:
    page = client.get("/models", params={"search": "secret"}, headers=bearer(ACME)).text
    assert "acme/secret" in page and "other/secret" not in page
    assert "Token ✓" in page
    assert client.get("/acme/secret", headers=bearer(ACME)).status_code == 200
    assert client.get("/other/secret", headers=bearer(ACME)).status_code == 404
    assert "other/secret" not in client.get("/", headers=bearer(ACME)).text


def test_the_token_form_takes_a_scoped_token(client: TestClient) -> None:
    answer = client.post("/login", data={"token": ACME, "next": "/models"}, follow_redirects=False)
    assert answer.status_code == 303
    page = client.get("/models").text  # the cookie the form set
    assert "acme/secret" in page and "other/secret" not in page
    refused = client.post("/login", data={"token": "not-a-token"}, follow_redirects=False)
    assert refused.status_code == 401
