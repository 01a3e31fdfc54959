"""The server's write side, proven with the unmodified huggingface_hub client first, then at the edges."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
from huggingface_hub.errors import HfHubHTTPError
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from hg_localization.server import routing
from hg_localization.server.app import create_app
from hg_localization.server.auth import ServerTokens
from hg_localization.server.folder_source import FolderSource
from hg_localization.server.hub_write import (
    XET_HELP_PATH,
    XET_UNSUPPORTED,
    HubWriteApi,
    parse_commit,
    xet_answer,
)
from hg_localization.server.store_source import StoreSource

from helpers.clients import run_python, run_python_json
from helpers.servers import run_server
from helpers.weights_fixtures import READ_TOKEN, WRITE_TOKEN, WeightsHub, folder_files, write_folder

FILES: dict[str, bytes] = {
    "model.safetensors": bytes(range(256)) * 800,
    "config.json": b'{"hidden_size": 8}\n',
    "sub dir/notes.txt": b"a file name with a space, in a sub-folder\n",
    "README.md": b"---\nlicense: mit\ntags: [test]\n---\n# A model\n",
}


def api(hub: WeightsHub, token: str | None = WRITE_TOKEN) -> HfApi:
    return HfApi(endpoint=hub.url, token=token if token is not None else False)


# --- the unmodified client, end to end ------------------------------------------------------------


def test_create_repo_and_upload_folder_then_download_back_bit_for_bit(
    hub: WeightsHub, tmp_path: Path
) -> None:
    folder = write_folder(tmp_path / "upload", FILES)
    result = run_python_json(
        f"""
        import json
        from huggingface_hub import HfApi
        api = HfApi()
        url = api.create_repo("team/uploaded", exist_ok=True)
        again = api.create_repo("team/uploaded", exist_ok=True)
        info = api.upload_folder(repo_id="team/uploaded", folder_path={str(folder)!r}, commit_message="first")
        answer = {{"url": str(url), "again": str(again), "commit_url": info.commit_url, "oid": info.oid}}
        print(json.dumps(answer))
        """,
        endpoint=hub.url,
        token=WRITE_TOKEN,
        env={"HF_HUB_DISABLE_XET": "1"},
    )
    assert result["url"] == result["again"] == f"{hub.url}/team/uploaded"
    assert result["commit_url"] == f"{hub.url}/team/uploaded/commit/{result['oid']}"
    assert folder_files(hub.revision_dir("team/uploaded")) == FILES

    snapshot = (
        run_python(
            """
        from huggingface_hub import snapshot_download
        print(snapshot_download("team/uploaded"))
        """,
            endpoint=hub.url,
        )
        .strip()
        .splitlines()[-1]
    )
    assert folder_files(Path(snapshot)) == FILES
    info = api(hub, None).model_info("team/uploaded")
    assert info.sha == result["oid"]
    assert [c for m, c in hub.requests("POST") if c.endswith("/commit/main")] == [
        "/api/models/team/uploaded/commit/main"
    ]


class RoutesXetTokens:
    """Sends the Xet token routes to ``xet_answer`` for any method (what create_app should do)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            answer = xet_answer(scope["path"], routing.parse(scope["raw_path"].decode("latin-1")))
            if answer is not None:
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


def test_with_xet_on_the_client_is_told_to_set_hf_hub_disable_xet(tmp_path: Path) -> None:
    """hf_xet is installed, so upload_folder asks for a Xet token: what the person reads says what to do."""
    folder = write_folder(tmp_path / "upload", {"model.safetensors": b"\1" * 5000})
    (tmp_path / "repos" / "models").mkdir(parents=True)
    source = FolderSource.for_repos_dir(tmp_path / "repos")
    tokens = ServerTokens(write=frozenset({WRITE_TOKEN}))
    app = RoutesXetTokens(create_app(source, tokens=tokens, write_api=HubWriteApi(source, tokens)))
    with run_server(app) as url:
        HfApi(endpoint=url, token=WRITE_TOKEN).create_repo("team/xet")
        outcome = run_python_json(
            f"""
            import json
            from huggingface_hub import HfApi
            try:
                HfApi().upload_folder(repo_id="team/xet", folder_path={str(folder)!r})
                print(json.dumps("uploaded"))
            except Exception as exc:
                print(json.dumps(str(exc)))
            """,
            endpoint=url,
            token=WRITE_TOKEN,
            env={"HF_HUB_DISABLE_XET": "0"},
        )
    assert "HF_HUB_DISABLE_XET=1" in outcome


def test_create_commit_in_process_with_deletes_and_a_pull_request(hub: WeightsHub, tmp_path: Path) -> None:
    client = api(hub)
    client.create_repo("team/c")
    first = client.create_commit(
        "team/c",
        [CommitOperationAdd(p, d) for p, d in FILES.items()],
        commit_message="add",
    )
    second = client.create_commit(
        "team/c",
        [CommitOperationDelete("sub dir/"), CommitOperationAdd("config.json", b"{}")],
        commit_message="change",
        parent_commit=first.oid,
    )
    assert second.oid != first.oid
    main = folder_files(hub.revision_dir("team/c"))
    assert main == {
        "model.safetensors": FILES["model.safetensors"],
        "config.json": b"{}",
        "README.md": FILES["README.md"],
    }

    pr = client.create_commit(
        "team/c", [CommitOperationAdd("new.bin", b"n" * 10)], commit_message="pr", create_pr=True
    )
    assert pr.pr_url == f"{hub.url}/team/c/discussions/1"
    assert folder_files(hub.revision_dir("team/c", "refs%2Fpr%2F1"))["new.bin"] == b"n" * 10
    assert "new.bin" not in folder_files(hub.revision_dir("team/c"))
    assert client.list_repo_files("team/c", revision="refs/pr/1")
    # nothing of the building is left behind, nothing hidden is served
    repo_dir = hub.revision_dir("team/c").parent
    assert sorted(p.name for p in repo_dir.iterdir()) == [
        ".hgloc-write.lock",
        "main",
        "refs%2Fpr%2F1",
        "repo.json",
    ]


def test_a_stale_parent_commit_is_refused_with_412(hub: WeightsHub) -> None:
    client = api(hub)
    client.create_repo("team/race")
    first = client.create_commit("team/race", [CommitOperationAdd("a", b"1")], commit_message="1")
    client.create_commit("team/race", [CommitOperationAdd("a", b"2")], commit_message="2")
    with pytest.raises(HfHubHTTPError) as caught:
        client.create_commit(
            "team/race", [CommitOperationAdd("a", b"3")], commit_message="3", parent_commit=first.oid
        )
    assert caught.value.response.status_code == 412
    assert (hub.revision_dir("team/race") / "a").read_bytes() == b"2"


# --- who may write ---------------------------------------------------------------------------------


def test_writes_need_a_write_token(hub: WeightsHub) -> None:
    for token, status in ((None, 401), (READ_TOKEN, 403), ("wrong", 403)):
        with pytest.raises(HfHubHTTPError) as caught:
            api(hub, token).create_repo("team/denied")
        assert caught.value.response.status_code == status
    assert not (hub.repos_dir / "models" / "team" / "denied").exists()


def test_a_read_only_server_refuses_writes(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    app = create_app(
        FolderSource.for_repos_dir(tmp_path), tokens=ServerTokens(write=frozenset({WRITE_TOKEN}))
    )
    with run_server(app) as url, pytest.raises(HfHubHTTPError) as caught:
        HfApi(endpoint=url, token=WRITE_TOKEN).create_repo("team/x")
    assert caught.value.response.status_code == 403
    assert "read-only" in str(caught.value)


def test_the_local_store_is_never_written(tmp_path: Path) -> None:
    source = StoreSource.for_store(tmp_path / "models", tmp_path / "datasets")
    tokens = ServerTokens(write=frozenset({WRITE_TOKEN}))
    with run_server(create_app(source, tokens=tokens, write_api=HubWriteApi(source, tokens))) as url:
        with pytest.raises(HfHubHTTPError) as caught:
            HfApi(endpoint=url, token=WRITE_TOKEN).create_repo("team/x")
    assert caught.value.response.status_code == 400
    assert "serve --repos" in str(caught.value)


def test_an_existing_repo_answers_409_with_its_url_and_private_repos_need_a_read_token(
    hub: WeightsHub,
) -> None:
    client = api(hub)
    client.create_repo("team/secret", private=True)
    response = httpx.post(
        f"{hub.url}/api/repos/create",
        json={"name": "secret", "organization": "team"},
        headers={"Authorization": f"Bearer {WRITE_TOKEN}"},
    )
    assert response.status_code == 409
    assert response.json()["url"] == f"{hub.url}/team/secret"
    with pytest.raises(HfHubHTTPError):
        api(hub, None).model_info("team/secret")
    assert api(hub, READ_TOKEN).model_info("team/secret").private is True


# --- LFS: signed URLs, verified bytes --------------------------------------------------------------


def _batch(hub: WeightsHub, repo: str, data: bytes) -> dict[str, Any]:
    response = httpx.post(
        f"{hub.url}/{repo}.git/info/lfs/objects/batch",
        json={
            "operation": "upload",
            "transfers": ["basic", "multipart"],
            "objects": [{"oid": hashlib.sha256(data).hexdigest(), "size": len(data)}],
            "hash_algo": "sha256",
        },
        headers={"Authorization": f"Bearer {WRITE_TOKEN}", "Accept": "application/vnd.git-lfs+json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["transfer"] == "basic"
    objects = response.json()["objects"]
    assert len(objects) == 1
    return objects[0]


def test_upload_urls_authorise_themselves_and_only_the_announced_bytes_are_kept(hub: WeightsHub) -> None:
    api(hub).create_repo("team/lfs")
    data = b"weights" * 1000
    href = _batch(hub, "team/lfs", data)["actions"]["upload"]["href"]
    assert href.startswith(f"{hub.url}/_hgloc/lfs/model/")

    forged = href.replace("sig=", "sig=0")
    assert httpx.put(forged, content=data).status_code == 403
    wrong = httpx.put(href, content=b"x" * len(data))
    assert wrong.status_code == 400
    assert "sha256" in wrong.json()["error"]
    too_long = httpx.put(href, content=data + b"!")
    assert too_long.status_code == 400
    staging = hub.repos_dir / "models" / ".hgloc-lfs"
    assert list(staging.iterdir()) == []

    assert httpx.put(href, content=data).status_code == 200  # no Authorization header at all
    assert [p.name for p in staging.iterdir()] == [hashlib.sha256(data).hexdigest()]
    assert "actions" not in _batch(hub, "team/lfs", data)  # already there: nothing to send


def test_an_expired_upload_url_is_refused(tmp_path: Path) -> None:
    repos = tmp_path / "repos"
    (repos / "models").mkdir(parents=True)
    source = FolderSource.for_repos_dir(repos)
    tokens = ServerTokens(write=frozenset({WRITE_TOKEN}))
    write_api = HubWriteApi(source, tokens, url_ttl=-1)
    with run_server(create_app(source, tokens=tokens, write_api=write_api)) as url:
        HfApi(endpoint=url, token=WRITE_TOKEN).create_repo("team/old")
        fake = WeightsHub(url=url, repos_dir=repos, recorder=None)  # type: ignore[arg-type]
        href = _batch(fake, "team/old", b"data")["actions"]["upload"]["href"]
        response = httpx.put(href, content=b"data")
    assert response.status_code == 403
    assert "expired" in response.json()["error"]


def _commit(hub: WeightsHub, repo: str, lines: list[dict[str, Any]]) -> httpx.Response:
    header = {"key": "header", "value": {"summary": "raw", "description": ""}}
    body = b"".join(json.dumps(item).encode() + b"\n" for item in [header, *lines])
    return httpx.post(
        f"{hub.url}/api/models/{repo}/commit/main",
        content=body,
        headers={"Authorization": f"Bearer {WRITE_TOKEN}", "Content-Type": "application/x-ndjson"},
    )


def test_commits_refuse_objects_never_uploaded_and_paths_outside_the_repo(hub: WeightsHub) -> None:
    api(hub).create_repo("team/raw")
    missing = _commit(
        hub,
        "team/raw",
        [{"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": "a" * 64, "size": 3}}],
    )
    assert missing.status_code == 400
    assert "never uploaded" in missing.json()["error"]
    content = base64.b64encode(b"x").decode()
    for bad in ("../escape", "/abs", "a/../../b"):
        response = _commit(
            hub,
            "team/raw",
            [{"key": "file", "value": {"path": bad, "content": content, "encoding": "base64"}}],
        )
        assert response.status_code == 400, bad
    assert folder_files(hub.revision_dir("team/raw")) == {}
    assert not (hub.repos_dir / "models" / "team" / "escape").exists()


def test_parse_commit_is_strict() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        parse_commit(b"{nope\n")
    with pytest.raises(ValueError, match="unknown operation"):
        parse_commit(b'{"key":"header","value":{"summary":"s"}}\n{"key":"weird","value":{}}\n')
    with pytest.raises(ValueError, match="no header"):
        parse_commit(b'{"key":"deletedFile","value":{"path":"a"}}\n')
    with pytest.raises(ValueError, match="base64"):
        parse_commit(
            b'{"key":"header","value":{"summary":"s"}}\n{"key":"file","value":{"path":"a","content":"!!"}}\n'
        )


# --- the small routes --------------------------------------------------------------------------------


def test_validate_yaml_answers_json_either_way(hub: WeightsHub) -> None:
    good = httpx.post(
        f"{hub.url}/api/validate-yaml", json={"content": "---\nlicense: mit\n---\n", "repoType": "model"}
    )
    assert (good.status_code, good.json()) == (200, {"errors": [], "warnings": []})
    bad = httpx.post(
        f"{hub.url}/api/validate-yaml", json={"content": "---\nkey: [unclosed\n---\n", "repoType": "model"}
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["message"].startswith("The YAML front matter is not valid YAML")


def test_preupload_says_lfs_or_regular_and_what_is_already_there(hub: WeightsHub) -> None:
    client = api(hub)
    client.create_repo("team/pre")
    client.create_commit("team/pre", [CommitOperationAdd("config.json", b"{}")], commit_message="c")
    response = httpx.post(
        f"{hub.url}/api/models/team/pre/preupload/main",
        json={
            "files": [
                {"path": "config.json", "sample": "", "size": 2},
                {"path": "w.safetensors", "sample": "", "size": 10},
                {"path": "big.dat", "sample": "", "size": 20 * 1024 * 1024},
            ]
        },
        headers={"Authorization": f"Bearer {WRITE_TOKEN}"},
    )
    modes = {f["path"]: (f["uploadMode"], f.get("oid")) for f in response.json()["files"]}
    git_blob = hashlib.sha1(b"blob 2\0{}").hexdigest()
    assert modes == {
        "config.json": ("regular", git_blob),
        "w.safetensors": ("lfs", None),
        "big.dat": ("lfs", None),
    }


def test_xet_token_routes_redirect_to_a_url_that_spells_the_fix_and_answer_501() -> None:
    app = RoutesXetTokens(Starlette(routes=[Route("/{p:path}", lambda r: Response(status_code=404))]))
    with run_server(app) as url:
        for token in ("xet-write-token", "xet-read-token"):
            response = httpx.get(f"{url}/api/models/team/x/{token}/main", follow_redirects=True)
            assert response.status_code == 501  # not retried by the client
            assert str(response.url) == f"{url}{XET_HELP_PATH}"
            assert response.json()["error"] == XET_UNSUPPORTED
            assert "HF_HUB_DISABLE_XET=1" in response.headers["X-Error-Message"]
            assert response.history[0].status_code == 307


def test_the_server_answers_xet_token_routes_with_the_fix(hub: WeightsHub) -> None:
    response = httpx.get(f"{hub.url}/api/models/team/x/xet-write-token/main", follow_redirects=True)
    assert response.status_code == 501
    assert "HF_HUB_DISABLE_XET=1" in response.json()["error"]
