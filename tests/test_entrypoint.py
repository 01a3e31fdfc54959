"""docker/entrypoint.sh, run directly (no Docker engine here): weights present, absent, unobtainable."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from hg_localization.config import HGLocalizationConfig
from hg_localization.weights import download as weights

from helpers.cli import write_cli_shim
from helpers.weights_fixtures import WEIGHTS, WEIGHTS_ID, WeightsHub, checksums_text, folder_files

ROOT = Path(__file__).resolve().parents[1]
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
DEAD_ENDPOINT = "http://127.0.0.1:9"


@pytest.fixture
def hub(hub: WeightsHub) -> WeightsHub:
    """The test Hub, with a private weights repo."""
    hub.add_repo(WEIGHTS_ID, WEIGHTS, private=True)
    return hub


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """``hg-localization`` on PATH, as the image has it: this interpreter's CLI."""
    return write_cli_shim(tmp_path / "bin").parent


def start(
    bin_dir: Path, weights_dir: Path, endpoint: str, *command: str, **env: str
) -> subprocess.CompletedProcess[str]:
    child_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("HF_TOKEN", "HUGGING_FACE"))},
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HF_ENDPOINT": endpoint,
        "WEIGHTS_DIR": str(weights_dir),
        "HGLOC_WEIGHTS_REPO_ID": WEIGHTS_ID,
        **env,
    }
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *(command or ("sh", "-c", "echo STARTED with $WEIGHTS_DIR"))],
        env=child_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )


def download(hub: WeightsHub, target: Path) -> None:
    config = HGLocalizationConfig(hf_endpoint=hub.url, hf_token=hub.read_token)  # type: ignore[arg-type]
    weights.download_weights(config, repo_id=WEIGHTS_ID, target_dir=target)


EXPECTED = {**WEIGHTS, "checksums.txt": checksums_text(WEIGHTS).encode()}


def test_weights_present_are_verified_and_the_command_runs_without_any_download(
    hub: WeightsHub, bin_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "weights"
    download(hub, target)
    hub.recorder.clear()
    done = start(bin_dir, target, DEAD_ENDPOINT)  # nothing reachable: proof that nothing is fetched
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"STARTED with {target}"
    assert "complete and verified" in done.stderr
    assert hub.recorder.requests == []


def test_a_read_only_mount_without_any_record_is_verified_by_hashing(
    hub: WeightsHub, bin_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "weights"
    download(hub, target)
    mount = tmp_path / "mount"
    shutil.copytree(target, mount, ignore=shutil.ignore_patterns(".hg_localization*"))
    for path in [mount, *mount.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        done = start(bin_dir, mount, DEAD_ENDPOINT)
    finally:
        for path in [mount, *mount.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    assert done.returncode == 0, done.stderr
    assert "STARTED" in done.stdout
    assert folder_files(mount) == EXPECTED
    if os.geteuid() != 0:  # root writes through read-only modes; anyone else must not write at all
        assert not (mount / ".hg_localization_weights.json").exists()


def test_weights_absent_are_downloaded_with_the_token_then_the_command_runs(
    hub: WeightsHub, bin_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "weights"
    done = start(bin_dir, target, hub.url, HUGGING_FACE_HUB_TOKEN=hub.read_token)
    assert done.returncode == 0, done.stderr
    assert "STARTED" in done.stdout
    assert "downloaded and verified" in done.stderr
    assert folder_files(target) == EXPECTED


def test_damaged_weights_are_downloaded_again(hub: WeightsHub, bin_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "weights"
    download(hub, target)
    (target / "config.json").write_bytes(b"{}")
    done = start(bin_dir, target, hub.url, HF_TOKEN=hub.read_token)
    assert done.returncode == 0, done.stderr
    assert "Checksum mismatch for 'config.json'" in " ".join(done.stderr.split())
    assert folder_files(target) == EXPECTED


@pytest.mark.parametrize("reason", ["no-token", "hub-unreachable"])
def test_weights_that_cannot_be_obtained_stop_the_container_with_hints(
    hub: WeightsHub, bin_dir: Path, tmp_path: Path, reason: str
) -> None:
    target = tmp_path / "weights"
    endpoint = hub.url if reason == "no-token" else DEAD_ENDPOINT
    done = start(bin_dir, target, endpoint)
    assert done.returncode == 1
    assert "STARTED" not in done.stdout
    assert "cannot start: there are no verified weights" in done.stderr
    assert f"hint: mount verified weights: docker run -v /path/to/weights:{target}:ro" in done.stderr
    if reason == "no-token":
        assert "private or gated" in done.stderr
        assert "hint: no HUGGING_FACE_HUB_TOKEN is set" in done.stderr
    else:  # connection refused: a token would not help, so no token hint
        assert "Could not reach the Hub" in done.stderr
        assert "HUGGING_FACE_HUB_TOKEN" not in done.stderr
    assert not list(target.rglob("*.safetensors"))


def test_the_command_replaces_the_shell_and_its_exit_code_is_the_containers(
    hub: WeightsHub, bin_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "weights"
    download(hub, target)
    done = start(bin_dir, target, DEAD_ENDPOINT, "sh", "-c", "exit 7")
    assert done.returncode == 7


def test_weights_check_can_be_skipped(bin_dir: Path, tmp_path: Path) -> None:
    done = start(bin_dir, tmp_path / "none", DEAD_ENDPOINT, WEIGHTS_CHECK="skip")
    assert done.returncode == 0
    assert "STARTED" in done.stdout


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_without_a_command_it_serves_the_weights_it_verified(
    hub: WeightsHub, bin_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "weights"
    download(hub, target)
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("HF_TOKEN", "HUGGING_FACE"))},
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HF_ENDPOINT": DEAD_ENDPOINT,
        "WEIGHTS_DIR": str(target),
        "HGLOC_WEIGHTS_REPO_ID": WEIGHTS_ID,
        "HGLOC_MODELS_STORE_PATH": str(tmp_path / "unrelated-store"),  # what it must NOT serve
        "SERVE_DIR": str(tmp_path / "serve"),
        "PORT": str(port),
    }
    server = subprocess.Popen(
        ["sh", str(ENTRYPOINT)], env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        url = f"http://127.0.0.1:{port}/{WEIGHTS_ID}/resolve/main/checksums.txt"
        answer = None
        for _ in range(600):  # bounded by attempts, not by time
            if server.poll() is not None:
                break
            try:
                answer = httpx.get(url, timeout=5, follow_redirects=True)
                break
            except httpx.TransportError:  # not listening yet
                time.sleep(0.2)
        assert answer is not None, server.stderr.read() if server.stderr else ""
        assert answer.status_code == 200
        assert answer.content == EXPECTED["checksums.txt"]
        weights = httpx.get(
            url.replace("checksums.txt", "model.safetensors"), timeout=5, follow_redirects=True
        )
        assert weights.content == EXPECTED["model.safetensors"]
    finally:
        server.terminate()
        server.wait(timeout=60)
