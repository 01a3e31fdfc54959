"""RevisionManifest.from_json takes any bytes: a manifest whose values can be used, or InvalidInputError.

Metadata files come back from disks that fail and metadata objects from a bucket the whole team
writes; nothing in them may crash a command (UnicodeDecodeError, RecursionError, TypeError…) or
carry a value that would become a bad path, key or header.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from hg_localization.errors import InvalidInputError
from hg_localization.ids import is_commit_sha, parse_repo_id, validate_repo_path, validate_revision
from hg_localization.store import manifest_json
from hg_localization.store.manifest import FileRecord, RevisionManifest, Selection

COMMIT = "0123456789abcdef0123456789abcdef01234567"
SHA256 = "ab" * 32


def good_manifest(**changes: Any) -> RevisionManifest:
    manifest = RevisionManifest(
        repo_id="org/model",
        repo_type="model",
        revision="refs/pr/1",
        commit=COMMIT,
        selections=[Selection(full=True, include=("*.json",))],
        files=[
            FileRecord(
                path="README.md", local_path="model_card.md", size=12, sha256=SHA256, git_sha1="c" * 40
            ),
            FileRecord(
                path="sub/w.bin", local_path="sub/w.bin", size=0, sha256=SHA256, git_sha1="", lfs=True
            ),
        ],
        card_data={"tags": ["a", {"b": [1, 2.5, None]}]},
    )
    return manifest.replace(**changes)


GOOD_MANIFEST = good_manifest()
GOOD = GOOD_MANIFEST.to_json().encode()


def parsed_or_refused(data: bytes | str) -> RevisionManifest | None:
    """The manifest, or None when it was refused the one allowed way. Anything else fails the test."""
    try:
        manifest = RevisionManifest.from_json(data, where="metadata file")
    except InvalidInputError as exc:
        assert exc.message.startswith("The metadata file is not valid: ")
        assert len(exc.message.splitlines()) == 1
        return None
    # What it holds can be used as it is: as folder names, object keys, headers, and written back.
    assert str(parse_repo_id(manifest.repo_id)) == manifest.repo_id
    validate_revision(manifest.revision)
    assert is_commit_sha(manifest.commit)
    for record in manifest.files:
        validate_repo_path(record.path)
        validate_repo_path(record.local_path)
        assert record.size >= 0 and len(record.sha256) == 64
    assert RevisionManifest.from_json(manifest.to_json()).to_json() == manifest.to_json()
    return manifest


def test_a_good_manifest_round_trips() -> None:
    assert parsed_or_refused(GOOD) == GOOD_MANIFEST
    assert parsed_or_refused(GOOD.decode()) == GOOD_MANIFEST


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xfe\x00\x81",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"card_data": ' + b'{"a": ' * 5_000 + b"1" + b"}" * 5_001,
        b'{"repo_id": "\\ud800"}',
        '{"repo_id": "a\udcff"}',
        b"null",
        b"[]",
        b'{"format": 1' + b"0" * 5_000 + b"}",
        GOOD[: len(GOOD) // 2],
        GOOD.replace(COMMIT.encode(), b"HEAD"),
        GOOD.replace(COMMIT.encode(), COMMIT.upper().encode()),
        GOOD.replace(b'"sub/w.bin"', b'"../w.bin"'),
        GOOD.replace(b'"sub/w.bin"', b'"/etc/passwd"'),
        GOOD.replace(b'"sub/w.bin"', b'"model_card.md"'),
        GOOD.replace(b'"sub/w.bin"', b'".hg_localization_bucket_metadata.json"'),
        GOOD.replace(b'"org/model"', b'"../../x"'),
        GOOD.replace(b'"refs/pr/1"', b'"a b"'),
        GOOD.replace(b'"size": 12', b'"size": -1'),
        GOOD.replace(b'"size": 12', b'"size": 1e400'),
        GOOD.replace(b'"size": 12', b'"size": [12]'),
        GOOD.replace(SHA256.encode(), b"x\\r\\nSet-Cookie: a"),
        GOOD.replace(b'"files": [', b'"files": [1, '),
    ],
)
def test_damaged_input_is_refused_with_one_line_saying_why(data: bytes | str) -> None:
    assert data != GOOD
    assert parsed_or_refused(data) is None


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2_000))
@example(b"\x00")
@example(b'"\\udc80"')
def test_any_bytes_give_a_manifest_or_invalid_input(data: bytes) -> None:
    parsed_or_refused(data)


@settings(max_examples=300)
@given(st.text(max_size=500))
def test_any_text_gives_a_manifest_or_invalid_input(text: str) -> None:
    parsed_or_refused(text)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(sorted(json.loads(GOOD))), JSON_VALUES, max_size=8))
def test_any_values_under_the_manifest_keys_give_a_manifest_or_invalid_input(changes: dict[str, Any]) -> None:
    document = {**json.loads(GOOD), **changes}
    parsed_or_refused(json.dumps(document).encode())


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(range(len(json.loads(GOOD)["files"]))),
    st.dictionaries(
        st.sampled_from(["path", "local_path", "size", "sha256", "git_sha1", "lfs"]), JSON_VALUES, max_size=3
    ),
)
def test_any_file_record_values_give_a_manifest_or_invalid_input(index: int, changes: dict[str, Any]) -> None:
    document = json.loads(GOOD)
    document["files"][index].update(changes)
    parsed_or_refused(json.dumps(document).encode())


@settings(max_examples=300)
@given(st.integers(min_value=0, max_value=len(GOOD) - 1), st.binary(max_size=8), st.integers(0, 8))
def test_a_good_file_with_bytes_cut_or_replaced_gives_a_manifest_or_invalid_input(
    position: int, replacement: bytes, removed: int
) -> None:
    parsed_or_refused(GOOD[:position] + replacement + GOOD[position + removed :])


# What the pydantic models wrote, byte for byte (stores and buckets hold files written so):
# indent 2, field order, UTF-8 unescaped, "Z" for UTC, floats as pydantic-core wrote them.
WRITTEN = r"""{
  "format": 1,
  "repo_id": "org/model",
  "repo_type": "model",
  "revision": "refs/pr/1",
  "commit": "0123456789abcdef0123456789abcdef01234567",
  "selections": [
    {
      "full": true,
      "include": [
        "*.json"
      ],
      "exclude": [],
      "config_name": null
    },
    {
      "full": false,
      "include": [],
      "exclude": [],
      "config_name": "default"
    }
  ],
  "files": [
    {
      "path": "README.md",
      "local_path": "model_card.md",
      "size": 12,
      "sha256": "abababababababababababababababababababababababababababababababab",
      "git_sha1": "cccccccccccccccccccccccccccccccccccccccc",
      "lfs": false
    },
    {
      "path": "sub/w.bin",
      "local_path": "sub/w.bin",
      "size": 9223372036854775807,
      "sha256": "abababababababababababababababababababababababababababababababab",
      "git_sha1": "",
      "lfs": true
    }
  ],
  "missing": [
    "tokenizer.json"
  ],
  "fetched_at": "2026-11-29T12:00:00.120000Z",
  "source": "hub",
  "source_url": "http://127.0.0.1:8080",
  "public": false,
  "private": false,
  "card_data": {
    "tags": [
      "a",
      {
        "b": [
          1,
          2.5,
          null,
          true
        ]
      }
    ],
    "lr": 0.00002,
    "eps": 1e-8,
    "big": 1e+16,
    "nan": null,
    "text": "é \"q\" \\ \t\u0001 😀/",
    "empty": {},
    "none": [],
    "day": "2026-01-02"
  },
  "ref_kind": "branch"
}"""


def written_manifest() -> RevisionManifest:
    return RevisionManifest(
        repo_id="org/model",
        repo_type="model",
        revision="refs/pr/1",
        commit=COMMIT,
        selections=[Selection(full=True, include=("*.json",)), Selection(config_name="default")],
        files=[
            FileRecord(
                path="README.md", local_path="model_card.md", size=12, sha256=SHA256, git_sha1="c" * 40
            ),
            FileRecord(
                path="sub/w.bin", local_path="sub/w.bin", size=2**63 - 1, sha256=SHA256, git_sha1="", lfs=True
            ),
        ],
        missing=["tokenizer.json"],
        fetched_at=datetime(2026, 11, 29, 12, 0, 0, 120000, tzinfo=UTC),
        source_url="http://127.0.0.1:8080",
        card_data={
            "tags": ["a", {"b": [1, 2.5, None, True]}],
            "lr": 2e-05,
            "eps": 1e-08,
            "big": 1e16,
            "nan": float("nan"),
            "text": 'é "q" \\ \t\u0001 😀/',
            "empty": {},
            "none": [],
            "day": date(2026, 1, 2),  # a card's YAML has dates
        },
        ref_kind="branch",
    )


def test_a_manifest_is_written_as_it_always_was() -> None:
    assert written_manifest().to_json() == WRITTEN
    read = RevisionManifest.from_json(WRITTEN.encode())
    assert read.to_json() == WRITTEN
    assert read.fetched_at == datetime(2026, 11, 29, 12, 0, 0, 120000, tzinfo=UTC)
    assert read.selections[0] == Selection(full=True, include=("*.json",))


@pytest.mark.parametrize(
    ("stored", "written"),
    [
        ("2026-11-29T12:00:00Z", "2026-11-29T12:00:00Z"),
        ("2026-11-29T12:00:00.5+00:00", "2026-11-29T12:00:00.500000Z"),
        ("2026-11-29T12:00:00-05:30", "2026-11-29T12:00:00-05:30"),
        ("2026-11-29T12:00:00", "2026-11-29T12:00:00"),
        ("2026-11-29 12:00Z", "2026-11-29T12:00:00Z"),
        ("2026-11-29", "2026-11-29T00:00:00"),
    ],
)
def test_fetched_at_reads_iso_8601_and_is_written_back_the_same_way(stored: str, written: str) -> None:
    manifest = RevisionManifest.from_json(
        GOOD.replace(b'"fetched_at": "', f'"fetched_at": "{stored}", "x": "'.encode())
    )
    assert f'"fetched_at": "{written}"' in manifest.to_json()


@pytest.mark.parametrize(
    "data",
    [
        GOOD.replace(b'"fetched_at": "', b'"fetched_at": 1700000000, "x": "'),
        GOOD.replace(b'"fetched_at": "', b'"fetched_at": "2026-11-29T24:00:00Z", "x": "'),
        GOOD.replace(b'"size": 12', b'"size": 12.0'),
        GOOD.replace(b'"size": 12', b'"size": "12"'),
        GOOD.replace(b'"lfs": false', b'"lfs": 0'),
        GOOD.replace(b'"public": false', b'"public": "no"'),
        GOOD.replace(b'"format": 1', b'"format": true'),
        GOOD.replace(b'"card_data": {', b'"card_data": {"deep": ' + b"[" * 200 + b"]" * 200 + b","),
        GOOD.replace(b'"card_data": {', b'"unknown": ' + b"[" * 201 + b"]" * 201 + b', "card_data": {'),
    ],
)
def test_values_pydantic_coerced_and_values_nested_too_deeply_are_refused(data: bytes) -> None:
    assert data != GOOD
    assert parsed_or_refused(data) is None


def test_a_copy_with_changes_leaves_the_manifest_as_it_was() -> None:
    public = GOOD_MANIFEST.replace(public=True, missing=["x.json"])
    assert public.public and public.missing == ["x.json"]
    assert not GOOD_MANIFEST.public and GOOD_MANIFEST.missing == []
    assert public.replace(public=False, missing=[]) == GOOD_MANIFEST


# pydantic is still a dependency (the server's schemas): what it writes is the reference.
@settings(max_examples=300)
@given(st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=6))
def test_card_data_is_written_as_pydantic_wrote_it(card_data: dict[str, Any]) -> None:
    written = TypeAdapter(dict[str, object]).dump_json(card_data, indent=2).decode()
    assert manifest_json.dumps(card_data) == written


@settings(max_examples=300)
@given(
    st.datetimes(),
    st.none() | st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m))),
)
def test_fetched_at_is_written_as_pydantic_wrote_it(when: datetime, tz: timezone | None) -> None:
    when = when.replace(tzinfo=tz)
    assert manifest_json.datetime_text(when) == TypeAdapter(datetime).dump_json(when).decode().strip('"')
    assert manifest_json.parse_datetime(manifest_json.datetime_text(when)) == when
