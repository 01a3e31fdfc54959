"""download-weights, verify-weights, upload-weights and the scripts, as a person (or CI) runs them."""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from hg_localization.cli import weights as weights_cli

from helpers.cli import run
from helpers.weights_fixtures import (
    WEIGHTS,
    WEIGHTS_ID,
    WeightsHub,
    checksums_text,
    folder_files,
    sha256,
    write_folder,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def hub(hub: WeightsHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WeightsHub:
    """The test Hub as HF_ENDPOINT, and the working directory in a temp folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    return hub


def one_line(text: str) -> str:
    return " ".join(text.split())


# --- download-weights ------------------------------------------------------------------------------


def test_download_into_the_default_folder_then_a_rerun_has_nothing_to_do(
    hub: WeightsHub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.add_repo(WEIGHTS_ID, WEIGHTS)
    monkeypatch.setenv("HGLOC_WEIGHTS_REPO_ID", WEIGHTS_ID)
    code, out, err = run(capsys, "download-weights")
    assert code == 0, err
    assert out.strip() == "models/song-weights"
    assert "Downloaded 5 files of team/song-weights" in one_line(err)
    assert "Every file matches the repo's checksums.txt." in err
    assert folder_files(Path("models/song-weights")) == {
        **WEIGHTS,
        "checksums.txt": checksums_text(WEIGHTS).encode(),
    }

    code, out, err = run(capsys, "download-weights", "--verify")
    assert code == 0
    assert "nothing to download" in err

    code, out, err = run(capsys, "verify-weights")
    assert code == 0
    assert "are complete: 4 files match the checksums.txt" in one_line(err)


def test_private_repo_token_from_hugging_face_hub_token(
    hub: WeightsHub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.add_repo(WEIGHTS_ID, WEIGHTS, private=True)
    code, _, err = run(capsys, "download-weights", "--repo-id", WEIGHTS_ID, "--target-dir", "w")
    assert code == 3
    assert "the repository is private or gated" in one_line(err)
    assert "HUGGING_FACE_HUB_TOKEN" in err

    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", hub.read_token)
    code, out, err = run(capsys, "download-weights", "--repo-id", WEIGHTS_ID, "--target-dir", "w")
    assert code == 0, err
    assert hub.read_token not in out + err


def test_no_token_flag_exists(hub: WeightsHub, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "download-weights", "--token", "secret")
    assert code == 2
    assert "No such option" in err


def test_errors_read_like_the_troubleshooting_table(
    hub: WeightsHub, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "download-weights", "--repo-id", "team/none", "--target-dir", "w")
    assert code == 4
    assert "No model repository 'team/none' was found." in one_line(err)

    folder = hub.add_repo(WEIGHTS_ID, WEIGHTS)
    tampered = b'{"tampered": true}\n'
    (folder / "config.json").write_bytes(tampered)
    code, _, err = run(capsys, "download-weights", "--repo-id", WEIGHTS_ID, "--target-dir", "w")
    assert code == 5
    text = one_line(err)
    assert "Checksum mismatch for 'config.json'" in text
    assert f"expected sha256 {sha256(WEIGHTS['config.json'])}, got {sha256(tampered)}" in text
    assert "The file was not kept" in text
    assert not Path("w/config.json").exists()


def test_a_malformed_checksums_file_exits_non_zero(
    hub: WeightsHub, capsys: pytest.CaptureFixture[str]
) -> None:
    hub.add_repo(WEIGHTS_ID, WEIGHTS, checksums="garbage\n")
    code, _, err = run(capsys, "download-weights", "--repo-id", WEIGHTS_ID, "--target-dir", "w")
    assert code == 5
    assert "is not a valid checksums file: line 1" in one_line(err)


def test_verify_weights_fails_on_an_incomplete_folder(
    hub: WeightsHub, capsys: pytest.CaptureFixture[str]
) -> None:
    hub.add_repo(WEIGHTS_ID, WEIGHTS)
    assert run(capsys, "download-weights", "--repo-id", WEIGHTS_ID, "--target-dir", "w")[0] == 0
    Path("w/model.safetensors").unlink()
    code, _, err = run(capsys, "verify-weights", "--target-dir", "w")
    assert code == 5
    assert "'model.safetensors'" in err
    code, _, err = run(capsys, "verify-weights", "--target-dir", "nowhere")
    assert code == 4
    assert "the folder does not exist" in err


# --- upload-weights ----------------------------------------------------------------------------------


def test_upload_lists_files_sizes_total_and_skipped_then_prints_the_commit_url(
    hub: WeightsHub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_folder(Path("weights_to_upload"), {**WEIGHTS, ".secret": b"s", ".git/config": b"g"})
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", hub.write_token)
    code, out, err = run(capsys, "upload-weights", "--repo-id", WEIGHTS_ID, "--yes", "-m", "release 1")
    assert code == 0, err
    commit_url = out.strip()
    assert commit_url.startswith(f"{hub.url}/{WEIGHTS_ID}/commit/")
    assert "300.0 KB  model.safetensors" in err
    assert "checksums.txt (written for every file above)" in err
    assert "Total: 4 files, 420.1 KB." in err
    assert "Skipped (hidden): .git/" in err
    assert "Skipped (hidden): .secret" in err
    assert "in one commit" in err
    assert hub.write_token not in out + err
    assert folder_files(hub.revision_dir(WEIGHTS_ID)) == {
        **WEIGHTS,
        "checksums.txt": checksums_text(WEIGHTS).encode(),
    }


def test_upload_without_a_token_says_so_and_sends_nothing(
    hub: WeightsHub, capsys: pytest.CaptureFixture[str]
) -> None:
    write_folder(Path("weights_to_upload"), WEIGHTS)
    code, out, err = run(capsys, "upload-weights", "--repo-id", WEIGHTS_ID, "--yes")
    assert code == 3
    assert "HUGGING_FACE_HUB_TOKEN is required for uploads" in err
    assert out == ""
    assert hub.recorder.requests == []
    assert not Path("weights_to_upload/checksums.txt").exists()


def test_a_declined_confirmation_at_a_terminal_sends_nothing_and_a_yes_uploads(
    hub: WeightsHub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_folder(Path("weights_to_upload"), {"a.bin": b"a" * 10})
    monkeypatch.setenv("HF_TOKEN", hub.write_token)
    monkeypatch.setattr(weights_cli, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    code, _, err = run(capsys, "upload-weights", "--repo-id", "team/asked")
    assert code == 2
    assert "Upload 1 file (10 B) to team/asked?" in err
    assert "Upload cancelled: nothing was sent." in err
    assert hub.recorder.requests == []

    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    code, out, err = run(capsys, "upload-weights", "--repo-id", "team/asked")
    assert code == 0, err
    assert "/team/asked/commit/" in out


# --- real processes: no terminal, the scripts, Xet left on ---------------------------------------------


def cli_process(args: list[str], hub: WeightsHub, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    child_env = {**os.environ, "HF_ENDPOINT": hub.url, **env}
    return subprocess.run(
        args, cwd=cwd, env=child_env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180
    )


def test_without_a_terminal_and_without_yes_the_upload_is_refused(hub: WeightsHub, tmp_path: Path) -> None:
    write_folder(tmp_path / "weights_to_upload", WEIGHTS)
    done = cli_process(
        [sys.executable, "-m", "hg_localization.cli", "upload-weights", "--repo-id", WEIGHTS_ID],
        hub,
        tmp_path,
        HUGGING_FACE_HUB_TOKEN=hub.write_token,
    )
    assert done.returncode == 2
    assert "there is no terminal to ask on" in one_line(done.stderr)
    assert "--yes" in done.stderr
    assert hub.recorder.requests == []


def test_the_scripts_take_the_same_flags_and_upload_works_with_xet_left_on(
    hub: WeightsHub, tmp_path: Path
) -> None:
    """No HF_HUB_DISABLE_XET: the use case hands file objects to the client, which then speaks plain LFS."""
    source = write_folder(tmp_path / "to-send", WEIGHTS)
    done = cli_process(
        [
            sys.executable,
            str(ROOT / "scripts" / "upload_weights.py"),
            "--source-dir",
            str(source),
            "--repo-id",
            WEIGHTS_ID,
            "--private",
            "--yes",
            "--commit-message",
            "from the script",
        ],
        hub,
        tmp_path,
        HUGGING_FACE_HUB_TOKEN=hub.write_token,
        HF_HUB_DISABLE_XET="0",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(f"{hub.url}/{WEIGHTS_ID}/commit/")
    assert "Xet" not in done.stderr

    done = cli_process(
        [
            sys.executable,
            str(ROOT / "scripts" / "download_weights.py"),
            "--repo-id",
            WEIGHTS_ID,
            "--target-dir",
            "back",
            "--revision",
            "main",
            "--verify",
        ],
        hub,
        tmp_path,
        HF_TOKEN=hub.read_token,
    )
    assert done.returncode == 0, done.stderr
    assert folder_files(tmp_path / "back") == {**WEIGHTS, "checksums.txt": checksums_text(WEIGHTS).encode()}


# --- releases, model cards, one repo per folder ----------------------------------------------------------


def test_upload_with_tags_shows_the_card_then_names_tag_and_commit_and_both_releases_download(
    hub: WeightsHub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {k: v for k, v in WEIGHTS.items() if k != "README.md"}
    write_folder(Path("weights_to_upload"), files)
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", hub.write_token)
    code, out, err = run(
        capsys, "upload-weights", "--repo-id", WEIGHTS_ID, "--yes", "--tag", "v1.0", "--tag-message", "first"
    )
    assert code == 0, err
    v1_url = out.strip()
    v1 = v1_url.rsplit("/", 1)[-1]
    assert "README.md (a model card: the folder has none; --no-card skips it)" in err
    assert "The model card (README.md) that will be added:" in err
    assert "  | license: other  # a placeholder" in err
    assert "(computed when uploading)" in err
    assert "The new commit will be tagged v1.0." in err
    assert f"in one commit, {v1}, tagged v1.0." in one_line(err)

    v2_files = {**files, "model.safetensors": files["model.safetensors"][::-1]}
    write_folder(Path("weights_to_upload"), v2_files)
    code, out, err = run(capsys, "upload-weights", "--repo-id", WEIGHTS_ID, "--yes", "--tag", "v2.0")
    assert code == 0, err
    v2 = out.strip().rsplit("/", 1)[-1]
    assert f"in one commit, {v2}, tagged v2.0." in one_line(err)

    code, _, err = run(capsys, "upload-weights", "--repo-id", WEIGHTS_ID, "--yes", "--tag", "v1.0")
    assert code == 2
    assert "already has a tag 'v1.0'" in one_line(err)

    for tag, wanted, commit in (("v1.0", files, v1), ("v2.0", v2_files, v2)):
        code, out, err = run(
            capsys, "download-weights", "--repo-id", WEIGHTS_ID, "-r", tag, "--target-dir", tag
        )
        assert code == 0, err
        assert f"{WEIGHTS_ID} ({tag} @ {commit[:12]})" in one_line(err)
        got = folder_files(Path(tag))
        assert got.pop("README.md").startswith(b"---\nlicense: other")
        assert got == {**wanted, "checksums.txt": checksums_text(wanted).encode()}
        code, _, err = run(capsys, "verify-weights", "--target-dir", tag)
        assert code == 0, err
        assert f"({WEIGHTS_ID} {tag} @ {commit[:12]}) are complete" in one_line(err)


def test_no_card_and_a_hostile_tag(
    hub: WeightsHub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_folder(Path("weights_to_upload"), {"w.bin": b"w" * 10})
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", hub.write_token)
    code, _, err = run(capsys, "upload-weights", "--repo-id", "team/t", "--yes", "--tag", "../../v1")
    assert code == 2
    assert "The tag name '../../v1' is not valid" in one_line(err)
    assert hub.recorder.requests == []
    code, _, err = run(capsys, "upload-weights", "--repo-id", "team/t", "--yes", "--no-card")
    assert code == 0, err
    assert "model card" not in err
    assert set(folder_files(hub.revision_dir("team/t"))) == {"w.bin", "checksums.txt"}


def test_the_repair_hint_works_when_pasted_and_the_old_one_cannot_mix_repos(
    hub: WeightsHub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.add_repo("team/a", WEIGHTS)
    hub.add_repo("team/default", {"other.bin": b"o" * 100})
    monkeypatch.setenv("HGLOC_WEIGHTS_REPO_ID", "team/default")
    assert run(capsys, "download-weights", "--repo-id", "team/a", "--target-dir", "dl")[0] == 0
    listing = Path("dl/checksums.txt").read_bytes()
    Path("dl/model.safetensors").write_bytes(b"corrupt")

    code, _, err = run(capsys, "verify-weights", "--target-dir", "dl")
    assert code == 5
    hint = err.split("Download them again: ", 1)[1].splitlines()[0].strip()
    assert hint == "hg-localization download-weights --repo-id team/a --target-dir dl"

    code, _, err = run(capsys, "download-weights", "--target-dir", "dl")  # the old hint, pasted
    assert code == 2
    assert "dl holds the weights of team/a" in one_line(err)
    assert Path("dl/checksums.txt").read_bytes() == listing
    assert run(capsys, "verify-weights", "--target-dir", "dl")[0] == 5  # never "complete" by mistake

    code, _, err = run(capsys, *shlex.split(hint)[1:])  # the new hint, pasted
    assert code == 0, err
    code, _, err = run(capsys, "verify-weights", "--target-dir", "dl")
    assert code == 0, err
    assert folder_files(Path("dl")) == {**WEIGHTS, "checksums.txt": checksums_text(WEIGHTS).encode()}


def test_a_rerun_with_nothing_new_says_nothing_was_sent(
    hub: WeightsHub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_folder(Path("weights_to_upload"), WEIGHTS)
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", hub.write_token)
    code, first_url, err = run(capsys, "upload-weights", "--repo-id", WEIGHTS_ID, "--yes")
    assert code == 0, err
    assert "Uploaded 5 files" in one_line(err)
    code, again_url, err = run(capsys, "upload-weights", "--repo-id", WEIGHTS_ID, "--yes")
    assert code == 0, err
    assert "Uploaded" not in err
    assert "nothing was sent and no commit was made" in one_line(err)
    assert again_url == first_url  # the commit it already had
