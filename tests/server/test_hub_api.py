"""The Hub-compatible server, proven with the unmodified clients: huggingface_hub, transformers, datasets.

In-process tests pass ``endpoint=`` (huggingface_hub reads ``HF_ENDPOINT`` only at import);
the user path, ``HF_ENDPOINT=… python …``, runs in a subprocess.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import RepoFile, RepoFolder

from hg_localization.server.app import create_app
from hg_localization.server.folder_source import FolderSource

from helpers.clients import run_python_json
from helpers.sample_repos import SampleRepos
from helpers.servers import PRIVATE_TOKEN, HubServer, run_server

SHA_RE = re.compile(r"^[0-9a-f]{40}$")


@pytest.fixture
def api(hub_server: HubServer) -> HfApi:
    return HfApi(endpoint=hub_server.url)


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "hub-cache"


def git_blob_sha1(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def folders_of(paths: list[str]) -> set[str]:
    return {"/".join(p.split("/")[:depth]) for p in paths for depth in range(1, p.count("/") + 1)}


# --- downloads ---------------------------------------------------------------------------------


def test_snapshot_download_gets_every_file_bit_for_bit(hub_server: HubServer, cache_dir: Path) -> None:
    samples = hub_server.samples
    folder = Path(snapshot_download(samples.bert, endpoint=hub_server.url, cache_dir=cache_dir))

    expected = samples.files(samples.bert)
    downloaded = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert downloaded.keys() == expected.keys()
    assert {"extra/nested/notes.txt", "extra/file with space.txt", "model.safetensors"} <= downloaded.keys()
    for path, content in expected.items():
        assert downloaded[path] == content, path


def test_snapshot_download_of_a_dataset(hub_server: HubServer, cache_dir: Path) -> None:
    samples = hub_server.samples
    folder = Path(
        snapshot_download(samples.dataset, repo_type="dataset", endpoint=hub_server.url, cache_dir=cache_dir)
    )
    downloaded = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert downloaded == samples.files(samples.dataset, repo_type="dataset")


def test_snapshot_download_with_allow_patterns(hub_server: HubServer, cache_dir: Path) -> None:
    folder = Path(
        snapshot_download(
            hub_server.samples.bert, endpoint=hub_server.url, cache_dir=cache_dir, allow_patterns=["*.json"]
        )
    )
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert names == ["config.json", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"]


@pytest.mark.parametrize(
    "filename", ["config.json", "model.safetensors", "extra/nested/notes.txt", "extra/file with space.txt"]
)
def test_hf_hub_download(hub_server: HubServer, cache_dir: Path, filename: str) -> None:
    samples = hub_server.samples
    path = hf_hub_download(samples.bert, filename, endpoint=hub_server.url, cache_dir=cache_dir)
    assert Path(path).read_bytes() == samples.files(samples.bert)[filename]


def test_hf_hub_download_from_a_dataset(hub_server: HubServer, cache_dir: Path) -> None:
    samples = hub_server.samples
    filename = "sentences/train-00000-of-00001.parquet"
    path = hf_hub_download(
        samples.dataset, filename, repo_type="dataset", endpoint=hub_server.url, cache_dir=cache_dir
    )
    assert Path(path).read_bytes() == samples.files(samples.dataset, repo_type="dataset")[filename]


def test_an_id_without_a_namespace(hub_server: HubServer, api: HfApi, cache_dir: Path) -> None:
    samples = hub_server.samples
    info = api.model_info(samples.no_namespace)
    assert info.id == "tiny-legacy"
    assert SHA_RE.match(info.sha or "")
    path = hf_hub_download(samples.no_namespace, "config.json", endpoint=hub_server.url, cache_dir=cache_dir)
    assert Path(path).read_bytes() == samples.files(samples.no_namespace)["config.json"]


def test_a_repo_without_a_config(hub_server: HubServer, api: HfApi, cache_dir: Path) -> None:
    samples = hub_server.samples
    assert sorted(api.list_repo_files(samples.no_config)) == ["README.md", "model.safetensors"]
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(samples.no_config, "config.json", endpoint=hub_server.url, cache_dir=cache_dir)


# --- repo info and listings --------------------------------------------------------------------


def test_model_info(hub_server: HubServer, api: HfApi) -> None:
    samples = hub_server.samples
    info = api.model_info(samples.bert)

    assert info.id == samples.bert
    assert SHA_RE.match(info.sha or "")
    assert info.private is False
    assert info.last_modified is not None
    assert sorted(s.rfilename for s in info.siblings or []) == sorted(samples.files(samples.bert))
    assert info.library_name == "transformers"
    assert info.pipeline_tag == "feature-extraction"
    assert info.card_data is not None and info.card_data["license"] == "apache-2.0"


def test_model_info_with_files_metadata(hub_server: HubServer, api: HfApi) -> None:
    samples = hub_server.samples
    expected = samples.files(samples.bert)
    info = api.model_info(samples.bert, files_metadata=True)

    siblings = {s.rfilename: s for s in info.siblings or []}
    assert siblings.keys() == expected.keys()
    for path, content in expected.items():
        assert siblings[path].size == len(content), path
        assert siblings[path].blob_id == git_blob_sha1(content), path
    weights = siblings["model.safetensors"]
    assert weights.lfs is not None
    assert weights.lfs.sha256 == hashlib.sha256(expected["model.safetensors"]).hexdigest()
    assert weights.lfs.size == len(expected["model.safetensors"])
    assert siblings["config.json"].lfs is None


def test_dates_are_utc_whatever_the_server_timezone(
    hub_server: HubServer, api: HfApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        raw = httpx.get(f"{hub_server.url}/api/models/{hub_server.samples.bert}").json()
        info = api.model_info(hub_server.samples.bert)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert raw["lastModified"].endswith("Z")
    assert info.last_modified is not None and info.last_modified.utcoffset() == timedelta(0)


def test_dataset_info(hub_server: HubServer, api: HfApi) -> None:
    samples = hub_server.samples
    info = api.dataset_info(samples.dataset)
    assert info.id == samples.dataset
    assert SHA_RE.match(info.sha or "")
    assert sorted(s.rfilename for s in info.siblings or []) == sorted(
        samples.files(samples.dataset, repo_type="dataset")
    )
    assert info.card_data is not None
    assert [c["config_name"] for c in info.card_data["configs"]] == list(samples.dataset_configs)


def test_list_repo_files(hub_server: HubServer, api: HfApi) -> None:
    samples = hub_server.samples
    assert sorted(api.list_repo_files(samples.bert)) == sorted(samples.files(samples.bert))
    assert sorted(api.list_repo_files(samples.csv_dataset, repo_type="dataset")) == [
        "README.md",
        "data/test.csv",
        "data/train.csv",
    ]


def test_list_repo_tree_top_level(hub_server: HubServer, api: HfApi) -> None:
    samples = hub_server.samples
    expected = samples.files(samples.bert)
    entries = list(api.list_repo_tree(samples.bert))

    files = {e.path: e for e in entries if isinstance(e, RepoFile)}
    folders = {e.path for e in entries if isinstance(e, RepoFolder)}
    assert folders == {"extra"}
    assert files.keys() == {p for p in expected if "/" not in p}
    for path, entry in files.items():
        assert entry.size == len(expected[path])
        assert entry.blob_id == git_blob_sha1(expected[path])
    assert files["model.safetensors"].lfs is not None
    assert files["model.safetensors"].lfs.sha256 == hashlib.sha256(expected["model.safetensors"]).hexdigest()


def test_list_repo_tree_recursive(hub_server: HubServer, api: HfApi) -> None:
    samples = hub_server.samples
    expected = samples.files(samples.bert)
    entries = list(api.list_repo_tree(samples.bert, recursive=True))

    assert {e.path for e in entries if isinstance(e, RepoFile)} == expected.keys()
    assert (
        {e.path for e in entries if isinstance(e, RepoFolder)}
        == folders_of(list(expected))
        == {
            "extra",
            "extra/nested",
        }
    )


def test_list_repo_tree_of_a_sub_path(hub_server: HubServer, api: HfApi) -> None:
    samples = hub_server.samples
    entries = list(api.list_repo_tree(samples.bert, path_in_repo="extra"))
    assert {(type(e).__name__, e.path) for e in entries} == {
        ("RepoFolder", "extra/nested"),
        ("RepoFile", "extra/file with space.txt"),
    }
    nested = list(api.list_repo_tree(samples.bert, path_in_repo="extra/nested"))
    assert [e.path for e in nested] == ["extra/nested/notes.txt"]


def test_list_repo_tree_of_a_dataset_folder(hub_server: HubServer, api: HfApi) -> None:
    samples = hub_server.samples
    entries = list(api.list_repo_tree(samples.dataset, path_in_repo="numbers", repo_type="dataset"))
    assert sorted(e.path for e in entries) == [
        "numbers/test-00000-of-00001.parquet",
        "numbers/train-00000-of-00001.parquet",
    ]


def test_list_repo_tree_of_a_missing_path(hub_server: HubServer, api: HfApi) -> None:
    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree(hub_server.samples.bert, path_in_repo="no-such-folder"))


def test_list_repo_tree_follows_pages(sample_repos: SampleRepos) -> None:
    app = create_app(FolderSource.for_repos_dir(sample_repos.directory), tree_page_size=2)
    expected = sample_repos.files(sample_repos.bert)
    with run_server(app) as url:
        first_page = httpx.get(
            f"{url}/api/models/{sample_repos.bert}/tree/main", params={"recursive": "true"}
        )
        entries = list(HfApi(endpoint=url).list_repo_tree(sample_repos.bert, recursive=True))

    assert len(first_page.json()) == 2
    assert 'rel="next"' in first_page.headers["Link"]
    files = [e.path for e in entries if isinstance(e, RepoFile)]
    assert sorted(files) == sorted(expected)
    assert len(entries) == len(expected) + len(folders_of(list(expected)))
    assert len({e.path for e in entries}) == len(entries), "no entry twice"


def test_tree_pages_keep_an_encoded_revision_and_path(sample_repos: SampleRepos) -> None:
    app = create_app(FolderSource.for_repos_dir(sample_repos.directory), tree_page_size=2)
    expected = sample_repos.files(sample_repos.bert, sample_repos.bert_pr)
    with run_server(app) as url:
        api = HfApi(endpoint=url)
        everything = list(
            api.list_repo_tree(sample_repos.bert, revision=sample_repos.bert_pr, recursive=True)
        )
        extra = list(
            api.list_repo_tree(sample_repos.bert, "extra", revision=sample_repos.bert_pr, recursive=True)
        )

    assert sorted(e.path for e in everything if isinstance(e, RepoFile)) == sorted(expected)
    assert sorted(e.path for e in extra) == [
        "extra/file with space.txt",
        "extra/nested",
        "extra/nested/notes.txt",
    ]


def test_get_paths_info(hub_server: HubServer, api: HfApi) -> None:
    samples = hub_server.samples
    expected = samples.files(samples.bert)
    entries = api.get_paths_info(
        samples.bert, ["config.json", "extra", "extra/file with space.txt", "missing.txt"]
    )

    by_path = {e.path: e for e in entries}
    assert by_path.keys() == {"config.json", "extra", "extra/file with space.txt"}
    assert isinstance(by_path["extra"], RepoFolder)
    config = by_path["config.json"]
    assert isinstance(config, RepoFile)
    assert config.size == len(expected["config.json"])
    assert config.blob_id == git_blob_sha1(expected["config.json"])


def test_list_repo_refs(hub_server: HubServer, api: HfApi) -> None:
    samples = hub_server.samples
    refs = api.list_repo_refs(samples.bert)
    assert {b.name for b in refs.branches} >= {"main"}
    assert [t.name for t in refs.tags] == [samples.bert_tag]
    assert all(SHA_RE.match(ref.target_commit) for ref in [*refs.branches, *refs.tags])
    assert refs.pull_requests is None
    assert samples.bert_pr not in {b.name for b in refs.branches}

    with_prs = api.list_repo_refs(samples.bert, include_pull_requests=True)
    assert [(pr.name, pr.ref) for pr in with_prs.pull_requests or []] == [(samples.bert_pr, samples.bert_pr)]
    pr_commit = api.model_info(samples.bert, revision=samples.bert_pr).sha
    assert [pr.target_commit for pr in with_prs.pull_requests or []] == [pr_commit]


def test_list_models_hides_private_repos_without_a_token(hub_server: HubServer) -> None:
    samples = hub_server.samples
    public = {m.id for m in HfApi(endpoint=hub_server.url).list_models()}
    assert {samples.bert, samples.no_config, samples.no_namespace} <= public
    assert samples.private not in public
    with_token = {m.id for m in HfApi(endpoint=hub_server.url, token=hub_server.token).list_models()}
    assert samples.private in with_token


# --- revisions ---------------------------------------------------------------------------------


def test_a_tag_has_its_own_content_and_commit(hub_server: HubServer, api: HfApi, cache_dir: Path) -> None:
    samples = hub_server.samples
    main_sha = api.model_info(samples.bert).sha
    tag_sha = api.model_info(samples.bert, revision=samples.bert_tag).sha
    assert tag_sha is not None and SHA_RE.match(tag_sha)
    assert tag_sha != main_sha

    tagged = samples.files(samples.bert, samples.bert_tag)
    assert tagged["config.json"] != samples.files(samples.bert)["config.json"]
    path = hf_hub_download(
        samples.bert, "config.json", revision=samples.bert_tag, endpoint=hub_server.url, cache_dir=cache_dir
    )
    assert Path(path).read_bytes() == tagged["config.json"]
    assert f"/snapshots/{tag_sha}/" in Path(path).as_posix()


def test_a_commit_id_is_a_revision(hub_server: HubServer, api: HfApi, cache_dir: Path) -> None:
    samples = hub_server.samples
    tag_sha = api.model_info(samples.bert, revision=samples.bert_tag).sha
    assert tag_sha is not None

    assert api.model_info(samples.bert, revision=tag_sha).sha == tag_sha
    folder = snapshot_download(
        samples.bert, revision=tag_sha, endpoint=hub_server.url, cache_dir=cache_dir, allow_patterns=["*.md"]
    )
    assert (Path(folder) / "README.md").read_bytes() == samples.files(samples.bert, samples.bert_tag)[
        "README.md"
    ]


def test_commit_ids_are_stable(hub_server: HubServer, api: HfApi, tmp_path: Path) -> None:
    from helpers.sample_repos import write_sample_repos

    again = write_sample_repos(tmp_path / "again")
    fresh = FolderSource.for_repos_dir(again.directory).resolve("model", again.bert)
    assert fresh.commit == api.model_info(hub_server.samples.bert).sha


def test_a_pull_request_ref(hub_server: HubServer, api: HfApi, cache_dir: Path) -> None:
    samples = hub_server.samples
    info = api.model_info(samples.bert, revision=samples.bert_pr)
    assert info.sha not in (None, api.model_info(samples.bert).sha)
    path = hf_hub_download(
        samples.bert, "README.md", revision=samples.bert_pr, endpoint=hub_server.url, cache_dir=cache_dir
    )
    assert Path(path).read_bytes() == samples.files(samples.bert, samples.bert_pr)["README.md"]
    tree = list(api.list_repo_tree(samples.bert, path_in_repo="extra/nested", revision=samples.bert_pr))
    assert [e.path for e in tree] == ["extra/nested/notes.txt"]


def test_an_encoded_revision_over_http(hub_server: HubServer) -> None:
    samples = hub_server.samples
    answer = httpx.get(f"{hub_server.url}/{samples.bert}/resolve/refs%2Fpr%2F1/README.md")
    assert answer.status_code == 200
    assert answer.content == samples.files(samples.bert, samples.bert_pr)["README.md"]


# --- the user path: HF_ENDPOINT=… python … ------------------------------------------------------


def test_transformers_loads_config_and_tokenizer_through_hf_endpoint(hub_server: HubServer) -> None:
    from tokenizers import Tokenizer

    samples = hub_server.samples
    result = run_python_json(
        f"""
        import json
        from transformers import AutoConfig, AutoTokenizer
        config = AutoConfig.from_pretrained({samples.bert!r})
        tagged = AutoConfig.from_pretrained({samples.bert!r}, revision={samples.bert_tag!r})
        tokenizer = AutoTokenizer.from_pretrained({samples.bert!r})
        encoded = tokenizer("Hello world, this is a tiny BERT model.")
        print(json.dumps({{
            "model_type": config.model_type,
            "hidden_size": config.hidden_size,
            "vocab_size": config.vocab_size,
            "dropout": config.hidden_dropout_prob,
            "tagged_dropout": tagged.hidden_dropout_prob,
            "tokenizer_vocab": len(tokenizer),
            "ids": encoded["input_ids"],
            "tokens": tokenizer.convert_ids_to_tokens(encoded["input_ids"]),
            "decoded": tokenizer.decode(encoded["input_ids"], skip_special_tokens=True),
        }}))
        """,
        endpoint=hub_server.url,
    )
    source = Tokenizer.from_file(str(samples.revision_dir(samples.bert) / "tokenizer.json"))
    expected = source.encode("Hello world, this is a tiny BERT model.")

    assert result["model_type"] == "bert"
    assert result["hidden_size"] == 32
    assert result["vocab_size"] == result["tokenizer_vocab"] == source.get_vocab_size()
    assert (result["dropout"], result["tagged_dropout"]) == (0.1, 0.2)
    assert result["ids"] == expected.ids
    assert result["tokens"][0] == "[CLS]" and result["tokens"][-1] == "[SEP]"
    assert "[UNK]" not in result["tokens"]
    assert result["decoded"] == "hello world, this is a tiny bert model."


def test_snapshot_download_through_hf_endpoint_with_hf_token(hub_server: HubServer) -> None:
    samples = hub_server.samples
    result = run_python_json(
        f"""
        import json
        from huggingface_hub import snapshot_download
        print(json.dumps({{
            "public": snapshot_download({samples.bert!r}),
            "private": snapshot_download({samples.private!r}),
        }}))
        """,
        endpoint=hub_server.url,
        token=hub_server.token,
    )
    for repo_id, key in ((samples.bert, "public"), (samples.private, "private")):
        folder = Path(result[key])
        downloaded = {
            p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
        }
        assert downloaded == samples.files(repo_id), repo_id


def test_datasets_load_both_parquet_configs_and_a_csv_dataset_through_hf_endpoint(
    hub_server: HubServer,
) -> None:
    import pyarrow.parquet as pq

    samples = hub_server.samples
    result = run_python_json(
        f"""
        import json
        from datasets import get_dataset_config_names, load_dataset
        loaded = {{}}
        for name in {list(samples.dataset_configs)!r}:
            dataset = load_dataset({samples.dataset!r}, name)
            loaded[name] = {{split: dataset[split].to_list() for split in dataset}}
        csv = load_dataset({samples.csv_dataset!r})
        print(json.dumps({{
            "configs": get_dataset_config_names({samples.dataset!r}),
            "parquet": loaded,
            "csv": {{split: csv[split].to_list() for split in csv}},
        }}))
        """,
        endpoint=hub_server.url,
    )
    assert sorted(result["configs"]) == sorted(samples.dataset_configs)
    source = samples.revision_dir(samples.dataset, repo_type="dataset")
    for name in samples.dataset_configs:
        assert result["parquet"][name].keys() == {"train", "test"}
        for split, rows in result["parquet"][name].items():
            assert rows == pq.read_table(source / name / f"{split}-00000-of-00001.parquet").to_pylist()
    assert result["csv"]["train"][0] == {"text": "good model", "label": 1}
    assert [len(result["csv"][s]) for s in ("train", "test")] == [4, 2]


# --- HTTP details a client relies on ------------------------------------------------------------


def test_head_carries_the_download_headers(hub_server: HubServer, api: HfApi) -> None:
    samples = hub_server.samples
    files = samples.files(samples.bert)
    commit = api.model_info(samples.bert).sha

    weights = httpx.head(f"{hub_server.url}/{samples.bert}/resolve/main/model.safetensors")
    assert weights.status_code == 200
    assert weights.headers["X-Repo-Commit"] == commit
    sha256 = hashlib.sha256(files["model.safetensors"]).hexdigest()
    assert weights.headers["ETag"] == weights.headers["X-Linked-Etag"] == f'"{sha256}"'
    assert (
        weights.headers["X-Linked-Size"]
        == weights.headers["Content-Length"]
        == str(len(files["model.safetensors"]))
    )

    config = httpx.head(f"{hub_server.url}/{samples.bert}/resolve/main/config.json")
    assert config.headers["ETag"] == f'"{git_blob_sha1(files["config.json"])}"'
    assert config.headers["Content-Length"] == str(len(files["config.json"]))
    assert config.content == b""

    dataset_file = httpx.head(f"{hub_server.url}/datasets/{samples.csv_dataset}/resolve/main/data/train.csv")
    assert dataset_file.status_code == 200
    assert SHA_RE.match(dataset_file.headers["X-Repo-Commit"])


def test_range_requests_answer_206(hub_server: HubServer) -> None:
    samples = hub_server.samples
    content = samples.files(samples.bert)["model.safetensors"]
    url = f"{hub_server.url}/{samples.bert}/resolve/main/model.safetensors"

    middle = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert middle.status_code == 206
    assert middle.headers["Content-Range"] == f"bytes 100-199/{len(content)}"
    assert middle.content == content[100:200]

    rest = httpx.get(url, headers={"Range": f"bytes={len(content) - 1000}-"})
    assert rest.status_code == 206
    assert rest.headers["Content-Range"] == f"bytes {len(content) - 1000}-{len(content) - 1}/{len(content)}"
    assert rest.content == content[-1000:]


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/api/models/hgloc-test/no-such-model", "RepoNotFound"),
        ("/hgloc-test/no-such-model/resolve/main/config.json", "RepoNotFound"),
        ("/api/models/hgloc-test/tiny-bert/revision/no-such-branch", "RevisionNotFound"),
        ("/hgloc-test/tiny-bert/resolve/no-such-branch/config.json", "RevisionNotFound"),
        ("/api/datasets/hgloc-test/tiny-bert", "RepoNotFound"),
    ],
)
def test_misses_say_what_is_missing(hub_server: HubServer, path: str, code: str) -> None:
    answer = httpx.get(hub_server.url + path)
    assert answer.status_code == 404
    assert answer.headers["X-Error-Code"] == code
    assert answer.headers["X-Error-Message"]


def test_a_missing_file_is_a_known_miss_at_a_commit(hub_server: HubServer, api: HfApi) -> None:
    commit = api.model_info(hub_server.samples.bert).sha
    for method in ("HEAD", "GET"):
        answer = httpx.request(method, f"{hub_server.url}/{hub_server.samples.bert}/resolve/main/missing.py")
        assert answer.status_code == 404
        assert answer.headers["X-Error-Code"] == "EntryNotFound"
        assert answer.headers["X-Repo-Commit"] == commit


def test_clients_raise_the_hub_errors(hub_server: HubServer, api: HfApi, cache_dir: Path) -> None:
    samples = hub_server.samples
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("hgloc-test/no-such-model")
    with pytest.raises(RevisionNotFoundError):
        api.model_info(samples.bert, revision="no-such-branch")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(
            samples.bert,
            "config.json",
            revision="no-such-branch",
            endpoint=hub_server.url,
            cache_dir=cache_dir,
        )
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(samples.bert, "missing.py", endpoint=hub_server.url, cache_dir=cache_dir)


# --- private repos ----------------------------------------------------------------------------


def test_a_private_repo_needs_a_token(hub_server: HubServer, cache_dir: Path) -> None:
    samples = hub_server.samples
    for path in (f"/api/models/{samples.private}", f"/{samples.private}/resolve/main/config.json"):
        answer = httpx.get(hub_server.url + path)
        assert answer.status_code == 401, path
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub_server.url).model_info(samples.private)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(samples.private, "config.json", endpoint=hub_server.url, cache_dir=cache_dir)


def test_an_invalid_token_is_refused(hub_server: HubServer, cache_dir: Path) -> None:
    samples = hub_server.samples
    answer = httpx.get(
        f"{hub_server.url}/api/models/{samples.private}", headers={"Authorization": "Bearer wrong-token"}
    )
    assert answer.status_code == 401
    with pytest.raises(HfHubHTTPError) as refused:
        HfApi(endpoint=hub_server.url, token="wrong-token").model_info(samples.private)
    assert refused.value.response is not None and refused.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError):
        hf_hub_download(
            samples.private, "config.json", endpoint=hub_server.url, cache_dir=cache_dir, token="wrong-token"
        )


def test_a_private_repo_works_with_the_token(hub_server: HubServer, cache_dir: Path) -> None:
    samples = hub_server.samples
    api = HfApi(endpoint=hub_server.url, token=PRIVATE_TOKEN)
    info = api.model_info(samples.private)
    assert info.private is True
    assert SHA_RE.match(info.sha or "")
    path = hf_hub_download(
        samples.private,
        "model.safetensors",
        endpoint=hub_server.url,
        cache_dir=cache_dir,
        token=PRIVATE_TOKEN,
    )
    assert Path(path).read_bytes() == samples.files(samples.private)["model.safetensors"]


def test_a_public_repo_is_readable_with_any_token_or_none(hub_server: HubServer) -> None:
    """A token the server does not know (say, one for huggingface.co) must not break public reads."""
    samples = hub_server.samples
    assert HfApi(endpoint=hub_server.url).model_info(samples.bert).id == samples.bert
    assert HfApi(endpoint=hub_server.url, token=PRIVATE_TOKEN).model_info(samples.bert).id == samples.bert
    assert (
        HfApi(endpoint=hub_server.url, token="hf_for_another_hub").model_info(samples.bert).id == samples.bert
    )
    with pytest.raises(HfHubHTTPError):
        HfApi(endpoint=hub_server.url, token="hf_for_another_hub").model_info(samples.private)


# --- never Xet ---------------------------------------------------------------------------------


def test_nothing_ever_switches_a_client_to_xet(hub_server: HubServer) -> None:
    samples = hub_server.samples
    headers = {"Authorization": f"Bearer {PRIVATE_TOKEN}"}
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", f"/api/models/{samples.bert}", {}),
        ("GET", f"/api/models/{samples.bert}?blobs=true", {}),
        ("GET", f"/api/models/{samples.bert}/revision/main", {}),
        ("GET", f"/api/models/{samples.bert}/tree/main?recursive=true&expand=true", {}),
        ("GET", f"/api/models/{samples.bert}/tree/main/extra", {}),
        (
            "POST",
            f"/api/models/{samples.bert}/paths-info/main",
            {"data": {"paths": ["model.safetensors", "extra"]}},
        ),
        ("HEAD", f"/{samples.bert}/resolve/main/model.safetensors", {}),
        ("GET", f"/{samples.bert}/resolve/main/model.safetensors", {}),
        ("HEAD", f"/{samples.bert}/resolve/main/config.json", {}),
        ("HEAD", f"/{samples.bert}/resolve/main/missing.bin", {}),
        ("GET", f"/api/models/{samples.private}", {"headers": headers}),
        ("HEAD", f"/{samples.private}/resolve/main/model.safetensors", {"headers": headers}),
        ("GET", f"/api/datasets/{samples.dataset}/tree/main?recursive=true", {}),
        ("HEAD", f"/datasets/{samples.dataset}/resolve/main/numbers/train-00000-of-00001.parquet", {}),
        ("GET", "/api/models", {}),
    ]
    for method, path, options in requests:
        answer = httpx.request(method, hub_server.url + path, **options)
        assert answer.status_code < 500, path
        assert not [h for h in answer.headers if h.lower().startswith("x-xet")], path
        assert "xet" not in answer.headers.get("Link", "").lower(), path
        if method != "HEAD" and answer.headers.get("content-type", "").startswith("application/json"):
            assert "xetHash" not in json.dumps(answer.json()), path


def test_the_tests_cannot_reach_huggingface_co() -> None:
    from huggingface_hub import constants

    from helpers.servers import DEAD_ENDPOINT

    assert constants.ENDPOINT == DEAD_ENDPOINT
    assert constants.HUGGINGFACE_CO_URL_TEMPLATE.startswith(DEAD_ENDPOINT + "/")
