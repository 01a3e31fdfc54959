"""What a team meets in its first week, as the commands show it: help, -v/-vv, Ctrl-C, counts,
compare-models' exit code, list totals, store management (remove, prune) and doctor."""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hg_localization.cli import app as cli_app
from hg_localization.cli.help import PANELS
from hg_localization.cli.output import Output, _LineProgress
from hg_localization.usecases import models

from helpers.cli import run


@pytest.fixture
def store(cli_stores: Path) -> Path:
    return cli_stores / "models"


def one_line(text: str) -> str:
    return " ".join(text.split())


# --- help ------------------------------------------------------------------------------------------


def test_each_command_loads_only_its_own_module_and_the_table_names_them_all() -> None:
    """``main`` imports the one module a command line names: the table must know every command."""
    import importlib

    import typer

    for module in sorted(set(cli_app.COMMAND_MODULES.values())):
        probe = typer.Typer()
        importlib.import_module(f"hg_localization.cli.{module}").register(probe)
        registered = {c.name for c in probe.registered_commands} | {g.name for g in probe.registered_groups}
        listed = {name for name, owner in cli_app.COMMAND_MODULES.items() if owner == module}
        assert registered == listed, module


def test_version_needs_no_command_module() -> None:
    code = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import sys; from hg_localization.cli.app import main; code = main(['--version']); "
                "sys.exit(10 if 'huggingface_hub' in sys.modules or 'boto3' in sys.modules else code)"
            ),
        ],
        capture_output=True,
        text=True,
        check=False,
    ).returncode
    assert code == 0


def test_top_level_help_groups_every_command_with_whole_first_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    names = [c.name for c in cli_app.application().registered_commands] + ["bundle"]
    grouped = {name for commands in PANELS.values() for name in commands}
    assert set(names) <= grouped, f"commands without a panel: {set(names) - grouped}"
    for panel in ("Models:", "Datasets:", "Weights:", "Bucket:", "Serve:", "Collections:"):
        assert f"\n{panel}\n" in out
    assert "Other commands" not in out
    assert "..." not in out.split("\nModels:\n")[1]  # no description cut short
    assert "every file with --full-model." in one_line(out)
    assert "import it where there is no network." in one_line(out)
    models_panel = out.split("\nModels:\n")[1].split("\n\n")[0]
    assert "download-model" in models_panel and "remove-model" in models_panel


@pytest.mark.parametrize(
    "command",
    [
        "download-model",
        "compare-models",
        "show-model-card",
        "sync",
        "serve",
        "sync-local-model-to-s3",
        "prune",
    ],
)
def test_placeholders_are_words_not_python_types(capsys: pytest.CaptureFixture[str], command: str) -> None:
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert not re.search(r"<(str|int|float|path|bool|list\[)", out), out
    assert not re.search(r"\{[a-z_]+\}", out.splitlines()[0]), out
    assert "list[str]" not in out and "int range" not in out


def test_show_model_card_documents_its_argument_and_revision(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "show-model-card", "--help")
    assert "Usage: hg-localization show-model-card [OPTIONS] MODEL_ID" in out
    assert "MODEL_ID  A model in the local store" in out
    assert "-r, --revision REVISION  Branch, tag or commit" in out


# --- -v and -vv ------------------------------------------------------------------------------------


def test_v_is_this_programs_detail_and_vv_adds_the_libraries(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for flags, ours, libraries in ((["-v"], True, False), (["-vv"], True, True), ([], False, False)):
        code, _, _ = run(capsys, *flags, "list-local-models")
        assert code == 0
        assert logging.getLogger("hg_localization.store").isEnabledFor(logging.DEBUG) is ours
        for library in ("botocore.auth", "botocore.endpoint", "urllib3", "httpx", "huggingface_hub"):
            assert logging.getLogger(library).isEnabledFor(logging.DEBUG) is libraries, (flags, library)
    run(capsys, "list-local-models")  # leave the levels as a plain run sets them


# --- Ctrl-C ----------------------------------------------------------------------------------------


def test_ctrl_c_says_what_was_kept_and_that_the_next_run_resumes(
    store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(models, "localize_model", interrupted)
    code, out, err = run(capsys, "download-model", "hgloc-test/tiny-bert")
    assert code == 130
    assert out == ""
    assert "verified are kept" in one_line(err)
    assert "run the same command again to resume" in one_line(err)


# --- counts and compare-models ---------------------------------------------------------------------


def test_one_file_is_one_file_and_compare_counts_every_key(
    store: Path, hub_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = hub_server.samples
    run(capsys, "download-model", samples.bert)
    run(capsys, "download-model", samples.bert, "--revision", samples.bert_tag)
    code, out, _ = run(capsys, "compare-models", samples.bert, f"{samples.bert}@{samples.bert_tag}", "--json")
    rows = json.loads(out)["keys"]
    differing = sum(1 for r in rows if r["differs"])
    code, out, err = run(
        capsys, "compare-models", samples.bert, f"{samples.bert}@{samples.bert_tag}", "--only-differences"
    )
    assert code == 0  # differences are not an error unless --exit-code is given
    assert f"{differing} of {len(rows)} keys differ" in one_line(err)
    assert len(rows) > differing
    code, _, _ = run(
        capsys, "compare-models", samples.bert, f"{samples.bert}@{samples.bert_tag}", "--exit-code"
    )
    assert code == 1
    code, _, _ = run(capsys, "compare-models", samples.bert, samples.bert, "--exit-code")
    assert code == 0


def test_line_progress_tells_uploads_from_downloads(capsys: pytest.CaptureFixture[str]) -> None:
    listener = _LineProgress(Output(verbose=True))
    listener.upload_started("model.safetensors", 10)
    listener.file_advanced("model.safetensors", 10)
    listener.file_finished("model.safetensors")
    listener.file_started("config.json", 5)
    listener.file_finished("config.json")
    err = capsys.readouterr().err
    assert "uploaded model.safetensors" in err
    assert "fetched config.json" in err


def test_rich_bars_mark_uploads_apart_from_downloads() -> None:
    from rich.progress import Progress

    from hg_localization.cli.output import _RichProgress

    bars = Progress()
    listener = _RichProgress(lambda: bars)
    listener.file_started("model.safetensors", 10)
    listener.upload_started("model.safetensors (upload)", 10)
    descriptions = [task.description for task in bars.tasks]
    assert "↑ upload" in descriptions[1] and "↑" not in descriptions[0]


# --- lists: sizes, a total, --sort size ------------------------------------------------------------


def test_lists_show_a_total_and_sort_by_size(
    store: Path, hub_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = hub_server.samples
    run(capsys, "download-model", samples.no_config)
    run(capsys, "download-model", samples.bert, "--full-model")
    code, out, err = run(capsys, "list-local-models", "--sort", "size")
    assert code == 0
    assert out.index(samples.bert) < out.index(samples.no_config)  # the biggest first
    assert re.search(r"Total: 2 revisions, [\d.]+ [KM]B\.", one_line(err))
    code, out, _ = run(capsys, "list-local-models", "--sort", "size", "--json")
    sizes = [m["size"] for m in json.loads(out)]
    assert sizes == sorted(sizes, reverse=True)
    assert run(capsys, "list-local-models", "--sort", "name")[0] == 2


# --- remove-model, prune ---------------------------------------------------------------------------


def test_remove_model_asks_then_removes_one_revision_or_all(
    store: Path, hub_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = hub_server.samples
    run(capsys, "download-model", samples.bert)
    run(capsys, "download-model", samples.bert, "--revision", samples.bert_tag)
    code, _, err = run(capsys, "remove-model", samples.bert, "--revision", samples.bert_tag)
    assert code == 2 and "Nothing was deleted" in err and "--yes" in err  # no terminal to ask on
    code, _, err = run(capsys, "remove-model", samples.bert, "--revision", samples.bert_tag, "--yes")
    assert code == 0, err
    assert "Removed 1 revision of" in one_line(err)
    assert not (store / "hgloc-test" / "tiny-bert" / samples.bert_tag).exists()
    assert (store / "hgloc-test" / "tiny-bert" / "main").is_dir()
    code, _, err = run(capsys, "remove-model", samples.bert, "--yes")
    assert code == 0
    assert not (store / "hgloc-test" / "tiny-bert").exists()
    code, _, err = run(capsys, "remove-model", samples.bert, "--yes")
    assert code == 4 and "not in the local store" in err


def test_prune_removes_detached_revisions_crash_leftovers_and_empty_bucket_scopes(
    store: Path, hub_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = hub_server.samples
    code, out, _ = run(capsys, "download-model", samples.bert)
    main = Path(out.strip())
    commit = json.loads((main / ".hg_localization_bucket_metadata.json").read_text())["commit"]
    run(capsys, "download-model", samples.bert, "--revision", commit)  # held by main: kept
    tag_commit_dir = main.parent / "v1.0-as-commit"
    run(capsys, "download-model", samples.bert, "--revision", samples.bert_tag)
    tag = main.parent / samples.bert_tag
    tag_commit = json.loads((tag / ".hg_localization_bucket_metadata.json").read_text())["commit"]
    run(capsys, "download-model", samples.bert, "--revision", tag_commit)
    shutil.rmtree(tag)  # now nothing names the tag's commit: detached
    del tag_commit_dir
    leftover = main.parent / ".main.staging"
    (leftover / "sub").mkdir(parents=True)
    (leftover / "sub" / "part.incomplete").write_bytes(b"x" * 10)
    empty_scope = store / "by_bucket" / "mistyped-bucket-0123456789ab"
    (empty_scope / ".locks" / "hgloc-test").mkdir(parents=True)

    code, _, err = run(capsys, "prune", "--dry-run")
    assert code == 0
    text = one_line(err)
    assert "Would delete:" in text
    assert f"{tag_commit[:12]}: no branch or tag points to it" in text
    assert "left by an interrupted run" in text
    assert "mistyped-bucket-0123456789ab" in text and "holds no revision" in text
    assert f"{commit[:12]}: no branch" not in text
    assert (main.parent / tag_commit).is_dir()  # a dry run deletes nothing

    code, _, err = run(capsys, "prune", "--yes")
    assert code == 0, err
    assert "Pruned 3 folders" in one_line(err)
    assert not (main.parent / tag_commit).exists()
    assert not leftover.exists()
    assert not empty_scope.exists()
    assert (main.parent / commit).is_dir() and main.is_dir()
    code, _, err = run(capsys, "prune")
    assert code == 0 and "Nothing to prune." in err


# --- doctor ----------------------------------------------------------------------------------------


def test_doctor_shows_the_configuration_without_secrets_and_passes(
    store: Path, hub_server: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_doctor_secret_value_1234")
    code, out, err = run(capsys, "doctor")
    assert code == 0, out + err
    assert "hf_doctor_secret_value_1234" not in out + err
    assert re.search(r"Hub token\s+set", out)
    assert str(store) in out
    assert hub_server.url in out
    assert "[ok] models store writable" in out
    assert "[ok] Hub reachable" in out
    assert "[skipped] bucket reachable: no bucket configured" in out


def test_doctor_fails_with_the_fix_when_the_hub_and_the_bucket_cannot_be_reached(
    store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HGLOC_HF_ENDPOINT", "http://127.0.0.1:9")
    code, out, err = run(capsys, "doctor")
    assert code == 6
    assert "[FAILED] Hub reachable: Could not reach the Hub at http://127.0.0.1:9" in out
    assert "fix: Check HF_ENDPOINT" in out
    assert "1 check failed: Hub reachable." in one_line(err)


def test_doctor_fails_when_the_store_cannot_be_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("HGLOC_MODELS_STORE_PATH", str(blocker / "models"))
    monkeypatch.setenv("HGLOC_DATASETS_STORE_PATH", str(tmp_path / "datasets"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, out, _ = run(capsys, "doctor", "--json")
    assert code == 8
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert checks["models store writable"]["outcome"] == "failed"
    assert "HGLOC_MODELS_STORE_PATH" in checks["models store writable"]["fix"]
    assert checks["Hub reachable"]["outcome"] == "skipped"
