"""The catalog API fuzzed from its own OpenAPI description (schemathesis): every answer, to any
input the description allows or forbids, is one the description states. No 500s.

The app is built when the module is imported (schemathesis reads the description then), over a
few small repos of the test's own in a temporary folder, removed when the test process ends.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from catalog.support import TOKENS, card, write_repo
from hg_localization.catalog import catalog_app, default_catalog
from hg_localization.server.folder_source import FolderSource

_FOLDER = tempfile.TemporaryDirectory(prefix="hgloc-catalog-fuzz-")
_ROOT = Path(_FOLDER.name)
_CONFIG = b'{"model_type": "bert", "hidden_size": 8, "nested": {"a": [1, 2]}}'
write_repo(_ROOT, "org/model", {"README.md": card("tags: [t]", "# Model"), "config.json": _CONFIG})
write_repo(_ROOT, "org/model", {"config.json": b'{"model_type": "bert"}'}, revision="v1.0")
write_repo(_ROOT, "org/secret", {"config.json": _CONFIG}, settings={"private": True})
write_repo(_ROOT, "legacy", {"config.json": b"[1, 2]", "README.md": b"# no front matter"})
write_repo(_ROOT, "org/data", {"data/train.csv": b"a,b\n1,2\n"}, repo_type="dataset")

_MANIFEST = _ROOT / "hg-localization.yaml"
_MANIFEST.write_text("collections:\n  core:\n    models:\n      - id: org/model\n      - id: org/absent\n")
_SOURCE = FolderSource.for_repos_dir(_ROOT)

schema = schemathesis.openapi.from_asgi(
    "/api/catalog/openapi.json",
    catalog_app(_SOURCE, tokens=TOKENS, catalog=default_catalog(_SOURCE, collections=_MANIFEST)),
)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_is_as_described(case: schemathesis.Case) -> None:
    case.call_and_validate()
