"""``hg-localization demo``: the whole loop on one machine, with no access to huggingface.co.

1. Generate small real repos (a BERT-like model with tokenizer and safetensors, datasets).
2. Serve them with the project's Hub-compatible server: this stands in for huggingface.co.
3. Localize a model from it into a fresh store: metadata first, then every file.
4. Serve the store itself, and load the model from it with the unmodified huggingface_hub client.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hg_localization.config import HGLocalizationConfig
from hg_localization.demo.sample_repos import write_sample_repos
from hg_localization.server.app import create_app
from hg_localization.server.repo_source import RepoSource
from hg_localization.usecases import models

Say = Callable[[str], None]


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
    samples = write_sample_repos(workdir / "upstream")
    say(f"1. Generated sample repos in {samples.directory}")
    with serve_in_background(create_app(RepoSource.for_repos_dir(samples.directory))) as upstream:
        say(f"2. Serving them as a Hub at {upstream} (stands in for huggingface.co)")
        config = HGLocalizationConfig(
            models_store_path=workdir / "store" / "models",
            datasets_store_path=workdir / "store" / "datasets",
            hf_endpoint=upstream,
        )
        metadata = models.localize_model(samples.bert, config=config)
        say(f"3. download-model {samples.bert}: card and config in {metadata.stored.path}")
        full = models.localize_model(samples.bert, config=config, full=True)
        say(
            f"   download-model {samples.bert} --full-model: {full.fetched_files} more files, "
            f"{full.reused_files} reused, every one sha256-verified"
        )
        again = models.localize_model(samples.bert, config=config, full=True)
        say(f"   a second run: {again.status.replace('_', ' ')}")
        tagged = models.localize_model(samples.bert, samples.bert_tag, config=config)
        rows = models.compare_configs(
            models.read_local_config(config, samples.bert),
            models.read_local_config(config, samples.bert, samples.bert_tag),
        )
        changed = ", ".join(r.key for r in rows if r.differs)
        say(f"   compare-models main vs {tagged.stored.manifest.revision}: differs in {changed}")
        for entry in models.list_models(config):
            kind = "full" if entry.full else "metadata"
            say(f"   list-local-models: {entry.model_id} {entry.revision} @ {entry.commit[:12]} ({kind})")

    store_source = RepoSource.for_store(config.models_store_path, config.datasets_store_path)
    with serve_in_background(create_app(store_source)) as store_url:
        say(f"4. Serving the local store at {store_url}; loading from it with huggingface_hub:")
        from huggingface_hub import snapshot_download

        snapshot = snapshot_download(samples.bert, endpoint=store_url, cache_dir=str(workdir / "hf-cache"))
        names = sorted(p.name for p in Path(snapshot).iterdir())
        say(f"   snapshot_download -> {snapshot}")
        say(f"   files: {', '.join(names)}")
    say(f"Done. Point your own tools at a store server with HF_ENDPOINT=http://HOST:PORT. Workdir: {workdir}")
