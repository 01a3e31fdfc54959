"""``hg-localization demo``: the whole loop on one machine, with no access to huggingface.co.

1. Generate a small real repo (a BERT-like model with a tokenizer and safetensors weights).
2. Serve it with the project's Hub-compatible server: this stands in for huggingface.co.
3. Localize the model from it into a fresh store: metadata first, then every file.
4. Serve the store itself, and load the model from it with the unmodified huggingface_hub client,
   run as a user runs it: its own Python process, pointed at the server by ``HF_ENDPOINT`` alone.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hg_localization.config import HGLocalizationConfig
from hg_localization.demo.sample_repos import BERT_ID, BERT_TAG, write_tiny_bert
from hg_localization.server.app import create_app
from hg_localization.server.folder_source import FolderSource
from hg_localization.server.store_source import StoreSource
from hg_localization.usecases import models
from hg_localization.usecases.options import LocalizeOptions

Say = Callable[[str], None]

#: What the user would type: nothing but ``snapshot_download(repo_id)``; the endpoint comes from
#: ``HF_ENDPOINT``, which huggingface_hub reads once, at import (hence a process of its own).
_CLIENT_CODE = """
import json, sys
from pathlib import Path
from huggingface_hub import snapshot_download
snapshot = snapshot_download(sys.argv[1])
print(json.dumps({"snapshot": snapshot, "files": sorted(p.name for p in Path(snapshot).iterdir())}))
"""
#: Not passed on to the client: a token (the store server needs none), and "stay offline".
_CLIENT_ENV_DROPPED = frozenset({"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE"})
CLIENT_TIMEOUT = 300


@contextmanager
def serve_in_background(app: Any) -> Iterator[str]:
    """Run an ASGI app with uvicorn on 127.0.0.1 and a free port; yield its URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def run_demo(workdir: Path, say: Say) -> None:
    upstream_dir = workdir / "upstream"
    write_tiny_bert(upstream_dir)
    say(f"1. Generated {BERT_ID} (tokenizer, safetensors weights, tag {BERT_TAG}) in {upstream_dir}")
    with serve_in_background(create_app(FolderSource.for_repos_dir(upstream_dir))) as upstream:
        say(f"2. Serving it as a Hub at {upstream} (stands in for huggingface.co)")
        config = HGLocalizationConfig(
            models_store_path=workdir / "store" / "models",
            datasets_store_path=workdir / "store" / "datasets",
            hf_endpoint=upstream,
        )
        _localize(config, say)

    store_source = StoreSource.for_store(config.models_store_path, config.datasets_store_path)
    with serve_in_background(create_app(store_source)) as store_url:
        say(f"4. Serving the local store at {store_url}; an unmodified huggingface_hub loads from it:")
        snapshot, names = load_with_hub_client(BERT_ID, endpoint=store_url, cache=workdir / "hf-cache")
        say(f"   HF_ENDPOINT={store_url} python -c 'snapshot_download(\"{BERT_ID}\")' -> {snapshot}")
        say(f"   files: {', '.join(names)}")
    say(f"Done. Point your own tools at a store server with HF_ENDPOINT=http://HOST:PORT. Workdir: {workdir}")


def _localize(config: HGLocalizationConfig, say: Say) -> None:
    """Step 3: what ``download-model``, ``compare-models`` and ``list-local-models`` do."""
    metadata = models.localize_model(BERT_ID, config=config)
    say(f"3. download-model {BERT_ID}: card and config in {metadata.stored.path}")
    full = models.localize_model(BERT_ID, config=config, options=LocalizeOptions(full=True))
    say(
        f"   download-model {BERT_ID} --full-model: {full.fetched_files} more files, "
        f"{full.reused_files} reused, every one sha256-verified"
    )
    again = models.localize_model(BERT_ID, config=config, options=LocalizeOptions(full=True))
    say(f"   a second run: {again.status.replace('_', ' ')}")
    tagged = models.localize_model(BERT_ID, BERT_TAG, config=config)
    rows = models.compare_configs(
        models.read_local_config(config, BERT_ID),
        models.read_local_config(config, BERT_ID, BERT_TAG),
    )
    changed = ", ".join(r.key for r in rows if r.differs)
    say(f"   compare-models main vs {tagged.stored.manifest.revision}: differs in {changed}")
    for entry in models.list_models(config):
        kind = "full" if entry.full else "metadata"
        say(f"   list-local-models: {entry.model_id} {entry.revision} @ {entry.commit[:12]} ({kind})")


def load_with_hub_client(repo_id: str, *, endpoint: str, cache: Path) -> tuple[str, list[str]]:
    """``snapshot_download(repo_id)`` in a new Python with ``HF_ENDPOINT=endpoint``: (folder, file names).

    The child gets no token (the store server needs none, and the user's real one is not sent
    anywhere it is not needed); its progress bar and any traceback go to this process's stderr.
    """
    env = {name: value for name, value in os.environ.items() if name not in _CLIENT_ENV_DROPPED}
    env |= {"HF_ENDPOINT": endpoint, "HF_HUB_CACHE": str(cache), "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1"}
    completed = subprocess.run(
        [sys.executable, "-c", _CLIENT_CODE, repo_id],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        timeout=CLIENT_TIMEOUT,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"The huggingface_hub client exited with {completed.returncode} (its output is above)."
        )
    loaded = json.loads(completed.stdout.splitlines()[-1])
    return str(loaded["snapshot"]), [str(name) for name in loaded["files"]]
