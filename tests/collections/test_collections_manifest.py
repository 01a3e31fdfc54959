"""The manifest: the issue's example parses; every kind of mistake is refused with file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hg_localization.collections.manifest import Entry, load_manifest, parse_manifest
from hg_localization.errors import InvalidInputError

from helpers.cli import run

ISSUE_EXAMPLE = """\
collections:
  core:                       # a collection's name
    public: false             # optional: like --make-public for every entry
    models:
      - id: acme/tiny
        revision: main        # branch, tag or 40-hex commit; default main
        full: true            # default false: card + config only
        include: ["*.safetensors", "*.json"]   # optional, like --include / --exclude
      - id: acme/many
    datasets:
      - id: acme/table
        name: default         # optional config, like --name
"""


def test_the_issue_example_parses_into_entries() -> None:
    manifest = parse_manifest(ISSUE_EXAMPLE, Path("hg-localization.yaml"))
    (core,) = manifest.collections
    assert core.name == "core" and core.public is False
    assert core.entries == (
        Entry("model", "acme/tiny", "main", full=True, include=("*.safetensors", "*.json"), line=5),
        Entry("model", "acme/many", "main", full=False, line=9),
        Entry("dataset", "acme/table", "main", full=True, name="default", line=11),
    )
    assert manifest.lock_path == Path("hg-localization.lock")


BAD = "collections:\n  core:\n    models:\n"
M0 = "collections.core.models[0]"


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        (BAD + "      - id: acme/tiny\n        revison: main\n", 5, f"{M0}.revison", "not a known key"),
        (BAD + "      - id: ../tiny\n", 4, f"{M0}.id", "'..'"),
        (BAD + "      - id: acme/tiny\n        revision: 'a b'\n", 5, f"{M0}.revision", "not a valid"),
        (BAD + "      - id: acme/tiny\n        revision: 1.0\n", 5, f"{M0}.revision", "quote it"),
        (BAD + "      - id: acme/t\n        include: ['../*']\n", 5, f"{M0}.include[0]", "'..'"),
        (BAD + "      - id: acme/t\n        include: ['[ab']\n", 5, f"{M0}.include[0]", "unclosed"),
        (BAD + "      - id: acme/t\n        full: maybe\n", 5, f"{M0}.full", "true or false"),
        (BAD + "      - id: acme/t\n      - id: acme/t\n", 5, "collections.core.models[1]", "listed twice"),
        (BAD + "      - revision: main\n", 4, f"{M0}.id", "missing"),
        (BAD + "      - id: acme/t\n        name: x\n", 5, f"{M0}.name", "not a known key"),
        (BAD + "      - id: a/b\n  core:\n    models: []\n", 5, "collections.core", "given twice"),
        (
            "collections:\n  core:\n    datasets:\n      - id: a/b\n        name: x\n"
            "        include: ['*']\n",
            6,
            "collections.core.datasets[0].include",
            "cannot be combined",
        ),
        ("collections:\n  'bad name':\n    models:\n      - id: a/b\n", 2, "collections.bad name", "name"),
        (
            "collections:\n  core:\n    public: yes please\n    models: [{id: a/b}]\n",
            3,
            "collections.core.public",
            "",
        ),
        ("collections:\n  core: {}\n", 2, "collections.core", "no models and no datasets"),
        ("colections:\n  core: {}\n", 1, "colections", "not a known key"),
    ],
)
def test_a_bad_manifest_is_refused_naming_the_file_line_and_field(
    text: str, line: int, field: str, words: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_manifest(text, Path("team/hg-localization.yaml"))
    assert caught.value.message.startswith(f"team/hg-localization.yaml, line {line}, {field}: ")
    assert words in caught.value.message


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("collections:\n  core:\n    models: [\n", 4, "not valid YAML"),
        ("collections:\n  core: &c\n    models: [{id: a/b}]\n  copy: *c\n", 4, "aliases"),
    ],
)
def test_yaml_that_cannot_be_read_is_refused_with_its_line(text: str, line: int, words: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_manifest(text, Path("m.yaml"))
    assert caught.value.message.startswith(f"m.yaml, line {line}: ") and words in caught.value.message


def test_the_cli_refuses_a_bad_manifest_before_anything_is_fetched(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (cli_env / "hg-localization.yaml").write_text(
        textwrap.dedent(
            """\
            collections:
              core:
                models:
                  - id: hgloc-test/tiny-bert
                  - id: hgloc-test/no-config
                    revision: "not a revision"
            """
        )
    )
    code, _, err = run(capsys, "sync")
    assert code == 2
    assert f"{cli_env / 'hg-localization.yaml'}, line 6, collections.core.models[1].revision" in err
    assert "nothing was fetched" in err
    assert not (tmp_path / "store").exists()


def test_a_missing_manifest_says_how_to_write_one(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "list-collections")
    assert code == 4
    assert "no collections manifest" in err and "--file" in err


def test_list_and_show_collections(
    cli_env: Path, issue_manifest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "list-collections")
    assert code == 0 and "core" in out and "The issue's example" in out

    code, out, _ = run(capsys, "show-collection", "core", "--file", str(issue_manifest))
    assert code == 0
    assert "hgloc-test/tiny-bert" in out and "card + config" in out and "config numbers" in out
    assert "not localized" in out

    code, _, err = run(capsys, "show-collection", "nope")
    assert code == 4 and "no collection 'nope'" in err and "core" in err


def test_a_manifest_is_read_from_a_file_given_with_file(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.yaml"
    path.write_text(ISSUE_EXAMPLE)
    manifest = load_manifest(path)
    assert manifest.collection("core").of_type("dataset")[0].name == "default"
    assert manifest.lock_path == tmp_path / "hg-localization.lock"
