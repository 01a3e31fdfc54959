"""``hg-localization demo`` end to end: its own upstream, a store, and a client in its own process."""

from __future__ import annotations

from pathlib import Path

import pytest

from hg_localization.demo.sample_repos import BERT_ID, BERT_TAG, revision_dir
from hg_localization.demo.walkthrough import run_demo

pytestmark = pytest.mark.slow


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_the_demo_localizes_the_model_and_the_unmodified_client_loads_it_from_the_store(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    run_demo(tmp_path, lines.append)

    said = "\n".join(lines)
    assert f"download-model {BERT_ID} --full-model" in said
    assert "a second run: already localized" in said
    assert f"compare-models main vs {BERT_TAG}: differs in hidden_dropout_prob" in said
    upstream = revision_dir(tmp_path / "upstream", BERT_ID)
    snapshots = list((tmp_path / "hf-cache").glob("models--hgloc-test--tiny-bert/snapshots/*"))
    assert len(snapshots) == 1, "the client in its own process wrote the cache the demo gave it"
    assert files_under(snapshots[0]) == files_under(upstream)
    assert f"-> {snapshots[0]}" in said
