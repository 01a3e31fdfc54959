"""Resolve and info answers from memory skip the router: the same answers, counted and logged as
any other, and never for a path the router gives to another route (a page of the catalog)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from starlette.responses import Response
from starlette.testclient import TestClient
from starlette.types import Scope

from hg_localization.catalog import catalog_app
from hg_localization.server.app import create_app
from hg_localization.server.folder_source import FolderSource
from hg_localization.server.hub_api import HubReadApi
from hg_localization.server.routing import ApiRoute, ResolveRoute


@pytest.fixture
def repos(tmp_path: Path) -> Path:
    """``acme/tree`` (a repo name the catalog's URLs use too), every folder's mtime in the past."""
    main = tmp_path / "models" / "acme" / "tree" / "main"
    main.mkdir(parents=True)
    (main / "config.json").write_text('{"a": 1}')
    past = time.time() - 60  # an unchanged old mtime proves an unchanged folder: answers from memory
    for folder in [tmp_path, *(p for p in tmp_path.rglob("*") if p.is_dir())]:
        os.utime(folder, (past, past))
    return tmp_path


def test_answers_from_memory_carry_every_header_of_the_first_answer_and_are_counted(
    repos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_memory: list[bool] = []
    real = HubReadApi.from_memory

    def recording(self: HubReadApi, scope: Scope, route: ResolveRoute | ApiRoute) -> Response | None:
        answer = real(self, scope, route)
        from_memory.append(answer is not None)
        return answer

    monkeypatch.setattr(HubReadApi, "from_memory", recording)
    url, info = "/acme/tree/resolve/main/config.json", "/api/models/acme/tree/revision/main"
    with TestClient(create_app(FolderSource.for_repos_dir(repos))) as client:
        heads = [client.head(url) for _ in range(4)]
        infos = [client.get(info) for _ in range(4)]
        blobs = [client.get(f"{info}?blobs=true").json() for _ in range(2)]
        metrics = client.get("/metrics").text
    for answers in (heads, infos):
        first = {k: v for k, v in answers[0].headers.items() if k != "date"}
        assert all({k: v for k, v in a.headers.items() if k != "date"} == first for a in answers)
        assert all(a.content == answers[0].content for a in answers)
    expected = {"x-repo-commit", "etag", "x-linked-size", "content-length", "last-modified"}
    assert expected <= set(heads[0].headers)
    assert infos[0].json()["siblings"] == [{"rfilename": "config.json"}]
    assert blobs[0] == blobs[1] and blobs[0]["siblings"][0]["size"] == 8  # the query variant kept apart
    assert 'hgloc_http_requests_total{route="resolve",method="HEAD",status="200"} 4' in metrics
    assert 'hgloc_http_requests_total{route="api-info",method="GET",status="200"} 6' in metrics
    # a folder's first answer registers its walk, its second is remembered; an info answer, and
    # each query variant of it, is built once (by the router's path) before it is sent from memory
    assert from_memory == [False, False, True, True, False, True, True, True, False, True]


def test_a_path_a_page_of_the_catalog_answers_is_never_answered_from_memory(repos: Path) -> None:
    with TestClient(catalog_app(FolderSource.for_repos_dir(repos))) as client:
        for _ in range(3):  # acme/tree at main answered: in memory
            assert client.get("/api/models/acme/tree/revision/main").status_code == 200
        # ``/acme/tree/resolve/…`` is the catalog's page of repo ``acme`` at ``resolve`` (its route
        # comes first), though it reads as a resolve of ``acme/tree`` too.
        page = client.get("/acme/tree/resolve/main/config.json")
        file = client.get("/models/acme/tree/resolve/main/config.json", headers={"Accept": "*/*"})
    assert page.headers["content-type"].startswith("text/html")
    assert "x-repo-commit" not in page.headers
    assert file.headers["content-type"].startswith("text/html")  # also a page: same precedence
