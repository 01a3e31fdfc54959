"""Offline bundles: export, import with no network, serve; tampered bundles refused whole; incremental ones.

The far site is another store with the Hub unreachable (``HGLOC_HF_ENDPOINT`` where nothing
listens). What it imports is served by the project's server and read with ``snapshot_download``.
"""

from __future__ import annotations

import io
import shutil
import sys
import tarfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import snapshot_download

from hg_localization.collections.bundle.export import export_bundle
from hg_localization.collections.bundle.importing import import_bundle
from hg_localization.collections.manifest import load_manifest
from hg_localization.config import HGLocalizationConfig
from hg_localization.ids import parse_repo_id
from hg_localization.integrity.hashing import hash_file
from hg_localization.server.app import create_app
from hg_localization.server.store_source import StoreSource
from hg_localization.store.manifest import FileRecord, RevisionManifest, Selection
from hg_localization.usecases.models import model_store

from helpers.cli import run
from helpers.collection_fixtures import MovingHub, commit_of, store_config, write_manifest
from helpers.servers import DEAD_ENDPOINT, run_server
from helpers.stored import ONE_FILE_MODEL

pytestmark = pytest.mark.slow

BERT = "hgloc-test/tiny-bert"
DATASET = "hgloc-test/tiny-dataset"
Members = list[tuple[tarfile.TarInfo, bytes]]


def use_store(monkeypatch: pytest.MonkeyPatch, root: Path, hub_url: str = DEAD_ENDPOINT) -> None:
    monkeypatch.setenv("HGLOC_MODELS_STORE_PATH", str(root / "models"))
    monkeypatch.setenv("HGLOC_DATASETS_STORE_PATH", str(root / "datasets"))
    monkeypatch.setenv("HGLOC_HF_ENDPOINT", hub_url)


def stored_anything(root: Path) -> list[str]:
    """Every file under a store root but its lock files: empty when nothing was imported."""
    if not root.exists():
        return []
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".locks" not in p.parts
    )


def file_members(bundle: Path) -> list[str]:
    with tarfile.open(bundle) as tar:
        return [m.name for m in tar.getmembers() if m.name.startswith("files/")]


def rewrite(bundle: Path, target: Path, change: Callable[[Members], Members]) -> Path:
    """A copy of ``bundle`` whose members went through ``change`` (a tampered bundle)."""
    with tarfile.open(bundle) as tar:
        members = [(m, tar.extractfile(m).read() if m.isreg() else b"") for m in tar.getmembers()]
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as out:
        for info, data in change(members):
            out.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return target


def member(name: str, data: bytes = b"x", kind: bytes = tarfile.REGTYPE) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.type = (len(data) if kind == tarfile.REGTYPE else 0), kind
    if kind == tarfile.SYMTYPE:
        info.linkname = "/etc/passwd"
    return info, data


@pytest.fixture
def exported(cli_env: Path, hub_server: Any, tmp_path: Path, capsys: Any) -> Path:
    """A full model and one config of a dataset, localized, locked and exported at the source."""
    write_manifest(
        cli_env,
        f"""\
        collections:
          core:
            models: [{{id: {BERT}, full: true}}]
            datasets: [{{id: {DATASET}, name: numbers}}]
        """,
    )
    assert run(capsys, "lock")[0] == 0
    bundle = tmp_path / "core.tar"
    code, out, err = run(capsys, "bundle", "export", "--output", str(bundle))
    assert code == 0, err
    assert out.strip().splitlines()[-1] == str(bundle) and "2 revisions" in err
    return bundle


def test_a_bundle_imported_with_no_network_is_served_and_loads_with_snapshot_download(
    exported: Path, hub_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    far = tmp_path / "far"
    use_store(monkeypatch, far)
    code, out, err = run(capsys, "bundle", "import", str(exported))
    assert code == 0, err
    assert "Imported 2 revisions, every file verified" in err
    assert str(far / "models" / "hgloc-test" / "tiny-bert" / "main") in out

    samples = hub_server.samples
    source = StoreSource.for_store(far / "models", far / "datasets")
    with run_server(create_app(source)) as url:
        model = Path(snapshot_download(BERT, endpoint=url, cache_dir=str(tmp_path / "cache")))
        dataset = Path(
            snapshot_download(DATASET, repo_type="dataset", endpoint=url, cache_dir=str(tmp_path / "cache"))
        )
    for path, content in samples.files(BERT).items():
        assert (model / path).read_bytes() == content, path
    upstream = samples.files(DATASET, repo_type="dataset")
    got = {p.relative_to(dataset).as_posix() for p in dataset.rglob("*") if p.is_file()}
    assert got == {p for p in upstream if not p.startswith("sentences/")}
    assert (dataset / "numbers" / "train-00000-of-00001.parquet").read_bytes() == upstream[
        "numbers/train-00000-of-00001.parquet"
    ]
    with run_server(create_app(source)) as url:  # the commit is upstream's, as the lock says
        assert commit_of(url, BERT) == commit_of(hub_server.url, BERT)


def _flip_a_byte(bundle: Path, target: Path) -> Path:
    shutil.copy(bundle, target)
    with tarfile.open(target) as tar:
        weights = next(m for m in tar.getmembers() if m.name.endswith("model.safetensors"))
    with target.open("r+b") as handle:
        handle.seek(weights.offset_data + 1000)
        byte = handle.read(1)
        handle.seek(weights.offset_data + 1000)
        handle.write(bytes([byte[0] ^ 0x01]))
    return target


def _truncate(bundle: Path, target: Path) -> Path:
    data = bundle.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


def _escaping(name: str) -> Callable[[Path, Path], Path]:
    return lambda bundle, target: rewrite(bundle, target, lambda members: [*members, member(name)])


def _renamed_to_escape(bundle: Path, target: Path) -> Path:
    def change(members: Members) -> Members:
        for info, _ in members:
            if info.name.endswith("config.json"):
                info.name = info.name.replace("tiny-bert/main/", "tiny-bert/main/../../../../../")
        return members

    return rewrite(bundle, target, change)


@pytest.mark.parametrize(
    ("tamper", "exit_code", "words"),
    [
        (_flip_a_byte, 5, "Checksum mismatch"),
        (_truncate, 2, "truncated"),
        (_escaping("../escape.txt"), 2, "would leave the store"),
        (_escaping("/tmp/escape.txt"), 2, "would leave the store"),
        (_renamed_to_escape, 2, "would leave the store"),
        (_escaping("files/models/hgloc-test/tiny-bert/main/run_me.py"), 2, "not listed in its bundle.json"),
        (
            lambda b, t: rewrite(b, t, lambda ms: [*ms, member("files/x", kind=tarfile.SYMTYPE)]),
            2,
            "not listed",
        ),
        (lambda b, t: rewrite(b, t, lambda ms: ms[:-1]), 2, "lacks 1 of the files"),
    ],
    ids=["flipped-byte", "truncated", "dotdot", "absolute", "renamed-dotdot", "extra", "symlink", "missing"],
)
def test_a_damaged_or_hostile_bundle_is_refused_and_nothing_is_imported(
    exported: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
    tamper: Callable[[Path, Path], Path],
    exit_code: int,
    words: str,
) -> None:
    bad = tamper(exported, tmp_path / "bad.tar")
    far = tmp_path / "far"
    use_store(monkeypatch, far)
    code, _, err = run(capsys, "bundle", "import", str(bad))
    assert code == exit_code, err
    assert words in err and "Nothing was imported" in err
    assert stored_anything(far) == []
    assert not (tmp_path / "escape.txt").exists() and not Path("/tmp/escape.txt").exists()


def test_an_incremental_bundle_carries_only_the_changed_file(
    cli_env: Path, moving_hub: MovingHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    source = tmp_path / "store"
    use_store(monkeypatch, source, moving_hub.url)
    write_manifest(cli_env, f"collections:\n  core:\n    models: [{{id: {BERT}, full: true}}]\n")
    assert run(capsys, "lock")[0] == 0
    shutil.copy(cli_env / "hg-localization.lock", tmp_path / "old.lock")
    assert run(capsys, "bundle", "export", "-o", str(tmp_path / "full.tar"))[0] == 0
    assert len(file_members(tmp_path / "full.tar")) == len(moving_hub.samples.files(BERT))

    moving_hub.change(BERT, "extra/nested/notes.txt", b"Notes, revised.\n")
    assert run(capsys, "lock")[0] == 0
    code, _, err = run(
        capsys, "bundle", "export", "--since", str(tmp_path / "old.lock"), "-o", str(tmp_path / "inc.tar")
    )
    assert code == 0, err
    assert file_members(tmp_path / "inc.tar") == [
        "files/models/hgloc-test/tiny-bert/main/extra/nested/notes.txt"
    ]
    assert "8 files left out" in err

    far = tmp_path / "far"
    use_store(monkeypatch, far)
    assert run(capsys, "bundle", "import", str(tmp_path / "full.tar"))[0] == 0
    code, out, err = run(capsys, "bundle", "import", str(tmp_path / "inc.tar"))
    assert code == 0, err
    assert "1 from the bundle, 8 from the store" in out
    main = far / "models" / "hgloc-test" / "tiny-bert" / "main"
    for path, content in moving_hub.samples.files(BERT).items():
        assert (main / ("model_card.md" if path == "README.md" else path)).read_bytes() == content

    empty = tmp_path / "empty"
    use_store(monkeypatch, empty)
    code, _, err = run(capsys, "bundle", "import", str(tmp_path / "inc.tar"))
    assert code == 4
    assert "is incremental" in err and "Import the bundle it builds on first" in err
    assert stored_anything(empty) == []


def test_a_signed_bundle_is_verified_and_a_wrong_key_or_no_signature_refused(
    exported: Path, cli_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    assert run(capsys, "bundle", "keygen", str(tmp_path / "site.pem"))[0] == 0
    assert run(capsys, "bundle", "keygen", str(tmp_path / "other.pem"))[0] == 0
    signed = tmp_path / "signed.tar"
    code, _, err = run(
        capsys, "bundle", "export", "-o", str(signed), "--sign-key", str(tmp_path / "site.pem")
    )
    assert code == 0 and "signed" in err

    far = tmp_path / "far"
    use_store(monkeypatch, far)
    code, _, err = run(
        capsys, "bundle", "import", str(signed), "--verify-key", str(tmp_path / "other.pem.pub")
    )
    assert code == 3 and "is not signed by the key" in err
    code, _, err = run(
        capsys, "bundle", "import", str(exported), "--verify-key", str(tmp_path / "site.pem.pub")
    )
    assert code == 3 and "is not signed" in err
    assert stored_anything(far) == []

    code, _, err = run(
        capsys, "bundle", "import", str(signed), "--verify-key", str(tmp_path / "site.pem.pub")
    )
    assert code == 0 and "signature verified" in err


def test_export_refuses_an_entry_that_is_not_localized(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_manifest(cli_env, f"collections:\n  core:\n    models: [{{id: {BERT}}}]\n")
    code, _, err = run(capsys, "bundle", "export", "-o", str(tmp_path / "b.tar"))
    assert code == 4
    assert "is not in the local store" in err and "hg-localization sync" in err
    assert not (tmp_path / "b.tar").exists()


def _publish_big_model(config: HGLocalizationConfig, size: int) -> str:
    """``hgloc-test/big-model`` at main with one file of ``size`` bytes, written in chunks into the store."""
    store = model_store(config)
    repo_id = parse_repo_id(ONE_FILE_MODEL)
    staging = store.open_staging(repo_id, "main")
    staging.path.mkdir(parents=True)
    target = staging.final_path("model.safetensors")
    chunk = bytes(range(256)) * 4096
    with target.open("wb") as handle:
        for _ in range(size // len(chunk)):
            handle.write(chunk)
    digest = hash_file(target)
    record = FileRecord(
        path="model.safetensors",
        local_path="model.safetensors",
        size=digest.size,
        sha256=digest.sha256,
        git_sha1=digest.git_sha1,
        lfs=True,
    )
    manifest = RevisionManifest(
        repo_id=ONE_FILE_MODEL,
        repo_type="model",
        revision="main",
        commit="b" * 40,
        selections=[Selection(full=True)],
        files=[record],
    )
    store.publish(staging, manifest)
    return digest.sha256


def test_bundles_stream_a_file_much_larger_than_the_memory_they_use(tmp_path: Path) -> None:
    size = 64 * 1024 * 1024
    source = store_config(tmp_path / "source", DEAD_ENDPOINT)
    sha256 = _publish_big_model(source, size)
    manifest = load_manifest(
        write_manifest(tmp_path, f"collections:\n  c:\n    models: [{{id: {ONE_FILE_MODEL}, full: true}}]\n")
    )
    far = store_config(tmp_path / "far", DEAD_ENDPOINT)

    tracemalloc.start()
    try:
        export_bundle(source, manifest, tmp_path / "big.tar")
        exported_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        report = import_bundle(far, tmp_path / "big.tar")
        imported_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert max(exported_peak, imported_peak) < size // 8
    stored = report.revisions[0].stored
    assert hash_file(stored.file_path("model.safetensors")).sha256 == sha256


def test_signing_without_cryptography_says_which_extra_to_install(
    cli_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "cryptography", None)  # as if it were not installed
    code, _, err = run(capsys, "bundle", "keygen", str(tmp_path / "site.pem"))
    assert code == 2
    assert "needs the 'cryptography' package" in err and "pip install 'hg-localization[bundles]'" in err
    assert not (tmp_path / "site.pem").exists()
