"""Tags, branches, visibility and repo deletion on the project's server, with the unmodified client.

``HfApi.create_tag`` / ``delete_tag`` / ``create_branch`` / ``delete_branch`` /
``update_repo_settings`` / ``delete_repo`` and ``hf repos tag create``, as a team that hosts its
weights on this server uses them; then hostile names; then a tag localized from upstream into
the store and served from there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from huggingface_hub.errors import (
    BadRequestError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from hg_localization.config import HGLocalizationConfig
from hg_localization.server import routing
from hg_localization.server.app import create_app
from hg_localization.server.routing import ApiRoute
from hg_localization.server.store_source import StoreSource
from hg_localization.usecases import models

from helpers.servers import PRIVATE_TOKEN, run_server
from helpers.weights_fixtures import READ_TOKEN, WRITE_TOKEN, WeightsHub, folder_files

V1 = {"model.safetensors": b"\x01" * 4000, "config.json": b'{"version": 1}\n'}
V2 = {"model.safetensors": b"\x02" * 4000, "config.json": b'{"version": 2}\n'}


def api(hub: WeightsHub, token: str | None = WRITE_TOKEN) -> HfApi:
    return HfApi(endpoint=hub.url, token=token if token is not None else False)


def commit(client: HfApi, repo: str, files: dict[str, bytes], **kwargs: Any) -> str:
    operations = [CommitOperationAdd(path, data) for path, data in files.items()]
    return client.create_commit(repo, operations, commit_message="files", **kwargs).oid


def download(hub: WeightsHub, repo: str, path: str, revision: str, cache: Path) -> bytes:
    local = hf_hub_download(
        repo, path, revision=revision, endpoint=hub.url, cache_dir=str(cache), token=False
    )
    return Path(local).read_bytes()


def refs_of(client: HfApi, repo: str) -> tuple[dict[str, str], dict[str, str]]:
    refs = client.list_repo_refs(repo)
    return (
        {b.name: b.target_commit for b in refs.branches},
        {t.name: t.target_commit for t in refs.tags},
    )


# --- the routes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/api/models/org/w/tag/main", ApiRoute("model", "org/w", "tag", "main")),
        ("/api/models/org/w/tag/v1.0", ApiRoute("model", "org/w", "tag", "v1.0")),
        ("/api/datasets/org/d/tag/refs%2Fpr%2F1", ApiRoute("dataset", "org/d", "tag", "refs/pr/1")),
        ("/api/models/org/w/branch/release%2F2", ApiRoute("model", "org/w", "branch", "release/2")),
        ("/api/models/gpt2/branch/dev", ApiRoute("model", "gpt2", "branch", "dev")),
        ("/api/models/org/w/settings", ApiRoute("model", "org/w", "settings")),
        ("/api/models/org/tag", ApiRoute("model", "org/tag", "info")),  # a repo named "tag"
    ],
)
def test_ref_and_settings_routes_are_parsed_from_the_raw_path(path: str, route: ApiRoute) -> None:
    assert routing.parse(path) == route


# --- the unmodified client -------------------------------------------------------------------------


def test_release_v1_and_v2_side_by_side_then_branch_from_a_tag_and_delete(
    hub: WeightsHub, tmp_path: Path
) -> None:
    client = api(hub)
    client.create_repo("team/w")
    v1 = commit(client, "team/w", V1)
    client.create_tag("team/w", tag="v1.0", tag_message="first release")
    v2 = commit(client, "team/w", V2)  # main moves on; v1.0 stays
    client.create_tag("team/w", tag="v2.0", revision=v2)

    assert refs_of(client, "team/w") == ({"main": v2}, {"v1.0": v1, "v2.0": v2})
    assert download(hub, "team/w", "config.json", "v1.0", tmp_path / "c1") == V1["config.json"]
    assert download(hub, "team/w", "config.json", "v2.0", tmp_path / "c2") == V2["config.json"]
    assert download(hub, "team/w", "config.json", "main", tmp_path / "c3") == V2["config.json"]
    assert client.model_info("team/w", revision="v1.0").sha == v1

    with pytest.raises(HfHubHTTPError) as taken:  # a tag that exists answers 409, as the Hub does
        client.create_tag("team/w", tag="v1.0", revision=v2)
    assert taken.value.response.status_code == 409
    assert "already has a tag named 'v1.0'" in str(taken.value)
    client.create_tag("team/w", tag="v1.0", exist_ok=True)  # the client's own handling of the 409
    assert refs_of(client, "team/w")[1]["v1.0"] == v1

    client.create_branch("team/w", branch="hotfix", revision="v1.0")
    fixed = commit(client, "team/w", {"config.json": b'{"version": 1.1}\n'}, revision="hotfix")
    client.create_branch("team/w", branch="pinned", revision=v1[:7])  # a short commit id, as the Hub takes
    branches, tags = refs_of(client, "team/w")
    assert branches == {"main": v2, "hotfix": fixed, "pinned": v1}
    assert tags == {"v1.0": v1, "v2.0": v2}  # the tag did not move with the branch made from it
    assert download(hub, "team/w", "config.json", "hotfix", tmp_path / "c4") == b'{"version": 1.1}\n'

    client.delete_tag("team/w", tag="v1.0")
    assert "v1.0" not in refs_of(client, "team/w")[1]
    with pytest.raises(RevisionNotFoundError):
        client.model_info("team/w", revision="v1.0")
    assert client.model_info("team/w", revision=v1).sha == v1  # "pinned" still points at it
    client.delete_branch("team/w", branch="pinned")
    with pytest.raises(RevisionNotFoundError):
        client.model_info("team/w", revision=v1)  # no ref left at that commit
    client.delete_branch("team/w", branch="hotfix")
    assert refs_of(client, "team/w") == ({"main": v2}, {"v2.0": v2})
    with pytest.raises(RevisionNotFoundError):
        client.delete_tag("team/w", tag="v1.0")
    with pytest.raises(BadRequestError, match="default branch"):
        client.delete_branch("team/w", branch="main")
    repo_dir = hub.revision_dir("team/w").parent
    assert sorted(p.name for p in repo_dir.iterdir()) == [".hgloc-write.lock", "main", "repo.json", "v2.0"]


def test_a_tag_takes_no_commits_and_tags_and_branches_share_names(hub: WeightsHub) -> None:
    client = api(hub)
    client.create_repo("team/t")
    commit(client, "team/t", V1)
    client.create_tag("team/t", tag="v1.0")
    with pytest.raises(BadRequestError, match="a tag never moves"):
        commit(client, "team/t", V2, revision="v1.0")
    assert folder_files(hub.revision_dir("team/t", "v1.0")) == V1
    for make in (
        lambda: client.create_branch("team/t", branch="v1.0"),
        lambda: client.create_tag("team/t", tag="main"),
    ):
        with pytest.raises(HfHubHTTPError) as taken:
            make()
        assert taken.value.response.status_code == 409
    with pytest.raises(RevisionNotFoundError):
        client.create_tag("team/t", tag="v9", revision="no-such-branch")
    with pytest.raises(RevisionNotFoundError):
        client.delete_branch("team/t", branch="v1.0")  # a tag, not a branch


def test_private_then_public_and_delete_repo(hub: WeightsHub, tmp_path: Path) -> None:
    client = api(hub)
    client.create_repo("team/p")
    commit(client, "team/p", V1)
    client.update_repo_settings("team/p", private=True)
    with pytest.raises(RepositoryNotFoundError) as hidden:
        api(hub, None).model_info("team/p")
    assert hidden.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError) as refused:
        download(hub, "team/p", "config.json", "main", tmp_path / "c")
    assert refused.value.response.status_code == 401
    assert api(hub, READ_TOKEN).model_info("team/p").private is True

    client.update_repo_settings("team/p", visibility="public")
    assert api(hub, None).model_info("team/p").private is False

    client.delete_repo("team/p")
    with pytest.raises(RepositoryNotFoundError):
        api(hub, None).model_info("team/p")
    client.delete_repo("team/p", missing_ok=True)
    with pytest.raises(RepositoryNotFoundError):
        client.delete_repo("team/p")
    assert not (hub.repos_dir / "models" / "team").exists()
    client.create_repo("team/p")  # the name is free again
    assert client.list_repo_files("team/p") == []


def test_every_ref_and_settings_change_needs_a_write_token(hub: WeightsHub) -> None:
    client = api(hub)
    client.create_repo("team/guarded")
    v1 = commit(client, "team/guarded", V1)
    client.create_tag("team/guarded", tag="v1.0")
    for token, status in ((None, 401), (READ_TOKEN, 403), ("wrong", 403)):
        other = api(hub, token)
        attempts = (
            lambda o=other: o.create_tag("team/guarded", tag="v2.0"),
            lambda o=other: o.delete_tag("team/guarded", tag="v1.0"),
            lambda o=other: o.create_branch("team/guarded", branch="b"),
            lambda o=other: o.update_repo_settings("team/guarded", private=True),
            lambda o=other: o.delete_repo("team/guarded"),
        )
        for attempt in attempts:
            with pytest.raises(HfHubHTTPError) as denied:
                attempt()
            assert denied.value.response.status_code == status
    assert refs_of(client, "team/guarded") == ({"main": v1}, {"v1.0": v1})
    assert client.model_info("team/guarded").private is False


def test_hostile_tag_and_branch_names_are_refused_and_touch_nothing(hub: WeightsHub) -> None:
    client = api(hub)
    client.create_repo("team/h")
    commit(client, "team/h", V1)
    models_dir = hub.repos_dir / "models"
    before = sorted(p.relative_to(models_dir).as_posix() for p in models_dir.rglob("*"))
    hostile = [
        "../escape",
        "../../models/team/h2",
        "a..b",
        "refs/heads/main",
        "refs/pr/1",
        ".hidden",
        "x.lock",
        "tab\there",
        "new\nline",
        "a" * 40,
        "/abs",
        "HEAD",
    ]
    for name in hostile:
        with pytest.raises(BadRequestError):
            client.create_tag("team/h", tag=name)  # the name travels in the body
        with pytest.raises(HfHubHTTPError) as refused:
            client.create_branch("team/h", branch=name)  # in the path, where a newline is not routed
        assert refused.value.response.status_code == (404 if "\n" in name else 400), name
    headers = {"Authorization": f"Bearer {WRITE_TOKEN}"}
    for raw in ("..%2F..%2Fh", "%2E%2E", "refs%2Fheads%2Fmain"):
        for kind in ("tag", "branch"):
            answer = httpx.delete(f"{hub.url}/api/models/team/h/{kind}/{raw}", headers=headers)
            assert answer.status_code == 400, (kind, raw)
    for body in (b'{"tag": 7}', b'{"tag": "\\udcff"}', b'{"tag": "v1", "message": ["x"]}', b"[]"):
        answer = httpx.post(f"{hub.url}/api/models/team/h/tag/main", content=body, headers=headers)
        assert answer.status_code == 400, body
    after = sorted(p.relative_to(models_dir).as_posix() for p in models_dir.rglob("*"))
    assert after == before
    assert refs_of(client, "team/h")[1] == {}


@pytest.mark.slow
def test_hf_repos_tag_create_on_the_command_line(hub: WeightsHub) -> None:
    client = api(hub)
    client.create_repo("team/cli")
    v1 = commit(client, "team/cli", V1)
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_TOKEN": WRITE_TOKEN}
    hf = str(Path(sys.executable).with_name("hf"))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [hf, "repos", "tag", *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )

    created = run("create", "team/cli", "v1.0", "-m", "First release")
    assert created.returncode == 0, created.stderr
    assert refs_of(client, "team/cli")[1] == {"v1.0": v1}
    again = run("create", "team/cli", "v1.0")
    assert again.returncode != 0
    assert "Tag 'v1.0' already exists on 'team/cli'" in again.stdout + again.stderr
    listed = run("list", "team/cli", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "v1.0" in listed.stdout and v1 in listed.stdout
    deleted = run("delete", "team/cli", "v1.0", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert refs_of(client, "team/cli")[1] == {}


# --- a tag localized from upstream, served from the store ------------------------------------------


def test_a_tag_localized_from_upstream_is_listed_under_refs_tags_by_the_store_server(
    hub_server: Any, tmp_path: Path
) -> None:
    config = HGLocalizationConfig(
        models_store_path=tmp_path / "models",
        datasets_store_path=tmp_path / "datasets",
        hf_endpoint=hub_server.url,
        hf_token=PRIVATE_TOKEN,
    )
    bert, tag = hub_server.samples.bert, hub_server.samples.bert_tag
    tagged = models.localize_model(bert, tag, config=config)
    main = models.localize_model(bert, config=config)
    assert tagged.stored.manifest.ref_kind == "tag"
    assert main.stored.manifest.ref_kind == "branch"
    source = StoreSource.for_store(config.models_store_path, config.datasets_store_path)
    with run_server(create_app(source)) as url:
        branches, tags = refs_of(HfApi(endpoint=url), bert)
        path = hf_hub_download(bert, "config.json", revision=tag, endpoint=url, cache_dir=str(tmp_path / "c"))
    assert tags == {tag: tagged.stored.manifest.commit}
    assert branches == {"main": main.stored.manifest.commit}
    assert Path(path).is_file()
