"""Localizing models from the test Hub into the store: what lands, what is verified, what is refused."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import (
    AuthenticationError,
    IntegrityError,
    InvalidInputError,
    RepoNotFoundError,
    RevisionNotFoundError,
    UpstreamError,
)
from hg_localization.ids import parse_repo_id
from hg_localization.progress import ProgressListener
from hg_localization.server.app import create_app
from hg_localization.server.folder_source import FolderSource
from hg_localization.server.store_source import StoreSource
from hg_localization.store.layout import METADATA_FILENAME
from hg_localization.usecases import models
from hg_localization.usecases.localize import LocalizeOutcome
from hg_localization.usecases.options import LocalizeOptions

from helpers.asgi import Throttle
from helpers.servers import PRIVATE_TOKEN, replace_served_file, run_server
from helpers.stored import manifest_of, stored_files


def as_stored(upstream: dict[str, bytes]) -> dict[str, bytes]:
    """A model's repo files as the store keeps them (README.md is the model card)."""
    return {("model_card.md" if k == "README.md" else k): v for k, v in upstream.items()}


# --- what lands in the store ---------------------------------------------------------------------


def test_metadata_only_brings_the_card_and_the_config(config: HGLocalizationConfig, hub_server: Any) -> None:
    samples = hub_server.samples
    outcome = models.localize_model(samples.bert, config=config)

    folder = outcome.stored.path
    assert folder == config.models_store_path / "hgloc-test" / "tiny-bert" / "main"
    upstream = samples.files(samples.bert)
    assert stored_files(folder) == {
        "model_card.md": upstream["README.md"],
        "config.json": upstream["config.json"],
    }
    manifest = manifest_of(folder)
    assert manifest.commit == HfApi(endpoint=hub_server.url).model_info(samples.bert).sha
    assert manifest.revision == "main"
    assert not manifest.full
    assert outcome.status == "fetched"


def test_full_model_brings_every_file_bit_for_bit(config: HGLocalizationConfig, hub_server: Any) -> None:
    samples = hub_server.samples
    outcome = models.localize_model(samples.bert, config=config, options=LocalizeOptions(full=True))

    files = stored_files(outcome.stored.path)
    assert files == as_stored(samples.files(samples.bert))
    assert "extra/file with space.txt" in files
    assert any(name.startswith("extra/nested/") for name in files)
    for record in manifest_of(outcome.stored.path).files:
        content = files[record.local_path]
        assert record.sha256 == hashlib.sha256(content).hexdigest()
        assert record.size == len(content)


def test_a_tag_is_resolved_to_its_commit_and_both_are_recorded(
    config: HGLocalizationConfig, hub_server: Any
) -> None:
    samples = hub_server.samples
    main = models.localize_model(samples.bert, config=config)
    tagged = models.localize_model(samples.bert, samples.bert_tag, config=config)

    assert tagged.stored.path.name == samples.bert_tag
    assert tagged.stored.manifest.revision == samples.bert_tag
    assert tagged.stored.manifest.commit != main.stored.manifest.commit
    tag_config = samples.files(samples.bert, samples.bert_tag)["config.json"]
    assert (tagged.stored.path / "config.json").read_bytes() == tag_config


def test_a_commit_id_works_as_a_revision(config: HGLocalizationConfig, hub_server: Any) -> None:
    samples = hub_server.samples
    commit = HfApi(endpoint=hub_server.url).model_info(samples.bert, revision=samples.bert_tag).sha
    outcome = models.localize_model(samples.bert, commit, config=config)
    assert outcome.stored.path.name == commit
    assert outcome.stored.manifest.commit == commit


def test_include_and_exclude_filter_a_full_download(config: HGLocalizationConfig, hub_server: Any) -> None:
    samples = hub_server.samples
    only_json = models.localize_model(
        samples.bert, config=config, options=LocalizeOptions(include=("*.json",))
    )
    names = set(stored_files(only_json.stored.path))
    assert "config.json" in names and "tokenizer.json" in names
    assert "model_card.md" in names  # the card always comes
    assert not any(n.endswith(".safetensors") for n in names)

    no_weights = models.localize_model(
        samples.bert,
        samples.bert_tag,
        config=config,
        options=LocalizeOptions(full=True, exclude=("*.safetensors",)),
    )
    names = set(stored_files(no_weights.stored.path))
    assert "tokenizer.json" in names
    assert not any(n.endswith(".safetensors") for n in names)


def test_patterns_that_match_nothing_are_an_error(config: HGLocalizationConfig, hub_server: Any) -> None:
    with pytest.raises(InvalidInputError, match="matches"):
        models.localize_model(
            hub_server.samples.no_config,
            config=config,
            options=LocalizeOptions(include=("*.gguf",), exclude=("README.md",)),
        )


def test_an_id_without_namespace_is_stored_under_the_reserved_folder(
    config: HGLocalizationConfig, hub_server: Any
) -> None:
    outcome = models.localize_model(hub_server.samples.no_namespace, config=config)
    assert outcome.stored.path == config.models_store_path / "_" / hub_server.samples.no_namespace / "main"
    assert [m.model_id for m in models.list_models(config)] == [hub_server.samples.no_namespace]


def test_a_repo_without_config_localizes_what_exists_and_says_what_is_missing(
    config: HGLocalizationConfig, hub_server: Any
) -> None:
    outcome = models.localize_model(hub_server.samples.no_config, config=config)
    assert outcome.missing == ["config.json"]
    assert set(stored_files(outcome.stored.path)) == {"model_card.md"}
    (listed,) = models.list_models(config)
    assert listed.has_card and not listed.has_config


# --- access and misses ---------------------------------------------------------------------------


def test_a_private_repo_needs_a_token(config: HGLocalizationConfig, hub_server: Any) -> None:
    private = hub_server.samples.private
    with pytest.raises(AuthenticationError) as info:
        models.localize_model(private, config=config)
    assert "HF_TOKEN" in str(info.value)
    assert not (config.models_store_path / "hgloc-test" / "private-model" / "main").exists()

    with_token = config.with_overrides(hf_token=PRIVATE_TOKEN)
    outcome = models.localize_model(private, config=with_token, options=LocalizeOptions(full=True))
    assert (outcome.stored.path / "config.json").is_file()
    assert PRIVATE_TOKEN not in (outcome.stored.path / METADATA_FILENAME).read_text()


def test_a_wrong_token_is_refused(config: HGLocalizationConfig, hub_server: Any) -> None:
    with pytest.raises(AuthenticationError, match="token"):
        models.localize_model(hub_server.samples.private, config=config.with_overrides(hf_token="wrong"))


def test_an_unknown_repo_and_revision_are_not_found(config: HGLocalizationConfig, hub_server: Any) -> None:
    with pytest.raises(RepoNotFoundError, match="Check the id"):
        models.localize_model("hgloc-test/does-not-exist", config=config)
    with pytest.raises(RevisionNotFoundError, match="no-such-branch"):
        models.localize_model(hub_server.samples.bert, "no-such-branch", config=config)
    assert models.list_models(config) == []
    assert not (config.models_store_path / "hgloc-test").exists()


@pytest.mark.parametrize("bad_id", ["../x", "/abs", "a/b/c", "", "bad\x00id", "new\nline/x"])
def test_invalid_ids_are_refused_before_anything_touches_the_disk(
    config: HGLocalizationConfig, bad_id: str
) -> None:
    with pytest.raises(InvalidInputError):
        models.localize_model(bad_id, config=config)
    assert not config.models_store_path.exists()


# --- re-runs, updates, integrity -------------------------------------------------------------------


def test_a_second_run_downloads_nothing(recorded_config: HGLocalizationConfig, recorded_hub: Any) -> None:
    bert = "hgloc-test/tiny-bert"
    models.localize_model(bert, config=recorded_config, options=LocalizeOptions(full=True))
    recorded_hub.recorder.clear()

    again = models.localize_model(bert, config=recorded_config, options=LocalizeOptions(full=True))
    assert again.status == "already_localized"
    assert len(recorded_hub.recorder.requests) <= 1  # at most: where does main point now?
    assert recorded_hub.recorder.downloads() == []

    recorded_hub.recorder.clear()
    by_commit = models.localize_model(bert, again.stored.manifest.commit, config=recorded_config)
    recorded_hub.recorder.clear()
    models.localize_model(bert, by_commit.stored.manifest.commit, config=recorded_config)
    assert recorded_hub.recorder.requests == []  # a commit never moves: no request at all


@contextmanager
def _localizing_while_locked(
    config: HGLocalizationConfig, repo_id: str
) -> Iterator[tuple[threading.Thread, list[LocalizeOutcome]]]:
    """A localization of ``repo_id``@main started in a thread while this test holds the revision's
    lock (released when the block ends, then the thread is waited for); what it returned."""
    results: list[LocalizeOutcome] = []
    with models.model_store(config).lock(parse_repo_id(repo_id), "main"):
        run = threading.Thread(target=lambda: results.append(models.localize_model(repo_id, config=config)))
        run.start()
        yield run, results
    run.join(timeout=60)


def test_a_current_copy_is_answered_while_another_run_holds_the_revision_lock(
    recorded_config: HGLocalizationConfig, recorded_hub: Any
) -> None:
    """A re-run that finds the revision localized and current waits for no one: a reader needs no lock."""
    bert = "hgloc-test/tiny-bert"
    models.localize_model(bert, config=recorded_config)
    with _localizing_while_locked(recorded_config, bert) as (rerun, results):
        rerun.join(timeout=60)
        assert not rerun.is_alive(), "the re-run of a current copy waited for the revision's lock"
    assert [outcome.status for outcome in results] == ["already_localized"]


def test_a_moved_branch_waits_for_whoever_holds_the_revision_lock(
    recorded_config: HGLocalizationConfig, recorded_hub: Any
) -> None:
    """An update writes the revision folder: it waits for the lock, then does its work."""
    bert = "hgloc-test/tiny-bert"
    models.localize_model(bert, config=recorded_config)
    upstream_config = recorded_hub.repos_dir / "models" / "hgloc-test" / "tiny-bert" / "main" / "config.json"
    replace_served_file(upstream_config, upstream_config.read_bytes() + b"\n")
    with _localizing_while_locked(recorded_config, bert) as (update, results):
        update.join(timeout=1.5)
        assert update.is_alive(), "the update did not wait for the revision's lock"
    assert [outcome.status for outcome in results] == ["updated"]


def test_force_fetches_again(recorded_config: HGLocalizationConfig, recorded_hub: Any) -> None:
    bert = "hgloc-test/tiny-bert"
    models.localize_model(bert, config=recorded_config)
    recorded_hub.recorder.clear()
    models.localize_model(bert, config=recorded_config, options=LocalizeOptions(force=True))
    assert len(recorded_hub.recorder.downloads()) == 2


def test_going_from_metadata_to_full_reuses_what_is_there(
    recorded_config: HGLocalizationConfig, recorded_hub: Any
) -> None:
    bert = "hgloc-test/tiny-bert"
    models.localize_model(bert, config=recorded_config)
    recorded_hub.recorder.clear()
    outcome = models.localize_model(bert, config=recorded_config, options=LocalizeOptions(full=True))
    fetched = recorded_hub.recorder.downloads()
    assert not any(path.endswith("/config.json") or path.endswith("/README.md") for path in fetched)
    assert outcome.reused_files == 2
    assert outcome.stored.manifest.full


def test_a_moved_branch_is_updated(recorded_config: HGLocalizationConfig, recorded_hub: Any) -> None:
    bert = "hgloc-test/tiny-bert"
    first = models.localize_model(bert, config=recorded_config)
    upstream_config = recorded_hub.repos_dir / "models" / "hgloc-test" / "tiny-bert" / "main" / "config.json"
    changed = {**json.loads(upstream_config.read_text()), "hidden_dropout_prob": 0.42}
    replace_served_file(upstream_config, json.dumps(changed).encode())

    second = models.localize_model(bert, config=recorded_config)
    assert second.status == "updated"
    assert second.stored.manifest.commit != first.stored.manifest.commit
    assert json.loads((second.stored.path / "config.json").read_text())["hidden_dropout_prob"] == 0.42


def test_a_corrupt_mirror_is_caught_and_nothing_is_kept(
    tmp_path: Path, config: HGLocalizationConfig, hub_server: Any
) -> None:
    """A mirror whose file no longer matches its recorded sha256: the download is refused."""
    bert = hub_server.samples.bert
    mirror_config = config.with_overrides(models_store_path=tmp_path / "mirror" / "models")
    mirrored = models.localize_model(bert, config=mirror_config, options=LocalizeOptions(full=True))
    weights = mirrored.stored.path / "model.safetensors"
    expected = hashlib.sha256(weights.read_bytes()).hexdigest()
    corrupted = bytearray(weights.read_bytes())
    corrupted[-1] ^= 0xFF
    weights.write_bytes(bytes(corrupted))
    actual = hashlib.sha256(bytes(corrupted)).hexdigest()

    source = StoreSource.for_store(mirror_config.models_store_path, mirror_config.datasets_store_path)
    with run_server(create_app(source)) as mirror_url:
        with pytest.raises(IntegrityError) as info:
            models.localize_model(
                bert, config=config.with_overrides(hf_endpoint=mirror_url), options=LocalizeOptions(full=True)
            )
    message = str(info.value)
    assert "model.safetensors" in message and expected in message and actual in message
    assert models.list_models(config) == []
    leftovers = [p for p in config.models_store_path.rglob("*") if p.is_file() and ".locks" not in p.parts]
    assert leftovers == []


def test_a_failed_run_keeps_what_was_already_stored(config: HGLocalizationConfig, hub_server: Any) -> None:
    bert = hub_server.samples.bert
    models.localize_model(bert, config=config)
    with pytest.raises(InvalidInputError):
        models.localize_model(
            bert, config=config, options=LocalizeOptions(include=("*.nothing",), exclude=("*",))
        )
    (listed,) = models.list_models(config)
    assert listed.has_card and listed.has_config


def test_the_store_can_be_removed_and_copied(
    tmp_path: Path, config: HGLocalizationConfig, hub_server: Any
) -> None:
    """A revision folder is self-contained: copied elsewhere, it lists the same."""
    outcome = models.localize_model(hub_server.samples.bert, config=config)
    copy_root = tmp_path / "copy"
    shutil.copytree(config.models_store_path, copy_root)
    copied = config.with_overrides(models_store_path=copy_root)
    assert [m.commit for m in models.list_models(copied)] == [outcome.stored.manifest.commit]


# --- hostile or broken upstreams, interruptions ------------------------------------------------------


def hostile_hub(file_path: str) -> Starlette:
    """A 'Hub' that lists a file whose path tries to leave the store."""
    commit = "c" * 40

    async def info(request: Request) -> JSONResponse:
        return JSONResponse({"id": "evil/model", "sha": commit, "siblings": [], "private": False})

    async def tree(request: Request) -> JSONResponse:
        entry = {"type": "file", "path": file_path, "size": 5, "oid": "0" * 40}
        return JSONResponse([entry], headers={"X-Repo-Commit": commit})

    async def resolve(request: Request) -> PlainTextResponse:
        return PlainTextResponse("owned", headers={"X-Repo-Commit": commit})

    return Starlette(
        routes=[
            Route("/api/models/evil/model/revision/{rev}", info),
            Route("/api/models/evil/model/tree/{rest:path}", tree),
            Route("/evil/model/resolve/{rest:path}", resolve),
        ]
    )


@pytest.mark.parametrize("file_path", ["../../../../ESCAPED.txt", "/etc/ESCAPED.txt", "a/../../ESCAPED.txt"])
def test_a_file_path_from_the_hub_that_would_leave_the_store_is_refused(
    tmp_path: Path, config: HGLocalizationConfig, file_path: str
) -> None:
    with run_server(hostile_hub(file_path)) as url:
        with pytest.raises(UpstreamError, match="unsafe file path"):
            models.localize_model(
                "evil/model",
                config=config.with_overrides(hf_endpoint=url),
                options=LocalizeOptions(full=True),
            )
    assert not list(tmp_path.rglob("ESCAPED.txt"))
    assert models.list_models(config) == []


def test_a_repo_file_named_like_the_store_s_own_files_is_refused(
    tmp_path: Path, config: HGLocalizationConfig
) -> None:
    with run_server(hostile_hub(METADATA_FILENAME)) as url:
        with pytest.raises(InvalidInputError, match="reserves"):
            models.localize_model(
                "evil/model",
                config=config.with_overrides(hf_endpoint=url),
                options=LocalizeOptions(full=True),
            )


class InterruptAtFirstByte(ProgressListener):
    """Presses Ctrl-C (SIGINT to this process) as soon as the first bytes arrive."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self._sent = False

    def file_started(self, path: str, size: int) -> None:
        self.started.append(path)

    def file_advanced(self, path: str, n_bytes: int) -> None:
        if not self._sent:
            self._sent = True
            os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_stops_the_download_instead_of_fetching_every_queued_file(
    config: HGLocalizationConfig, sample_repos_dir: Path
) -> None:
    slow = Throttle(create_app(FolderSource.for_repos_dir(sample_repos_dir)), delay=0.05)
    listener = InterruptAtFirstByte()
    with run_server(slow) as url:
        single = config.with_overrides(hf_endpoint=url, max_workers=1)
        with pytest.raises(KeyboardInterrupt):
            models.localize_model(
                "hgloc-test/tiny-bert", config=single, options=LocalizeOptions(full=True), progress=listener
            )
    assert len(listener.started) == 1  # the queued files never started
    assert models.list_models(config) == []


def test_store_files_are_readable_by_the_team_not_only_their_writer(
    config: HGLocalizationConfig, hub_server: Any
) -> None:
    outcome = models.localize_model(hub_server.samples.bert, config=config)
    umask = os.umask(0)
    os.umask(umask)
    mode = (outcome.stored.path / METADATA_FILENAME).stat().st_mode & 0o777
    assert mode == 0o666 & ~umask


def test_an_endpoint_password_is_never_stored(config: HGLocalizationConfig, hub_server: Any) -> None:
    with_password = hub_server.url.replace("http://", "http://user:s3cret-pass@")
    outcome = models.localize_model(
        hub_server.samples.bert, config=config.with_overrides(hf_endpoint=with_password)
    )
    assert "s3cret-pass" not in (outcome.stored.path / METADATA_FILENAME).read_text()
