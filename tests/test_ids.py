"""Ids, revisions and in-repo paths are validated before they can become paths.

Beside the examples, properties (hypothesis): no input at all makes a validator raise anything
but InvalidInputError, and whatever one accepts stays inside the folder it is joined to.
"""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

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
    assert not is_commit_sha("0123456789abcdef0123456789abcdef01234567\n")  # "$" would accept it


@pytest.mark.parametrize("value", ["config.json", "sub/dir/file with space.txt", "a.b/c"])
def test_valid_repo_paths(value: str) -> None:
    assert validate_repo_path(value) == value


@pytest.mark.parametrize(
    "value", ["", "/etc/passwd", "../x", "a/../b", "a//b", "a/./b", "a\\b", "C:/x", "x\x01"]
)
def test_repo_paths_that_could_escape_are_refused(value: str) -> None:
    with pytest.raises(InvalidInputError):
        validate_repo_path(value)


# --- properties: any input ------------------------------------------------------------------------

#: Characters that matter to paths, URLs, shells and git refs, and a few that should never appear.
_TRICKY = [*"aZ09._-/\\:%~^?*[]@{} \t\n\r\x00\x7f", "..", "--", "refs/", "é", "\u202e", "\udcff"]
_texts = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(_TRICKY), max_size=20).map("".join),
    st.from_regex(r"[A-Za-z0-9._/-]{0,50}", fullmatch=True),
)
_anything = st.one_of(
    _texts, st.none(), st.integers(), st.binary(max_size=20), st.lists(st.text(), max_size=2)
)
_PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _inside(root: Path, *parts: str) -> bool:
    """True when ``root/parts`` (resolved, as the filesystem would) is strictly inside ``root``."""
    resolved = Path(root, *parts).resolve()
    return resolved != root and resolved.is_relative_to(root)


@_PROPERTY_SETTINGS
@given(value=_anything)
@example(value="../../etc")
@example(value="a/..")
@example(value="_/x")
@example(value="a\x00b")
@example(value=b"org/name")
def test_parse_repo_id_accepts_only_ids_that_stay_inside_the_store(value: object, tmp_path: Path) -> None:
    root = tmp_path.resolve()
    try:
        parsed = parse_repo_id(value)
    except InvalidInputError as exc:
        assert exc.message
        return
    assert str(parsed) == value  # what was given, unchanged: no normalisation hides a trick
    assert _inside(root, *parsed.folder_parts)
    assert all(part not in ("", ".", "..") and "/" not in part for part in parsed.folder_parts)


@_PROPERTY_SETTINGS
@given(value=_anything)
@example(value="refs/pr/1")
@example(value="..")
@example(value="%2e%2e")
@example(value="\udcff")  # a lone surrogate: revision_folder used to raise UnicodeEncodeError
@example(value="a/../b")
def test_validate_revision_and_revision_folder_give_one_segment_inside_the_store(
    value: object, tmp_path: Path
) -> None:
    root = tmp_path.resolve()
    try:
        revision = validate_revision(value)
    except InvalidInputError as exc:
        assert exc.message
        with pytest.raises(InvalidInputError):
            revision_folder(value)  # type: ignore[arg-type]
        return
    folder = revision_folder(revision)
    assert "/" not in folder and "\\" not in folder and folder not in ("", ".", "..")
    assert _inside(root, folder) and Path(root, folder).resolve().parent == root
    assert revision_from_folder(folder) == revision


@_PROPERTY_SETTINGS
@given(value=_anything)
@example(value="a/../../b")
@example(value="C:/x")
@example(value="\\\\server\\share")
@example(value="a/\x00")
def test_validate_repo_path_accepts_only_paths_that_stay_inside_the_folder(
    value: object, tmp_path: Path
) -> None:
    root = tmp_path.resolve()
    try:
        path = validate_repo_path(value)
    except InvalidInputError as exc:
        assert exc.message
        return
    assert path == value
    assert _inside(root, *path.split("/"))
