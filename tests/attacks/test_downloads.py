"""Downloads from a hostile or broken Hub: bounded, retried, resumed, verified (issue "Trust").

Each test runs against the tests' own hostile Hub (``hostile_upstream.py``) on 127.0.0.1 and
asserts what a user sees: the error and its exit code, what is (not) left in the store, and what
the client asked the Hub for.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from download_helpers import Received, fetch, small_disk, store_config, store_files
from hostile_upstream import DEFAULT_FILES, Behaviour, HostileHub, Mode, serve_hostile_hub

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import IntegrityError, LocalFileError, UpstreamError
from hg_localization.hub.client import HubClient, ListingLimits, RetryPolicy
from hg_localization.hub.download import free_bytes
from hg_localization.ids import parse_repo_id
from hg_localization.store.local_store import LocalStore
from hg_localization.usecases import models
from hg_localization.usecases.options import LocalizeOptions
from hg_localization.weights import download as weights

from helpers.cli import run

BIG = "weights.bin"  # the 3 MiB LFS file of the hostile Hub's repo
FAST = RetryPolicy(attempts=2, base_delay=0.0)


# --- 6. commit ids from upstream ------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["../../../etc/passwd", "A" * 40, "a" * 39, "a" * 40 + "\n", "g" * 40])
def test_a_commit_id_that_is_not_40_lowercase_hex_is_refused_and_nothing_is_written(
    tmp_path: Path, bad: str
) -> None:
    with serve_hostile_hub(Behaviour(Mode.BAD_COMMIT, commit=bad)) as hub:
        with pytest.raises(UpstreamError) as info:
            fetch(hub, tmp_path / "store")
        assert hub.count("tree") == 0 and hub.count("file") == 0
    message = str(info.value)
    assert hub.url in message and "invalid commit id" in message and "Nothing was written" in message
    assert info.value.exit_code == 6
    assert store_files(tmp_path / "store") == []


def test_a_bad_commit_id_for_a_branch_already_localized_leaves_the_local_copy_as_it_was(
    tmp_path: Path,
) -> None:
    with serve_hostile_hub() as hub:
        first = fetch(hub, tmp_path / "store", full=False)
        hub.behave(Behaviour(Mode.BAD_COMMIT))
        again = fetch(hub, tmp_path / "store", full=False)
    assert again.status == "already_localized"
    assert again.stored.manifest.commit == first.stored.manifest.commit
    assert any("invalid commit id" in w for w in again.warnings)


def test_the_cli_says_which_hub_gave_a_bad_commit_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve_hostile_hub(Behaviour(Mode.BAD_COMMIT)) as hub:
        monkeypatch.setenv("HGLOC_MODELS_STORE_PATH", str(tmp_path / "models"))
        monkeypatch.setenv("HGLOC_HF_ENDPOINT", hub.url)
        code, _, err = run(capsys, "download-model", hub.repo_id)
    assert code == 6
    assert "invalid commit id" in err and "../../../etc/passwd" in err and "Nothing was written" in err
    assert not (tmp_path / "models").exists() or store_files(tmp_path / "models") == []


# --- 8. never more than the announced size ----------------------------------------------------------


@pytest.mark.parametrize("send_length", [True, False], ids=["content-length", "chunked"])
def test_a_body_longer_than_announced_is_cut_at_the_announced_size(tmp_path: Path, send_length: bool) -> None:
    received = Received()
    behaviour = Behaviour(Mode.LONGER_THAN_ANNOUNCED, announced_size=10, send_length=send_length)
    with serve_hostile_hub(behaviour) as hub:
        with pytest.raises(IntegrityError) as info:
            fetch(hub, tmp_path / "store", progress=received)
    assert received.bytes.get(BIG, 0) <= 10  # never a byte beyond the announced size was written
    assert "expected size 10 bytes" in str(info.value)
    assert info.value.exit_code == 5
    assert store_files(tmp_path / "store") == []


def test_an_endless_body_stops_at_the_announced_size(tmp_path: Path) -> None:
    received = Received()
    with serve_hostile_hub(Behaviour(Mode.ENDLESS_BODY, target_file="config.json")) as hub:
        with pytest.raises(IntegrityError, match=r"config\.json"):
            fetch(hub, tmp_path / "store", progress=received)
    assert received.bytes.get("config.json", 0) <= len(DEFAULT_FILES["config.json"])
    assert store_files(tmp_path / "store") == []


# --- 9. a read timeout, a bounded listing -----------------------------------------------------------


def test_download_timeout_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert HGLocalizationConfig().download_timeout == 30
    monkeypatch.setenv("HGLOC_DOWNLOAD_TIMEOUT", "2.5")
    assert HGLocalizationConfig().download_timeout == 2.5


def test_a_stall_mid_file_times_out_and_the_retry_continues_from_the_bytes_received(tmp_path: Path) -> None:
    with serve_hostile_hub(Behaviour(Mode.STALL_MID_FILE, times=1, stall_seconds=900)) as hub:
        config = store_config(tmp_path, hub, download_timeout=1)
        outcome = models.localize_model(hub.repo_id, config=config, options=LocalizeOptions(full=True))
        cut = hub.cut_at(BIG)
        assert hub.ranges(BIG) == [None, f"bytes={cut}-"]
    assert (outcome.stored.path / BIG).read_bytes() == DEFAULT_FILES[BIG]


def test_a_hub_that_stalls_for_good_fails_with_a_clear_error_and_keeps_the_bytes_received(
    tmp_path: Path,
) -> None:
    with serve_hostile_hub(Behaviour(Mode.STALL_MID_FILE, stall_seconds=900)) as hub:
        with pytest.raises(UpstreamError) as info:
            fetch(hub, tmp_path / "store", client=HubClient(hub.url, timeout=0.5, retry=FAST))
        cut = hub.cut_at(BIG)
    message = str(info.value)
    assert "stopped sending the download of 'weights.bin'" in message and "HGLOC_DOWNLOAD_TIMEOUT" in message
    (partial,) = (tmp_path / "store").rglob(f"{BIG}.incomplete")
    assert partial.stat().st_size == cut  # kept: the next run continues from there


@pytest.mark.parametrize(
    ("limits", "said"),
    [(ListingLimits(pages=40), "more than 40 pages"), (ListingLimits(entries=25), "more than 25 entries")],
)
def test_an_endless_chain_of_listing_pages_ends_with_a_clear_error(
    tmp_path: Path, limits: ListingLimits, said: str
) -> None:
    with serve_hostile_hub(Behaviour(Mode.ENDLESS_PAGING)) as hub:
        with pytest.raises(UpstreamError) as info:
            fetch(hub, tmp_path / "store", client=HubClient(hub.url, listing=limits))
        assert hub.count("tree") <= 40
    assert said in str(info.value) and "the listing was stopped" in str(info.value)
    assert store_files(tmp_path / "store") == []


# --- 10. retries with backoff, honouring Retry-After ------------------------------------------------


@pytest.mark.parametrize(
    ("status", "retry_after"), [(429, "1"), (500, None), (502, "0"), (503, "0"), (504, "0")]
)
def test_a_busy_hub_is_retried_and_the_file_arrives(
    tmp_path: Path, status: int, retry_after: str | None
) -> None:
    behaviour = Behaviour(Mode.STATUS, status=status, retry_after=retry_after, times=2, target_file=BIG)
    with serve_hostile_hub(behaviour) as hub:
        config = store_config(tmp_path, hub)
        outcome = models.localize_model(hub.repo_id, config=config, options=LocalizeOptions(full=True))
        assert len(hub.file_gets(BIG)) == 3
    assert (outcome.stored.path / BIG).read_bytes() == DEFAULT_FILES[BIG]


@pytest.mark.parametrize("target", ["info", "tree"])
def test_busy_metadata_requests_are_retried(tmp_path: Path, target: str) -> None:
    with serve_hostile_hub(Behaviour(Mode.STATUS, status=503, times=2, target=target)) as hub:
        outcome = fetch(hub, tmp_path / "store")
        assert hub.count(target) == 3
    assert outcome.fetched_files == len(DEFAULT_FILES)


def test_a_retry_after_longer_than_the_client_waits_fails_at_once(tmp_path: Path) -> None:
    with serve_hostile_hub(Behaviour(Mode.STATUS, status=429, retry_after="3600")) as hub:
        with pytest.raises(UpstreamError) as info:
            fetch(hub, tmp_path / "store")
        assert len(hub.file_gets(BIG)) == 1
    assert "429" in str(info.value) and "3600 s" in str(info.value)


def test_a_hub_that_stays_busy_fails_after_a_few_tries(tmp_path: Path) -> None:
    with serve_hostile_hub(Behaviour(Mode.STATUS, status=503, target="info")) as hub:
        with pytest.raises(UpstreamError) as info:
            fetch(hub, tmp_path / "store", client=HubClient(hub.url, retry=FAST))
        assert hub.count("info") == 2
    assert "503" in str(info.value) and "after 2 tries" in str(info.value)


def test_a_dropped_connection_continues_from_the_bytes_received(tmp_path: Path) -> None:
    with serve_hostile_hub(Behaviour(Mode.DROP_MID_FILE, times=2)) as hub:
        outcome = fetch(hub, tmp_path / "store")
        cut = hub.cut_at(BIG)
        assert hub.ranges(BIG) == [None, f"bytes={cut}-", f"bytes={cut}-"]
        assert hub.gets_from_zero(BIG) == 1
    assert (outcome.stored.path / BIG).read_bytes() == DEFAULT_FILES[BIG]


def test_download_weights_retries_too(tmp_path: Path) -> None:
    with serve_hostile_hub(Behaviour(Mode.STATUS, status=503, times=1)) as hub:
        got = weights.download_weights(
            store_config(tmp_path, hub), repo_id=hub.repo_id, target_dir=tmp_path / "w"
        )
        assert len(hub.file_gets(BIG)) == 2
    assert (tmp_path / "w" / BIG).read_bytes() == DEFAULT_FILES[BIG]
    assert BIG in got.downloaded


# --- 11. a partial file is resumed by the next run ------------------------------------------------


def _leave_a_partial_file(hub: HostileHub, store_root: Path) -> Path:
    """A first run that breaks off mid-file (the Hub stalls), leaving the bytes it received."""
    hub.behave(Behaviour(Mode.STALL_MID_FILE, stall_seconds=900))
    with pytest.raises(UpstreamError):
        fetch(hub, store_root, client=HubClient(hub.url, timeout=0.5, retry=RetryPolicy(attempts=1)))
    (partial,) = store_root.rglob(f"{BIG}.incomplete")
    assert partial.stat().st_size == hub.cut_at(BIG)
    hub.requests.clear()  # what the next run asks for
    return partial


def test_the_next_run_resumes_a_partial_file_with_a_range_request(tmp_path: Path) -> None:
    with serve_hostile_hub() as hub:
        _leave_a_partial_file(hub, tmp_path / "store")
        hub.behave(Behaviour())
        outcome = fetch(hub, tmp_path / "store")
        assert hub.ranges(BIG) == [f"bytes={hub.cut_at(BIG)}-"]  # not from byte 0
    assert (outcome.stored.path / BIG).read_bytes() == DEFAULT_FILES[BIG]
    assert not list((tmp_path / "store").rglob("*.incomplete"))


def test_a_hub_that_ignores_range_gets_the_file_started_over_cleanly(tmp_path: Path) -> None:
    with serve_hostile_hub() as hub:
        _leave_a_partial_file(hub, tmp_path / "store")
        hub.behave(Behaviour(Mode.IGNORE_RANGE))
        outcome = fetch(hub, tmp_path / "store")
        assert hub.ranges(BIG) == [f"bytes={hub.cut_at(BIG)}-"]  # asked for the rest, got it all
    assert (outcome.stored.path / BIG).read_bytes() == DEFAULT_FILES[BIG]


def test_a_partial_file_of_other_bytes_is_verified_and_fetched_again(tmp_path: Path) -> None:
    with serve_hostile_hub() as hub:
        partial = _leave_a_partial_file(hub, tmp_path / "store")
        partial.write_bytes(b"\xff" * partial.stat().st_size)  # e.g. a version from before the branch moved
        hub.behave(Behaviour())
        outcome = fetch(hub, tmp_path / "store")
        assert hub.ranges(BIG) == [f"bytes={hub.cut_at(BIG)}-", None]
    assert (outcome.stored.path / BIG).read_bytes() == DEFAULT_FILES[BIG]


@pytest.mark.slow
def test_a_killed_download_is_resumed_by_the_next_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve_hostile_hub(Behaviour(Mode.STALL_MID_FILE, times=1, stall_seconds=900)) as hub:
        env = {"HGLOC_MODELS_STORE_PATH": str(tmp_path / "models"), "HGLOC_HF_ENDPOINT": hub.url}
        cut = hub.cut_at(BIG)
        child = subprocess.Popen(
            [sys.executable, "-m", "hg_localization.cli", "download-model", hub.repo_id, "--full-model"],
            env={**os.environ, **env, "HGLOC_DOWNLOAD_TIMEOUT": "900"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for_partial(tmp_path / "models", cut, child)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        code, _, err = run(capsys, "download-model", hub.repo_id, "--full-model")
        assert code == 0, err
        assert hub.ranges(BIG) == [None, f"bytes={cut}-"]  # the second run asked for the rest only
    (stored,) = (tmp_path / "models").rglob(BIG)
    assert stored.read_bytes() == DEFAULT_FILES[BIG]


def _wait_for_partial(root: Path, size: int, child: subprocess.Popen[bytes]) -> None:
    """Until the download in ``child`` has staged ``size`` bytes (a bounded wait, not a timing)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and child.poll() is None:
        if any(p.stat().st_size >= size for p in root.rglob(f"{BIG}.incomplete")):
            return
        time.sleep(0.05)
    pytest.fail(f"The download never staged {size} bytes (exit code {child.poll()}).")


# --- 12. a full disk ---------------------------------------------------------------------------------


def test_too_little_free_space_is_said_before_anything_is_downloaded(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk, serve_hostile_hub() as hub:
        kept = fetch(hub, disk / "store", full=False)  # a complete revision, small
        with pytest.raises(LocalFileError) as info:
            fetch(hub, disk / "store", revision="v1.0")
        assert hub.file_gets(BIG) == []
        message = str(info.value)
        assert "Not enough free space" in message and "3.1 MB" in message and "is free" in message
        assert "HGLOC_MODELS_STORE_PATH" in message
        assert info.value.exit_code == 8
        assert LocalStore(disk / "store", "model").get(parse_repo_id(hub.repo_id), "main") == kept.stored


def test_download_weights_checks_the_free_space_first_too(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk, serve_hostile_hub() as hub:
        config = store_config(tmp_path, hub)
        with pytest.raises(LocalFileError) as info:
            weights.download_weights(config, repo_id=hub.repo_id, target_dir=disk / "w")
        assert hub.count("file") == 0
    assert "Not enough free space" in str(info.value) and "--target-dir" in str(info.value)


def test_a_full_disk_removes_what_this_run_staged_and_the_next_run_works(tmp_path: Path) -> None:
    plenty = lambda folder: 10**12  # noqa: E731  (the free-space check is told there is room)
    with small_disk(tmp_path / "disk") as disk, serve_hostile_hub() as hub:
        store_root = disk / "store"
        kept = fetch(hub, store_root, full=False)  # a complete revision, small
        before = store_files(store_root), free_bytes(disk)
        with pytest.raises(LocalFileError) as info:
            fetch(hub, store_root, revision="v1.0", free_space=plenty)
        assert "disk is full" in str(info.value) and info.value.exit_code == 8
        assert store_files(store_root) == before[0]  # nothing staged is left, the complete revision stays
        assert free_bytes(disk) >= before[1] - 64 * 1024
        assert LocalStore(store_root, "model").get(parse_repo_id(hub.repo_id), "main") == kept.stored
        again = fetch(hub, store_root, revision="v2.0", include=("config.json",))
        assert (again.stored.path / "config.json").read_bytes() == DEFAULT_FILES["config.json"]


# --- 13. a file reused from another revision is verified first ------------------------------------


def test_a_corrupt_twin_in_another_revision_is_not_linked_but_fetched(tmp_path: Path) -> None:
    with serve_hostile_hub() as hub:
        main = fetch(hub, tmp_path / "store")
        corrupt = main.stored.path / "config.json"
        data = bytearray(corrupt.read_bytes())
        data[0] ^= 0xFF
        corrupt.write_bytes(bytes(data))
        v1 = fetch(hub, tmp_path / "store", revision="v1.0")
        assert len(hub.file_gets("config.json")) == 2  # fetched again, not linked
        assert len(hub.file_gets(BIG)) == 1  # an intact twin is still reused
    assert (v1.stored.path / "config.json").read_bytes() == DEFAULT_FILES["config.json"]
    assert (v1.stored.path / BIG).stat().st_ino == (main.stored.path / BIG).stat().st_ino
    assert corrupt.read_bytes() == bytes(data)  # the other revision's file is not touched
