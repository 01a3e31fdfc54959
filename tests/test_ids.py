"""Ids, revisions and in-repo paths are validated before they can become paths."""

import pytest

from hg_localization.errors import InvalidInputError
from hg_localization.ids import (
    RepoId,
    is_commit_sha,
    parse_repo_id,
    revision_folder,
    revision_from_folder,
    validate_repo_path,
    validate_revision,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("google/bert", RepoId("google", "bert")),
        ("gpt2", RepoId(None, "gpt2")),
        ("Org-1/model_v2.5", RepoId("Org-1", "model_v2.5")),
    ],
)
def test_valid_ids_parse(value: str, expected: RepoId) -> None:
    parsed = parse_repo_id(value)
    assert parsed == expected
    assert str(parsed) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        " ",
        "../x",
        "/abs",
        "/abs/path",
        "a/b/c",
        "a//b",
        "a/",
        "./x",
        "x/..",
        "a\x00b",
        "a/b\n",
        "a\tb",
        "ns/na--me",
        "ns/na..me",
        "-lead/x",
        "x/trail-",
        " a/b",
        "a/b ",
        "a b/c",
        "_/reserved",
    ],
)
def test_invalid_ids_are_refused_with_a_message(value: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_repo_id(value)
    assert info.value.message  # says what is wrong


@pytest.mark.parametrize("value", ["main", "v1.0", "refs/pr/1", "a" * 40, "release-2024_01"])
def test_valid_revisions(value: str) -> None:
    assert validate_revision(value) == value


@pytest.mark.parametrize(
    "value", ["", "..", "../main", "/main", "main/", "a//b", "x\x00", "a..b", "a b", "x.lock", ".hidden"]
)
def test_invalid_revisions(value: str) -> None:
    with pytest.raises(InvalidInputError):
        validate_revision(value)


def test_revision_folder_is_one_lossless_segment() -> None:
    assert revision_folder("main") == "main"
    assert revision_folder("refs/pr/1") == "refs%2Fpr%2F1"
    assert revision_from_folder(revision_folder("refs/pr/1")) == "refs/pr/1"


def test_commit_sha_is_forty_lowercase_hex() -> None:
    assert is_commit_sha("0123456789abcdef0123456789abcdef01234567")
    assert not is_commit_sha("0123456789ABCDEF0123456789ABCDEF01234567")
    assert not is_commit_sha("main")


@pytest.mark.parametrize("value", ["config.json", "sub/dir/file with space.txt", "a.b/c"])
def test_valid_repo_paths(value: str) -> None:
    assert validate_repo_path(value) == value


@pytest.mark.parametrize(
    "value", ["", "/etc/passwd", "../x", "a/../b", "a//b", "a/./b", "a\\b", "C:/x", "x\x01"]
)
def test_repo_paths_that_could_escape_are_refused(value: str) -> None:
    with pytest.raises(InvalidInputError):
        validate_repo_path(value)
