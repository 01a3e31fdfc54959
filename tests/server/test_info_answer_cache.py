"""The info answer of a revision is built once, and rebuilt when the revision changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from hg_localization.server import hub_api
from hg_localization.server.app import create_app
from hg_localization.server.folder_source import FolderSource


def test_info_is_built_once_per_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    main = tmp_path / "models" / "acme" / "tiny" / "main"
    main.mkdir(parents=True)
    (main / "README.md").write_text("---\nlicense: mit\n---\n# tiny\n")
    (main / "config.json").write_text("{}")
    built: list[str] = []
    real = hub_api.repo_info_json

    def counting(*args: object, **kwargs: object) -> dict[str, object]:
        built.append("info")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(hub_api, "repo_info_json", counting)
    with TestClient(create_app(FolderSource.for_repos_dir(tmp_path))) as client:
        answers = [client.get("/api/models/acme/tiny").json() for _ in range(5)]
        assert all(a == answers[0] for a in answers)
        assert answers[0]["cardData"] == {"license": "mit"}
        assert len(built) == 1
        (main / "README.md").unlink()
        (main / "README.md").write_text("---\nlicense: apache-2.0\n---\n")  # a new file: new revision
        changed = client.get("/api/models/acme/tiny").json()
    assert changed["cardData"] == {"license": "apache-2.0"}
    assert changed["sha"] != answers[0]["sha"]
    assert len(built) == 2
