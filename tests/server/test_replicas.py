"""Two ``serve --source bucket`` replicas (one with ``--workers 2``) behind Debian's nginx, run with
the committed docs/nginx/hg-localization.conf: every answer is the same, whichever replica gives it.

Without ``nginx`` on PATH the test is skipped, saying so; in CI (``CI`` set) that is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from hg_localization.config import HGLocalizationConfig
from s3.conftest import SeaweedServer, bucket_config, bucket_name, s3, seaweed  # noqa: F401
from server.test_bucket_source import Published, published  # noqa: F401

from helpers.clients import run_python_json

pytestmark = pytest.mark.slow
NGINX_CONF = Path(__file__).parents[2] / "docs" / "nginx" / "hg-localization.conf"
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise AssertionError(
                f"{url} exited with {process.returncode}:\n{log.read_text(errors='replace')}"
            )
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)


@contextmanager
def started(command: list[str], url: str, log: Path, env: dict[str, str]) -> Iterator[None]:
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    try:
        wait_until_up(url, process, log)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def replica_environment(config: HGLocalizationConfig) -> dict[str, str]:
    secret = config.aws_secret_access_key.get_secret_value() if config.aws_secret_access_key else ""
    return {
        **os.environ,
        "HGLOC_MODELS_STORE_PATH": str(config.models_store_path),
        "HGLOC_DATASETS_STORE_PATH": str(config.datasets_store_path),
        "HGLOC_S3_BUCKET_NAME": config.s3_bucket_name or "",
        "HGLOC_S3_ENDPOINT_URL": config.s3_endpoint_url or "",
        "HGLOC_S3_DATA_PREFIX": config.s3_data_prefix,
        "HGLOC_AWS_ACCESS_KEY_ID": config.aws_access_key_id or "",
        "HGLOC_AWS_SECRET_ACCESS_KEY": secret,
    }


def render_nginx_conf(front: int, replicas: list[int]) -> str:
    """The committed configuration, its ports replaced by the test's."""
    text = NGINX_CONF.read_text()
    servers = "".join(f"        server 127.0.0.1:{port};\n" for port in replicas)
    text, count = re.subn(r"(?:        server 127\.0\.0\.1:\d+;\n)+", servers, text)
    assert count == 1, "the upstream block of docs/nginx/hg-localization.conf changed shape"
    text, count = re.subn(r"listen 127\.0\.0\.1:\d+;", f"listen 127.0.0.1:{front};", text)
    assert count == 1
    return text


@pytest.fixture
def nginx() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if Path(p).is_file()), None
    )
    if found is None:
        reason = "nginx is not installed (apt-get install nginx)."
        if os.environ.get("CI"):
            pytest.fail(f"{reason} CI must run the replica test.")
        pytest.skip(reason)
    return found


def test_two_replicas_behind_nginx_serve_the_same_commit_and_bytes(
    published: Published,  # noqa: F811
    nginx: str,
    tmp_path: Path,
) -> None:
    samples = published.samples
    ports = [free_port(), free_port()]
    front = free_port()
    env = replica_environment(published.config)
    serve = [sys.executable, "-m", "hg_localization.cli", "serve", "--source", "bucket"]
    serve += ["--host", "127.0.0.1"]
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_nginx_conf(front, ports))
    nginx_command = [nginx, "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log")]
    nginx_command += ["-g", f"daemon off; pid {tmp_path / 'nginx.pid'};"]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    front_url = f"http://127.0.0.1:{front}"
    with (
        started([*serve, "--port", str(ports[0])], urls[0], tmp_path / "replica-1.log", env),
        started(
            [*serve, "--port", str(ports[1]), "--workers", "2"], urls[1], tmp_path / "replica-2.log", env
        ),
        started(nginx_command, front_url, tmp_path / "nginx.log", dict(os.environ)),
    ):
        code = f"""
import json, os
from huggingface_hub import HfApi, snapshot_download
folder = snapshot_download("{samples.bert}", cache_dir=os.environ["HF_HOME"] + "/c")
files = {{}}
for root, _, names in os.walk(folder):
    for name in names:
        path = os.path.join(root, name)
        files[os.path.relpath(path, folder).replace(os.sep, "/")] = open(path, "rb").read().hex()
print(json.dumps({{"files": files, "sha": HfApi().model_info("{samples.bert}").sha}}))
"""
        through_nginx = run_python_json(code, endpoint=front_url)
        answers = [httpx.get(f"{url}/api/models/{samples.bert}").json() for url in urls * 2]
        bodies = [httpx.get(f"{url}/{samples.bert}/resolve/main/config.json").content for url in urls * 2]
    expected = samples.files(samples.bert)
    assert {path: bytes.fromhex(data) for path, data in through_nginx["files"].items()} == expected
    assert {answer["sha"] for answer in answers} == {through_nginx["sha"]}
    assert all(answer == answers[0] for answer in answers)
    assert set(bodies) == {expected["config.json"]}
    assert not published.config.models_store_path.exists()
