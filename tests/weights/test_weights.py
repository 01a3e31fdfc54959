"""Weight repos against the project's own Hub: upload, download, checksums, private repos, re-runs."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hg_localization.errors import (
    AuthenticationError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    RepoNotFoundError,
    UpstreamError,
)
from hg_localization.progress import ProgressListener
from hg_localization.weights import download as weights
from hg_localization.weights import upload as weights_upload
from hg_localization.weights.checksums import ChecksumMismatchError, ChecksumsFileError, MissingFilesError

from helpers.asgi import Throttle
from helpers.servers import replace_served_file
from helpers.weights_fixtures import (
    WEIGHTS,
    WEIGHTS_ID,
    WeightsHub,
    checksums_text,
    folder_files,
    sha256,
    write_folder,
)


class Recorder(ProgressListener):
    def __init__(self) -> None:
        self.started: dict[str, int] = {}
        self.advanced: dict[str, int] = {}
        self.finished: list[str] = []

    def file_started(self, path: str, size: int) -> None:
        self.started[path] = size

    def file_advanced(self, path: str, n_bytes: int) -> None:
        self.advanced[path] = self.advanced.get(path, 0) + n_bytes

    def file_finished(self, path: str) -> None:
        self.finished.append(path)


def downloads(hub: WeightsHub) -> list[str]:
    return hub.recorder.downloads()


# --- upload, then download: the round trip ---------------------------------------------------------


def test_upload_then_download_round_trip_bit_for_bit(hub: WeightsHub, tmp_path: Path) -> None:
    source = write_folder(tmp_path / "weights_to_upload", WEIGHTS)
    config = hub.config(token=hub.write_token)
    plan = weights_upload.plan_upload(source)
    progress = Recorder()

    result = weights_upload.upload_weights(
        config, plan, repo_id=WEIGHTS_ID, commit_message="v1", progress=progress
    )

    # checksums.txt was written beside the weights, for every file, before the upload
    assert (source / "checksums.txt").read_text() == checksums_text(WEIGHTS)
    assert result.checksums_file == source / "checksums.txt"
    assert result.commit_url == f"{hub.url}/{WEIGHTS_ID}/commit/{result.commit_oid}"
    assert result.files == len(WEIGHTS) + 1
    # one commit, LFS objects PUT without a token to their signed URLs
    commits = [p for m, p in hub.requests("POST") if p.endswith("/commit/main")]
    assert len(commits) == 1
    assert [p for m, p in hub.requests("PUT")]
    # progress: hashing, then every byte of the upload counted once
    assert progress.advanced["hashing model.safetensors"] == len(WEIGHTS["model.safetensors"])
    assert progress.advanced["model.safetensors"] == len(WEIGHTS["model.safetensors"])
    assert "model.safetensors" in progress.finished

    target = tmp_path / "downloaded"
    got = weights.download_weights(hub.config(), repo_id=WEIGHTS_ID, target_dir=target)
    assert folder_files(target) == {**WEIGHTS, "checksums.txt": checksums_text(WEIGHTS).encode()}
    assert got.commit == result.commit_oid
    assert got.checksums_verified
    assert sorted(got.downloaded) == sorted([*WEIGHTS, "checksums.txt"])
    assert got.bytes_downloaded == sum(len(d) for d in WEIGHTS.values()) + len(checksums_text(WEIGHTS))
    assert not list(target.rglob("*.incomplete"))


def test_upload_skips_hidden_files_and_folders_and_names_them(hub: WeightsHub, tmp_path: Path) -> None:
    source = write_folder(
        tmp_path / "src",
        {
            "w.bin": b"w" * 10,
            ".env": b"SECRET=1",
            ".cache/x.bin": b"x",
            "sub/.hidden": b"h",
            "sub/ok.txt": b"ok",
        },
    )
    plan = weights_upload.plan_upload(source, card=False)
    assert [f.path for f in plan.files] == ["sub/ok.txt", "w.bin"]
    assert plan.skipped == (".cache/", ".env", "sub/.hidden")
    assert plan.total_bytes == 12

    weights_upload.upload_weights(hub.config(token=hub.write_token), plan, repo_id="team/h")
    assert set(folder_files(hub.revision_dir("team/h"))) == {"w.bin", "sub/ok.txt", "checksums.txt"}


def test_a_second_upload_of_the_same_folder_sends_no_bytes(hub: WeightsHub, tmp_path: Path) -> None:
    source = write_folder(tmp_path / "src", WEIGHTS)
    config = hub.config(token=hub.write_token)
    first = weights_upload.upload_weights(config, weights_upload.plan_upload(source), repo_id=WEIGHTS_ID)
    hub.recorder.clear()
    second = weights_upload.upload_weights(config, weights_upload.plan_upload(source), repo_id=WEIGHTS_ID)
    assert second.commit_oid == first.commit_oid
    assert hub.requests("PUT") == []


def test_upload_as_a_pull_request_and_as_a_private_repo(hub: WeightsHub, tmp_path: Path) -> None:
    source = write_folder(tmp_path / "src", {"a.bin": b"a" * 100})
    config = hub.config(token=hub.write_token)
    weights_upload.upload_weights(config, weights_upload.plan_upload(source), repo_id="team/p", private=True)
    with pytest.raises(AuthenticationError):
        weights.download_weights(hub.config(), repo_id="team/p", target_dir=tmp_path / "anon")

    (source / "a.bin").write_bytes(b"b" * 100)
    result = weights_upload.upload_weights(
        config, weights_upload.plan_upload(source), repo_id="team/p", create_pr=True
    )
    assert result.pull_request_url == f"{hub.url}/team/p/discussions/1"
    assert (hub.revision_dir("team/p", "refs%2Fpr%2F1") / "a.bin").read_bytes() == b"b" * 100
    assert (hub.revision_dir("team/p") / "a.bin").read_bytes() == b"a" * 100
    pr = weights.download_weights(
        hub.config(token=hub.read_token),
        repo_id="team/p",
        revision="refs/pr/1",
        target_dir=tmp_path / "pr",
    )
    assert (pr.target_dir / "a.bin").read_bytes() == b"b" * 100


def test_upload_without_a_token_sends_nothing(hub: WeightsHub, tmp_path: Path) -> None:
    source = write_folder(tmp_path / "src", WEIGHTS)
    with pytest.raises(AuthenticationError) as caught:
        weights_upload.upload_weights(hub.config(), weights_upload.plan_upload(source), repo_id=WEIGHTS_ID)
    assert caught.value.message == "HUGGING_FACE_HUB_TOKEN is required for uploads."
    assert hub.recorder.requests == []
    assert not (source / "checksums.txt").exists()


def test_upload_with_a_read_only_token_is_refused_in_upload_words(hub: WeightsHub, tmp_path: Path) -> None:
    source = write_folder(tmp_path / "src", {"a.bin": b"a"})
    with pytest.raises(AuthenticationError) as caught:
        weights_upload.upload_weights(
            hub.config(token=hub.read_token), weights_upload.plan_upload(source), repo_id="t/r"
        )
    assert "refused the upload to 't/r'" in caught.value.message
    assert "write" in (caught.value.hint or "")


def test_git_lfs_pointer_files_are_refused(tmp_path: Path) -> None:
    source = write_folder(
        tmp_path / "src",
        {"model.bin": b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 9\n"},
    )
    with pytest.raises(InvalidInputError, match="Git LFS pointer"):
        weights_upload.plan_upload(source)


def test_nothing_to_upload_and_no_folder_are_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        weights_upload.plan_upload(tmp_path / "nope")
    (tmp_path / "empty" / ".git").mkdir(parents=True)
    with pytest.raises(InvalidInputError, match="nothing to upload"):
        weights_upload.plan_upload(tmp_path / "empty")


# --- download: private repos ------------------------------------------------------------------------


def test_private_repo_without_token_is_refused_and_with_token_downloads_everything(
    hub: WeightsHub, tmp_path: Path
) -> None:
    hub.add_repo(WEIGHTS_ID, WEIGHTS, private=True)
    target = tmp_path / "w"
    with pytest.raises(AuthenticationError) as caught:
        weights.download_weights(hub.config(), repo_id=WEIGHTS_ID, target_dir=target)
    assert "private or gated" in caught.value.message
    assert "HUGGING_FACE_HUB_TOKEN" in (caught.value.hint or "")
    assert folder_files(target) == {}

    # every request carries the token: the private server would refuse checksums.txt otherwise
    got = weights.download_weights(hub.config(token=hub.read_token), repo_id=WEIGHTS_ID, target_dir=target)
    assert got.checksums_verified
    assert folder_files(target) == {**WEIGHTS, "checksums.txt": checksums_text(WEIGHTS).encode()}


def test_missing_repo_says_to_check_the_id(hub: WeightsHub, tmp_path: Path) -> None:
    with pytest.raises(RepoNotFoundError) as caught:
        weights.download_weights(hub.config(), repo_id="team/none", target_dir=tmp_path / "w")
    assert "No model repository 'team/none'" in caught.value.message
    assert "HGLOC_WEIGHTS_REPO_ID" in (caught.value.hint or "")


def test_default_repo_and_target_come_from_config(
    hub: WeightsHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.add_repo("team/default-weights", {"a.bin": b"a"})
    monkeypatch.chdir(tmp_path)
    got = weights.download_weights(hub.config(weights_repo_id="team/default-weights"))
    assert got.target_dir == Path("models/default-weights")
    assert (tmp_path / "models" / "default-weights" / "a.bin").read_bytes() == b"a"


# --- download: checksums.txt ----------------------------------------------------------------------


def test_a_tampered_file_on_the_server_fails_names_the_file_and_is_not_kept(
    hub: WeightsHub, tmp_path: Path
) -> None:
    folder = hub.add_repo(WEIGHTS_ID, WEIGHTS)
    tampered = bytearray(WEIGHTS["model.safetensors"])
    tampered[1000] ^= 0xFF
    (folder / "model.safetensors").write_bytes(bytes(tampered))  # the server's own sums now agree with it
    target = tmp_path / "w"
    with pytest.raises(IntegrityError) as caught:
        weights.download_weights(hub.config(), repo_id=WEIGHTS_ID, target_dir=target)
    error = caught.value
    assert error.path == "model.safetensors"
    assert error.expected == sha256(WEIGHTS["model.safetensors"])
    assert error.actual == sha256(bytes(tampered))
    assert f"expected sha256 {error.expected}, got {error.actual}" in error.message
    assert not (target / "model.safetensors").exists()
    assert not list(target.rglob("*.incomplete"))
    assert not (target / "checksums.txt").exists()  # nothing looks complete
    with pytest.raises(NotFoundError, match="no record of a finished download"):
        weights.check_weights(target)


def test_a_listed_file_missing_from_the_repo_fails_before_downloading(
    hub: WeightsHub, tmp_path: Path
) -> None:
    listing = checksums_text({**WEIGHTS, "extra/gone.bin": b"gone"})
    hub.add_repo(WEIGHTS_ID, WEIGHTS, checksums=listing)
    with pytest.raises(MissingFilesError) as caught:
        weights.download_weights(hub.config(), repo_id=WEIGHTS_ID, target_dir=tmp_path / "w")
    assert "'extra/gone.bin'" in caught.value.message
    assert downloads(hub) == [f"/{WEIGHTS_ID}/resolve/{_commit(hub)}/checksums.txt"]


@pytest.mark.parametrize(
    "listing",
    [b"this is not a checksums file\n", b"# nothing listed\n", b"\xff\xfe\x00garbage", b""],
    ids=["garbage", "only-comments", "not-utf8", "empty"],
)
def test_a_malformed_checksums_file_is_a_failure_never_a_skip(
    hub: WeightsHub, tmp_path: Path, listing: bytes
) -> None:
    hub.add_repo(WEIGHTS_ID, WEIGHTS, checksums=listing)
    target = tmp_path / "w"
    with pytest.raises(ChecksumsFileError) as caught:
        weights.download_weights(hub.config(), repo_id=WEIGHTS_ID, target_dir=target)
    assert f"checksums.txt of {WEIGHTS_ID} is not a valid checksums file" in caught.value.message
    assert folder_files(target) == {}


def test_without_checksums_txt_the_hub_sums_still_verify(hub: WeightsHub, tmp_path: Path) -> None:
    hub.add_repo(WEIGHTS_ID, WEIGHTS, checksums=None)
    got = weights.download_weights(hub.config(), repo_id=WEIGHTS_ID, target_dir=tmp_path / "w")
    assert not got.checksums_verified
    assert folder_files(tmp_path / "w") == WEIGHTS
    assert weights.check_weights(tmp_path / "w").source == "download record"


# --- re-runs --------------------------------------------------------------------------------------


def test_a_rerun_downloads_nothing_and_hashes_nothing_unless_verify(hub: WeightsHub, tmp_path: Path) -> None:
    hub.add_repo(WEIGHTS_ID, WEIGHTS)
    config = hub.config()
    target = tmp_path / "w"
    weights.download_weights(config, repo_id=WEIGHTS_ID, target_dir=target)
    hub.recorder.clear()

    again = weights.download_weights(config, repo_id=WEIGHTS_ID, target_dir=target)
    assert again.downloaded == ()
    assert again.rehashed == 0
    assert sorted(again.already_present) == sorted([*WEIGHTS, "checksums.txt"])
    assert downloads(hub) == []

    verified = weights.download_weights(config, repo_id=WEIGHTS_ID, target_dir=target, verify=True)
    assert verified.downloaded == ()
    assert verified.rehashed == len(WEIGHTS) + 1
    assert downloads(hub) == []


def test_a_changed_local_file_is_replaced_and_verify_catches_a_silent_change(
    hub: WeightsHub, tmp_path: Path
) -> None:
    hub.add_repo(WEIGHTS_ID, WEIGHTS)
    config = hub.config()
    target = tmp_path / "w"
    weights.download_weights(config, repo_id=WEIGHTS_ID, target_dir=target)
    local = target / "model.safetensors"

    local.write_bytes(b"\0" * len(WEIGHTS["model.safetensors"]))  # new mtime: hashed again, replaced
    got = weights.download_weights(config, repo_id=WEIGHTS_ID, target_dir=target)
    assert got.downloaded == ("model.safetensors",)
    assert local.read_bytes() == WEIGHTS["model.safetensors"]

    stat = local.stat()  # same size and mtime, other bytes: only --verify sees it
    local.write_bytes(b"\1" * stat.st_size)
    os.utime(local, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert weights.download_weights(config, repo_id=WEIGHTS_ID, target_dir=target).downloaded == ()
    fixed = weights.download_weights(config, repo_id=WEIGHTS_ID, target_dir=target, verify=True)
    assert fixed.downloaded == ("model.safetensors",)
    assert local.read_bytes() == WEIGHTS["model.safetensors"]


def test_a_rerun_after_a_failure_keeps_what_was_proven(hub: WeightsHub, tmp_path: Path) -> None:
    folder = hub.add_repo(WEIGHTS_ID, WEIGHTS)
    (folder / "config.json").write_bytes(b"{}")  # tampered: fails
    target = tmp_path / "w"
    with pytest.raises(IntegrityError):
        weights.download_weights(hub.config(), repo_id=WEIGHTS_ID, target_dir=target)
    replace_served_file(folder / "config.json", WEIGHTS["config.json"])  # repaired upstream
    hub.recorder.clear()
    got = weights.download_weights(hub.config(), repo_id=WEIGHTS_ID, target_dir=target)
    assert "config.json" in got.downloaded
    assert folder_files(target) == {**WEIGHTS, "checksums.txt": checksums_text(WEIGHTS).encode()}


# --- checking a folder offline ------------------------------------------------------------------------


def test_check_weights_complete_missing_tampered_and_absent(hub: WeightsHub, tmp_path: Path) -> None:
    hub.add_repo(WEIGHTS_ID, WEIGHTS)
    target = tmp_path / "w"
    weights.download_weights(hub.config(), repo_id=WEIGHTS_ID, target_dir=target)

    ok = weights.check_weights(target)
    assert (ok.files, ok.hashed, ok.source) == (len(WEIGHTS), 0, "checksums.txt")
    assert weights.check_weights(target, rehash=True).hashed == len(WEIGHTS)

    (target / "config.json").write_bytes(b"{}")
    with pytest.raises(ChecksumMismatchError, match=r"config\.json"):
        weights.check_weights(target)
    (target / "config.json").unlink()
    with pytest.raises(MissingFilesError, match=r"config\.json"):
        weights.check_weights(target)
    with pytest.raises(NotFoundError, match="does not exist"):
        weights.check_weights(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFoundError, match="cannot be verified"):
        weights.check_weights(tmp_path / "empty")


def test_check_weights_works_on_a_copy_without_a_record(hub: WeightsHub, tmp_path: Path) -> None:
    """A folder copied elsewhere (a read-only mount, say) is proven by hashing, from checksums.txt alone."""
    hub.add_repo(WEIGHTS_ID, WEIGHTS)
    target = tmp_path / "w"
    weights.download_weights(hub.config(), repo_id=WEIGHTS_ID, target_dir=target)
    copy = tmp_path / "copy"
    shutil.copytree(target, copy, ignore=shutil.ignore_patterns(".hg_localization*"))
    assert weights.check_weights(copy).hashed == len(WEIGHTS)


def _commit(hub: WeightsHub) -> str:
    from huggingface_hub import HfApi

    return str(HfApi(endpoint=hub.url).model_info(WEIGHTS_ID).sha)


# --- an update that fails, Ctrl-C -------------------------------------------------------------------


class CutOff:
    """ASGI wrapper: every download of ``name`` sends half of its first body chunk, then drops."""

    def __init__(self, app: Any, name: str) -> None:
        self.app = app
        self.name = name

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or "/resolve/" not in path or not path.endswith("/" + self.name):
            await self.app(scope, receive, send)
            return

        async def cut(message: dict[str, Any]) -> None:
            body = message.get("body", b"")
            if message["type"] == "http.response.body" and body:
                await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
                raise ConnectionResetError("the test cut the connection")
            await send(message)

        await self.app(scope, receive, cut)


def test_an_update_that_fails_midway_leaves_the_previous_weights_in_place(
    hub: WeightsHub, tmp_path: Path
) -> None:
    hub.add_repo(WEIGHTS_ID, WEIGHTS)
    config = hub.config()
    target = tmp_path / "w"
    weights.download_weights(config, repo_id=WEIGHTS_ID, target_dir=target)
    before = folder_files(target)
    first_commit = _commit(hub)

    updated = {**WEIGHTS, "model.safetensors": WEIGHTS["model.safetensors"][::-1]}
    hub.add_repo(WEIGHTS_ID, updated)  # the repo moved on
    assert _commit(hub) != first_commit
    served = hub.recorder.app
    hub.recorder.app = CutOff(served, "model.safetensors")  # and the network fails mid-download
    with pytest.raises(UpstreamError):
        weights.download_weights(config, repo_id=WEIGHTS_ID, target_dir=target)
    assert folder_files(target) == before  # nothing was taken away: the old weights still work
    assert not list(target.rglob("*.incomplete"))
    assert weights.check_weights(target).files == len(WEIGHTS)

    hub.recorder.app = served
    got = weights.download_weights(config, repo_id=WEIGHTS_ID, target_dir=target)
    assert got.downloaded == ("checksums.txt", "model.safetensors")
    assert folder_files(target) == {**updated, "checksums.txt": checksums_text(updated).encode()}


class CtrlC(ProgressListener):
    """Presses Ctrl-C (SIGINT to the main thread) as soon as the first bytes of a file arrive."""

    def __init__(self) -> None:
        self.pressed = False
        self._main = threading.main_thread().ident
        self._lock = threading.Lock()

    def file_advanced(self, path: str, n_bytes: int) -> None:
        with self._lock:
            if self.pressed or path == "checksums.txt":
                return
            self.pressed = True
        assert self._main is not None
        signal.pthread_kill(self._main, signal.SIGINT)


def test_ctrl_c_stops_a_download_at_once(hub: WeightsHub, tmp_path: Path) -> None:
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is handled by something else here")
    files = {f"part-{n}.bin": bytes([n]) * 1_000_000 for n in range(8)}
    hub.add_repo(WEIGHTS_ID, files)
    hub.recorder.app = Throttle(hub.recorder.app, delay=0.02)  # ~0.3 s per file
    target = tmp_path / "w"
    ctrl_c = CtrlC()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        weights.download_weights(
            hub.config(max_workers=2), repo_id=WEIGHTS_ID, target_dir=target, progress=ctrl_c
        )
    assert ctrl_c.pressed
    assert time.monotonic() - started < 5
    fetched = [p for p in downloads(hub) if not p.endswith("/checksums.txt")]
    assert len(fetched) <= 2  # the two being fetched; none of the queued ones was started
    assert not list(target.rglob("*.incomplete"))
    assert len(folder_files(target)) <= 2


# --- releases: upload with a tag, download a tag --------------------------------------------------

V2_WEIGHTS = {**WEIGHTS, "model.safetensors": WEIGHTS["model.safetensors"][::-1]}


def test_upload_with_a_tag_twice_then_download_both_releases_bit_for_bit(
    hub: WeightsHub, tmp_path: Path
) -> None:
    config = hub.config(token=hub.write_token)
    source = write_folder(tmp_path / "src", WEIGHTS)
    first = weights_upload.upload_weights(
        config, weights_upload.plan_upload(source), repo_id=WEIGHTS_ID, tag="v1.0", tag_message="first"
    )
    write_folder(source, V2_WEIGHTS)
    second = weights_upload.upload_weights(
        config, weights_upload.plan_upload(source), repo_id=WEIGHTS_ID, tag="v2.0"
    )
    assert (first.tag, second.tag) == ("v1.0", "v2.0")
    assert first.commit_oid != second.commit_oid
    assert [p for _, p in hub.requests("POST") if "/tag/" in p] == [
        f"/api/models/{WEIGHTS_ID}/tag/{first.commit_oid}",
        f"/api/models/{WEIGHTS_ID}/tag/{second.commit_oid}",
    ]

    reader = hub.config(token=hub.read_token)
    for tag, files, commit in (("v1.0", WEIGHTS, first.commit_oid), ("v2.0", V2_WEIGHTS, second.commit_oid)):
        target = tmp_path / tag
        got = weights.download_weights(reader, repo_id=WEIGHTS_ID, revision=tag, target_dir=target)
        assert (got.revision, got.commit) == (tag, commit)
        assert folder_files(target) == {**files, "checksums.txt": checksums_text(files).encode()}
        check = weights.check_weights(target)
        assert (check.repo_id, check.revision, check.commit) == (WEIGHTS_ID, tag, commit)


def test_a_newer_tag_into_the_same_folder_moves_only_the_files_that_changed(
    hub: WeightsHub, tmp_path: Path
) -> None:
    config = hub.config(token=hub.write_token)
    source = write_folder(tmp_path / "src", WEIGHTS)
    weights_upload.upload_weights(config, weights_upload.plan_upload(source), repo_id=WEIGHTS_ID, tag="v1.0")
    write_folder(source, V2_WEIGHTS)
    weights_upload.upload_weights(config, weights_upload.plan_upload(source), repo_id=WEIGHTS_ID, tag="v2.0")
    target = tmp_path / "w"
    weights.download_weights(hub.config(), repo_id=WEIGHTS_ID, revision="v1.0", target_dir=target)
    hub.recorder.clear()

    newer = weights.download_weights(hub.config(), repo_id=WEIGHTS_ID, revision="v2.0", target_dir=target)
    assert newer.downloaded == ("checksums.txt", "model.safetensors")
    assert sorted(p.rsplit("/", 1)[-1] for p in downloads(hub)) == ["checksums.txt", "model.safetensors"]
    assert folder_files(target) == {**V2_WEIGHTS, "checksums.txt": checksums_text(V2_WEIGHTS).encode()}
    assert weights.check_weights(target).revision == "v2.0"


def test_an_existing_tag_is_refused_before_anything_is_hashed_or_sent(
    hub: WeightsHub, tmp_path: Path
) -> None:
    config = hub.config(token=hub.write_token)
    source = write_folder(tmp_path / "src", WEIGHTS)
    weights_upload.upload_weights(config, weights_upload.plan_upload(source), repo_id=WEIGHTS_ID, tag="v1.0")
    write_folder(source, V2_WEIGHTS)
    (source / "checksums.txt").unlink()
    hub.recorder.clear()
    with pytest.raises(InvalidInputError, match=r"already has a tag 'v1\.0'") as caught:
        weights_upload.upload_weights(
            config, weights_upload.plan_upload(source), repo_id=WEIGHTS_ID, tag="v1.0"
        )
    assert "nothing was uploaded" in caught.value.message
    assert hub.requests("POST") == [] and hub.requests("PUT") == []
    assert not (source / "checksums.txt").exists()
    assert (
        folder_files(hub.revision_dir(WEIGHTS_ID, "v1.0"))["model.safetensors"]
        == WEIGHTS["model.safetensors"]
    )


@pytest.mark.parametrize("tag", ["../v1", "refs/tags/v1", "v1..2", "v 1", "a" * 40, "main.lock"])
def test_a_hostile_tag_name_is_refused_before_anything_is_sent(
    hub: WeightsHub, tmp_path: Path, tag: str
) -> None:
    source = write_folder(tmp_path / "src", WEIGHTS)
    with pytest.raises(InvalidInputError, match="tag name"):
        weights_upload.upload_weights(
            hub.config(token=hub.write_token), weights_upload.plan_upload(source), repo_id=WEIGHTS_ID, tag=tag
        )
    assert hub.recorder.requests == []


def test_a_tag_and_a_pull_request_do_not_go_together(hub: WeightsHub, tmp_path: Path) -> None:
    source = write_folder(tmp_path / "src", WEIGHTS)
    with pytest.raises(InvalidInputError, match="--tag and --create-pr"):
        weights_upload.upload_weights(
            hub.config(token=hub.write_token),
            weights_upload.plan_upload(source),
            repo_id=WEIGHTS_ID,
            tag="v1.0",
            create_pr=True,
        )
    assert hub.recorder.requests == []


# --- the model card --------------------------------------------------------------------------------


def test_a_folder_without_readme_gets_a_minimal_model_card(hub: WeightsHub, tmp_path: Path) -> None:
    files = {k: v for k, v in WEIGHTS.items() if k != "README.md"}
    source = write_folder(tmp_path / "src", files)
    plan = weights_upload.plan_upload(source)
    assert plan.adds_card
    result = weights_upload.upload_weights(
        hub.config(token=hub.write_token), plan, repo_id=WEIGHTS_ID, tag="v1.0"
    )
    assert result.card_added
    card = (hub.revision_dir(WEIGHTS_ID) / "README.md").read_text()
    assert card.startswith("---\nlicense: other  # a placeholder")
    assert "# song-weights" in card
    for path, data in files.items():
        assert f"| `{path}` | " in card
        assert sha256(data) in card
    assert "| `model.safetensors` | 300.0 KB (300,000 bytes) |" in card
    assert f"hg-localization download-weights --repo-id {WEIGHTS_ID} --revision v1.0" in card
    assert f"hf download {WEIGHTS_ID} --local-dir song-weights --revision v1.0" in card
    assert f"HF_ENDPOINT={hub.url} hf download" in card
    assert not (source / "README.md").exists()  # sent from memory, never written into the folder
    assert "README.md" not in (source / "checksums.txt").read_text()

    from huggingface_hub import HfApi

    assert HfApi(endpoint=hub.url).model_info(WEIGHTS_ID).card_data["license"] == "other"


def test_no_card_when_the_folder_has_a_readme_or_when_told_not_to(hub: WeightsHub, tmp_path: Path) -> None:
    assert not weights_upload.plan_upload(write_folder(tmp_path / "with", WEIGHTS)).adds_card
    source = write_folder(tmp_path / "src", {"w.bin": b"w" * 10})
    plan = weights_upload.plan_upload(source, card=False)
    assert not plan.adds_card
    result = weights_upload.upload_weights(hub.config(token=hub.write_token), plan, repo_id="team/nocard")
    assert not result.card_added
    assert set(folder_files(hub.revision_dir("team/nocard"))) == {"w.bin", "checksums.txt"}


# --- one repo per folder; hints that work when pasted ------------------------------------------------


def test_a_folder_holds_one_repo_and_the_repair_hint_names_it(hub: WeightsHub, tmp_path: Path) -> None:
    hub.add_repo(WEIGHTS_ID, WEIGHTS)
    hub.add_repo("team/other", {"other.bin": b"o" * 100})
    target = tmp_path / "dl dir"
    weights.download_weights(hub.config(), repo_id=WEIGHTS_ID, target_dir=target)
    listing = (target / "checksums.txt").read_bytes()
    (target / "model.safetensors").write_bytes(b"corrupt")

    with pytest.raises(ChecksumMismatchError) as caught:
        weights.check_weights(target)
    assert f"hg-localization download-weights --repo-id {WEIGHTS_ID} --target-dir '{target}'" in str(
        caught.value.hint
    )
    hub.recorder.clear()
    with pytest.raises(InvalidInputError) as mixed:  # the old hint's default repo, pasted
        weights.download_weights(hub.config(weights_repo_id="team/other"), target_dir=target)
    assert f"holds the weights of {WEIGHTS_ID}" in mixed.value.message
    assert "download-weights --repo-id team/other --target-dir models/team/other" in str(mixed.value.hint)
    assert hub.recorder.requests == []
    assert (target / "checksums.txt").read_bytes() == listing
    with pytest.raises(InvalidInputError, match="not of 'team/other'"):
        weights.check_weights(target, repo_id="team/other")

    weights.download_weights(hub.config(), repo_id=WEIGHTS_ID, target_dir=target)
    assert weights.check_weights(target, repo_id=WEIGHTS_ID).files == len(WEIGHTS)
