"""A writable test Hub with weight repos, for the weights tests (use case, CLI, server, entrypoint).

The ``hub`` fixture (tests/conftest.py) serves one per test::

    def test_x(hub: WeightsHub) -> None:
        hub.add_repo("team/weights", WEIGHTS)                 # with a checksums.txt
        config = hub.config(token=hub.read_token)

Each test gets its own folder of repos (tests may tamper with it) served by ``create_app`` with
the write API, a read token and a write token, on 127.0.0.1; every request is recorded.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hg_localization.config import HGLocalizationConfig
from hg_localization.server.app import create_app
from hg_localization.server.auth import ServerTokens
from hg_localization.server.folder_source import FolderSource
from hg_localization.server.hub_write import HubWriteApi

from helpers.asgi import RequestRecorder
from helpers.servers import run_server

READ_TOKEN = "hgloc-weights-read-token"
WRITE_TOKEN = "hgloc-weights-write-token"
WEIGHTS_ID = "team/song-weights"


def _bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


#: A small weights repo: an LFS-sized file by suffix, a JSON config, a sub-folder, a name with spaces.
WEIGHTS: dict[str, bytes] = {
    "model.safetensors": _bytes(1, 300_000),
    "config.json": b'{"sample_rate": 48000, "layers": 2}\n',
    "vae/decoder weights.bin": _bytes(2, 120_000),
    "README.md": b"---\nlicense: apache-2.0\n---\n# Song weights\n",
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def checksums_text(files: Mapping[str, bytes]) -> str:
    return "".join(f"{sha256(data)}  {path}\n" for path, data in sorted(files.items()))


def folder_files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` that is not hidden (our bookkeeping files are)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    }


def write_folder(root: Path, files: Mapping[str, bytes]) -> Path:
    """Write ``files`` (path → bytes) under ``root``, sub-folders included; return ``root``."""
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return root


@dataclass
class WeightsHub:
    url: str
    repos_dir: Path
    recorder: RequestRecorder
    read_token: str = READ_TOKEN
    write_token: str = WRITE_TOKEN

    def revision_dir(self, repo_id: str, revision: str = "main") -> Path:
        return self.repos_dir / "models" / repo_id / revision

    def add_repo(
        self,
        repo_id: str,
        files: Mapping[str, bytes],
        *,
        checksums: str | bytes | None = "auto",
        private: bool = False,
    ) -> Path:
        """Write a repo's ``main``; ``checksums="auto"`` lists every file correctly, None means none."""
        folder = write_folder(self.revision_dir(repo_id), files)
        if checksums == "auto":
            checksums = checksums_text(files)
        if checksums is not None:
            listing = checksums.encode() if isinstance(checksums, str) else checksums
            (folder / "checksums.txt").write_bytes(listing)
        if private:
            (folder.parent / "repo.json").write_text(json.dumps({"private": True}))
        return folder

    def config(self, *, token: str | None = None, **fields: object) -> HGLocalizationConfig:
        return HGLocalizationConfig(hf_endpoint=self.url, hf_token=token, **fields)  # type: ignore[arg-type]

    def requests(self, method: str | None = None) -> list[tuple[str, str]]:
        return [r for r in self.recorder.requests if method is None or r[0] == method]


@contextmanager
def serve_weights_hub(tmp_path: Path) -> Iterator[WeightsHub]:
    repos_dir = tmp_path / "hub-repos"
    (repos_dir / "models").mkdir(parents=True)
    source = FolderSource.for_repos_dir(repos_dir)
    tokens = ServerTokens(read=frozenset({READ_TOKEN}), write=frozenset({WRITE_TOKEN}))
    recorder = RequestRecorder(create_app(source, tokens=tokens, write_api=HubWriteApi(source, tokens)))
    with run_server(recorder) as url:
        yield WeightsHub(url=url, repos_dir=repos_dir, recorder=recorder)
