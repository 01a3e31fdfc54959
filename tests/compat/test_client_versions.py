"""The server, read by every huggingface_hub version a team may have installed.

Each interpreter in ``HUB_CLIENT_PYTHONS`` (``os.pathsep``-separated paths to a Python
with some huggingface_hub installed; ``.ci/run`` makes venvs with an old 0.2x and the newest 0.x),
plus the test suite's own, runs one script of ordinary client calls against the server with
``HF_ENDPOINT`` set; each test below then checks one call's result. A call that raised shows its
error in the failing test, named with the client version.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from helpers.clients import run_python_json_with
from helpers.servers import HubServer

pytestmark = pytest.mark.slow

_EXTRA = [p for p in os.environ.get("HUB_CLIENT_PYTHONS", "").split(os.pathsep) if p]
INTERPRETERS = [sys.executable, *_EXTRA]

CLIENT_SCRIPT = r"""
import hashlib, json, os, sys, traceback
import huggingface_hub
from huggingface_hub import HfApi, HfFileSystem, hf_hub_download, snapshot_download

BERT, TAG, DATASET, PRIVATE = sys.argv[1:5]
api = HfApi()
results = {"version": huggingface_hub.__version__}

def run(name, call):
    try:
        results[name] = {"ok": call()}
    except Exception as exc:  # reported to the test, with the client's own words
        results[name] = {"error": f"{type(exc).__name__}: {exc}"[:2000],
                         "trace": traceback.format_exc()[-3000:]}

def snapshot():
    folder = snapshot_download(BERT)
    out = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, folder).replace(os.sep, "/")
            out[rel] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    return out

def tree_expand():
    entries = list(api.list_repo_tree(BERT, recursive=True, expand=True))
    return sorted(e.path for e in entries)

def paths_info_expand():
    return sorted(e.path for e in api.get_paths_info(BERT, ["config.json", "extra"], expand=True))

def refs():
    found = api.list_repo_refs(BERT)
    return {"branches": sorted(b.name for b in found.branches), "tags": sorted(t.name for t in found.tags)}

def private_without_token():
    try:
        api.model_info(PRIVATE, token=False)
    except Exception as exc:
        return type(exc).__name__
    return "no error"

run("snapshot_download", snapshot)
run("hf_hub_download_tag", lambda: hashlib.sha256(
    open(hf_hub_download(BERT, "config.json", revision=TAG), "rb").read()).hexdigest())
run("model_info", lambda: sorted(s.rfilename for s in api.model_info(BERT, files_metadata=True).siblings))
run("list_repo_files", lambda: sorted(api.list_repo_files(BERT)))
run("list_repo_tree_expand", tree_expand)
run("get_paths_info_expand", paths_info_expand)
run("list_models", lambda: sorted(m.id for m in api.list_models()))
run("list_datasets", lambda: sorted(d.id for d in api.list_datasets()))
run("list_repo_refs", refs)
run("list_repo_commits", lambda: [c.commit_id for c in api.list_repo_commits(BERT)])
run("hf_file_system", lambda: sorted(HfFileSystem().ls(BERT, detail=False)))
run("dataset_snapshot", lambda: sorted(os.listdir(snapshot_download(DATASET, repo_type="dataset"))))
run("private_without_token", private_without_token)
print(json.dumps(results))
"""


def _client_id(python: str) -> str:
    return "current" if python == sys.executable else Path(python).parent.parent.name


@pytest.fixture(scope="module", params=INTERPRETERS, ids=_client_id)
def client_results(
    request: pytest.FixtureRequest, hub_server: HubServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    samples = hub_server.samples
    home = tmp_path_factory.mktemp("client-home")
    env = {
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(home / "hub"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    }
    args = [samples.bert, samples.bert_tag, samples.dataset, samples.private]
    results: dict[str, Any] = run_python_json_with(
        request.param, CLIENT_SCRIPT, args, endpoint=hub_server.url, env=env
    )
    return results


def ok(results: dict[str, Any], name: str) -> Any:
    outcome = results[name]
    assert "ok" in outcome, (
        f"huggingface_hub {results['version']}: {name} failed: {outcome['error']}\n{outcome['trace']}"
    )
    return outcome["ok"]


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def test_snapshot_download_bit_for_bit(client_results: dict[str, Any], hub_server: HubServer) -> None:
    samples = hub_server.samples
    expected = {path: sha256_of(content) for path, content in samples.files(samples.bert).items()}
    assert ok(client_results, "snapshot_download") == expected


def test_a_file_at_a_tag(client_results: dict[str, Any], hub_server: HubServer) -> None:
    samples = hub_server.samples
    config = samples.files(samples.bert, samples.bert_tag)["config.json"]
    assert ok(client_results, "hf_hub_download_tag") == sha256_of(config)


def test_listings(client_results: dict[str, Any], hub_server: HubServer) -> None:
    samples = hub_server.samples
    files = sorted(samples.files(samples.bert))
    assert ok(client_results, "model_info") == files
    assert ok(client_results, "list_repo_files") == files
    folders = {"/".join(p.split("/")[:depth]) for p in files for depth in range(1, p.count("/") + 1)}
    assert ok(client_results, "list_repo_tree_expand") == sorted([*files, *folders])
    assert ok(client_results, "get_paths_info_expand") == ["config.json", "extra"]


def test_catalogue(client_results: dict[str, Any], hub_server: HubServer) -> None:
    samples = hub_server.samples
    assert samples.bert in ok(client_results, "list_models")
    assert samples.private not in ok(client_results, "list_models")
    assert samples.dataset in ok(client_results, "list_datasets")


def test_refs_and_commits(client_results: dict[str, Any], hub_server: HubServer) -> None:
    samples = hub_server.samples
    refs = ok(client_results, "list_repo_refs")
    assert "main" in refs["branches"]
    assert refs["tags"] == [samples.bert_tag]
    commits = ok(client_results, "list_repo_commits")
    assert commits and all(len(c) == 40 for c in commits)


def test_file_system_and_datasets(client_results: dict[str, Any], hub_server: HubServer) -> None:
    samples = hub_server.samples
    listed = ok(client_results, "hf_file_system")
    assert f"{samples.bert}/config.json" in listed
    dataset_files = samples.files(samples.dataset, repo_type="dataset")
    top_level = sorted({path.split("/")[0] for path in dataset_files})
    assert ok(client_results, "dataset_snapshot") == top_level


def test_a_private_repo_stays_private(client_results: dict[str, Any]) -> None:
    assert ok(client_results, "private_without_token") != "no error"
