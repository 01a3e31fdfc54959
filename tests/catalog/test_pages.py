"""The catalog's pages over the sample repos, as a browser gets them (HTML, headers, cookies)."""

from __future__ import annotations

import hashlib
import re
from html import unescape

from starlette.testclient import TestClient

from catalog.support import AUTH

from helpers.sample_repos import SampleRepos
from helpers.servers import PRIVATE_TOKEN


def text(html: str) -> str:
    """What a person reads: the page without its tags."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_home_shows_counts_recent_localizations_and_a_search_box(client: TestClient) -> None:
    answer = client.get("/")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    page = text(answer.text)
    assert "3 models" in page and "2 datasets" in page  # the private model is not counted
    assert "Recent localizations" in page and "hgloc-test/tiny-bert" in page
    assert '<form class="hero-search" action="/models"' in answer.text


def test_every_page_sends_the_security_headers(client: TestClient) -> None:
    for url in ("/", "/models", "/hgloc-test/tiny-bert", "/nobody/nothing", "/api/catalog/models"):
        headers = client.get(url).headers
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["vary"] == "Authorization, Cookie"


def test_the_pages_have_no_script_and_no_inline_style(client: TestClient) -> None:
    for url in (
        "/",
        "/models",
        "/hgloc-test/tiny-bert",
        "/hgloc-test/tiny-bert/tree/main",
        "/compare?a=tiny-legacy&b=hgloc-test/tiny-bert",
    ):
        html = client.get(url).text
        assert "<script" not in html and " style=" not in html and "<style" not in html


def test_search_and_filters(client: TestClient) -> None:
    assert "hgloc-test/tiny-bert" in text(client.get("/models?search=bert").text)
    page = text(client.get("/models?search=legacy").text)
    assert "tiny-legacy" in page and "hgloc-test/tiny-bert" not in page
    page = text(client.get("/models?tag=weights-only").text)
    assert "hgloc-test/no-config" in page and "tiny-legacy" not in page
    page = text(client.get("/models?author=hgloc-test&kind=full").text)
    assert "hgloc-test/tiny-bert" in page and "tiny-legacy" not in page
    assert "No models match" in text(client.get("/models?kind=metadata").text)
    assert "No models match" in text(client.get("/models?public=true").text)
    datasets = text(client.get("/datasets").text)
    assert "hgloc-test/tiny-dataset" in datasets and "hgloc-test/csv-dataset" in datasets


def test_the_model_page_shows_card_front_matter_config_files_revisions_and_snippets(
    client: TestClient, sample_repos: SampleRepos
) -> None:
    answer = client.get("/hgloc-test/tiny-bert")
    assert answer.status_code == 200
    html, page = answer.text, text(answer.text)
    assert "A tiny BERT-like model (2 layers, hidden size 32)" in page  # the rendered card
    assert "---" not in page and "pipeline_tag feature-extraction" in page  # front matter: a table
    assert "hidden_dropout_prob 0.1" in page and 'model_type "bert"' in page  # the config
    weights = sample_repos.files(sample_repos.bert)["model.safetensors"]
    assert hashlib.sha256(weights).hexdigest() in page and "model.safetensors" in page
    assert "refs/pr/1 pull request" in page and "v1.0 tag" in page  # the revisions
    assert "HF_ENDPOINT=http://testserver hf download hgloc-test/tiny-bert" in page
    assert 'AutoConfig.from_pretrained("hgloc-test/tiny-bert")' in page
    assert 'AutoModel.from_pretrained("hgloc-test/tiny-bert")' in page
    assert 'href="/hgloc-test/tiny-bert/tree/main"' in html


def test_dataset_and_namespace_less_pages(client: TestClient) -> None:
    page = text(client.get("/datasets/hgloc-test/tiny-dataset").text)
    assert 'load_dataset("hgloc-test/tiny-dataset")' in page and "--repo-type dataset" in page
    assert client.get("/tiny-legacy").status_code == 200
    assert "AutoModel" not in text(client.get("/tiny-legacy").text)  # a config, no weights


def test_the_file_browser(client: TestClient) -> None:
    page = text(client.get("/hgloc-test/tiny-bert/tree/main").text)
    assert "extra/" in page and "config.json" in page and "nested" not in page
    page = text(client.get("/hgloc-test/tiny-bert/tree/main/extra").text)
    assert "nested/" in page and "file with space.txt" in page
    answer = client.get("/hgloc-test/tiny-bert/tree/main/extra/file%20with%20space.txt")
    assert "Download" in text(answer.text) and "/resolve/" in answer.text
    pull_request = client.get("/hgloc-test/tiny-bert/tree/refs%2Fpr%2F1")
    assert pull_request.status_code == 200 and "refs/pr/1" in text(pull_request.text)
    assert client.get("/hgloc-test/tiny-bert/tree/main/no-such-folder").status_code == 404
    assert client.get("/hgloc-test/tiny-bert/tree/no-such-branch").status_code == 404


def test_compare_highlights_the_differences(client: TestClient) -> None:
    answer = client.get("/compare", params={"a": "hgloc-test/tiny-bert", "b": "hgloc-test/tiny-bert@v1.0"})
    assert answer.status_code == 200
    assert "1 of 19 keys differ" in text(answer.text)
    differing = re.findall(r'<tr class="diff">\s*<th scope="row"><code>([^<]+)</code>', answer.text)
    assert differing == ["hidden_dropout_prob"]
    assert 'id="only-diff"' in answer.text  # the toggle, a checkbox: no script needed
    assert (
        'id="only-diff" class="toggle" checked'
        in client.get(
            "/compare", params={"a": "tiny-legacy", "b": "hgloc-test/tiny-bert", "only": "diff"}
        ).text
    )
    missing = client.get("/compare", params={"a": "hgloc-test/no-config", "b": "tiny-legacy"})
    assert missing.status_code == 404 and "config.json" in text(missing.text)


def test_a_private_repo_is_not_found_without_a_token(client: TestClient, sample_repos: SampleRepos) -> None:
    assert sample_repos.private not in client.get("/models").text
    assert sample_repos.private not in client.get("/models?search=private").text
    assert sample_repos.private not in client.get("/api/catalog/models").text
    assert sample_repos.private not in client.get("/").text
    assert client.get(f"/{sample_repos.private}").status_code == 404
    assert (
        client.get("/models", headers={"Authorization": "Bearer wrong"}).text.count(sample_repos.private) == 0
    )


def test_a_read_token_shows_private_repos(client: TestClient, sample_repos: SampleRepos) -> None:
    assert sample_repos.private in client.get("/models", headers=AUTH).text
    page = client.get(f"/{sample_repos.private}", headers=AUTH)
    assert page.status_code == 200 and "Private" in text(page.text)
    assert "HF_TOKEN=<your read token>" in text(page.text)


def test_the_token_form_sets_a_cookie_scripts_cannot_read(
    client: TestClient, sample_repos: SampleRepos
) -> None:
    answer = client.post(
        "/login",
        data={"token": PRIVATE_TOKEN, "next": "/models"},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/models"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert sample_repos.private in client.get("/models").text  # the client keeps the cookie
    logout = client.post("/logout", headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert logout.status_code == 303
    assert sample_repos.private not in client.get("/models").text


def test_the_token_form_refuses_other_sites_and_unknown_tokens(client: TestClient) -> None:
    cross = client.post("/login", data={"token": PRIVATE_TOKEN}, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403 and "set-cookie" not in cross.headers
    wrong = client.post("/login", data={"token": "nope"}, headers={"Origin": "http://testserver"})
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    assert "does not know that token" in text(wrong.text) and "nope" not in wrong.text
    away = client.post(
        "/login", data={"token": PRIVATE_TOKEN, "next": "//evil.example/x"}, follow_redirects=False
    )
    assert away.headers["location"] == "/"


def test_the_hub_api_keeps_its_urls(client: TestClient, sample_repos: SampleRepos) -> None:
    assert client.get("/api/models").status_code == 200  # HfApi.list_models: JSON, not the page
    assert client.get("/api/models").headers["content-type"] == "application/json"
    resolved = client.get(f"/{sample_repos.bert}/resolve/main/config.json")
    assert resolved.status_code == 200 and resolved.json()["model_type"] == "bert"
    assert client.head(f"/{sample_repos.bert}/resolve/main/config.json").headers["x-repo-commit"]
    info = client.post(f"/api/models/{sample_repos.bert}/paths-info/main", data={"paths": "config.json"})
    assert info.status_code == 200 and info.json()[0]["path"] == "config.json"
    assert client.post(f"/{sample_repos.bert}").status_code == 403  # a write: still the Hub's answer
