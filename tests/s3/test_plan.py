"""The pure parts: key layout and validation, and the sync plan. No server needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hg_localization.errors import InvalidInputError, StorageError
from hg_localization.ids import parse_repo_id
from hg_localization.s3.bucket import RemoteObject
from hg_localization.s3.client import BucketLocation
from hg_localization.s3.keys import BucketKeys, KeySpace, public_index_name, relative_url
from hg_localization.s3.push_plan import merge_manifests, plan_private, plan_public
from hg_localization.store.manifest import FileRecord, RevisionManifest, Selection

BERT = parse_repo_id("org/bert")


def record(path: str, content: str = "x", local_path: str | None = None) -> FileRecord:
    return FileRecord(
        path=path, local_path=local_path or path, size=len(content), sha256=f"sha-{content}", git_sha1="g"
    )


def manifest(
    *files: FileRecord, commit: str = "a" * 40, full: bool = False, public: bool = False
) -> RevisionManifest:
    return RevisionManifest(
        repo_id="org/bert",
        repo_type="model",
        revision="main",
        commit=commit,
        selections=[Selection(full=full)],
        files=list(files),
        public=public,
    )


def test_the_key_layout() -> None:
    keys = BucketKeys("/team/hg/")
    assert keys.prefix == "team/hg"
    assert (
        keys.private.object_key("model", BERT, "main", "config.json")
        == "team/hg/models/org/bert/main/config.json"
    )
    assert keys.public.metadata_key("dataset", BERT, "refs/pr/1") == (
        "team/hg/public/datasets/org/bert/refs%2Fpr%2F1/.hg_localization_bucket_metadata.json"
    )
    assert (
        keys.index_entry_key("model", parse_repo_id("gpt2"), "v1.0")
        == "team/hg/index/models/_/gpt2/v1.0.json"
    )
    assert keys.public_index_key("dataset") == "team/hg/public/public_datasets.json"
    assert BucketKeys("").private.type_prefix("model") == "models/"
    assert BucketKeys("").public_root == "public/"
    assert public_index_name("model") == "public_models.json"
    assert relative_url("models/a/b/refs%2Fpr%2F1/a b.txt") == "models/a/b/refs%252Fpr%252F1/a%20b.txt"


def test_keys_read_back_from_the_bucket_are_parsed_and_checked() -> None:
    keys = BucketKeys("team")
    assert keys.parse_index_entry_key("model", "team/index/models/_/gpt2/refs%2Fpr%2F1.json") == (
        parse_repo_id("gpt2"),
        "refs/pr/1",
    )
    space = keys.private
    assert space.parse_metadata_key("model", "team/models/org/bert/main/config.json") is None
    assert space.parse_metadata_key(
        "model", "team/models/org/bert/main/.hg_localization_bucket_metadata.json"
    ) == (BERT, "main")
    for bad in ("team/models/../x/main/.hg_localization_bucket_metadata.json", "other/models/a/b/c"):
        with pytest.raises(InvalidInputError):
            space.parse_metadata_key("model", bad)


@pytest.mark.parametrize("prefix", ["../up", "a/../b", "a//b", "a/\x00"])
def test_a_prefix_that_could_climb_out_is_refused(prefix: str) -> None:
    with pytest.raises(InvalidInputError, match="HGLOC_S3_DATA_PREFIX"):
        BucketKeys(prefix)


@pytest.mark.parametrize("local_path", ["../x", "/etc/passwd", "a/../../b", "C:/x"])
def test_object_keys_never_take_an_escaping_path(local_path: str) -> None:
    with pytest.raises(InvalidInputError):
        KeySpace("team").object_key("model", BERT, "main", local_path)


def test_locations_are_described_without_secrets_and_give_a_public_url() -> None:
    location = BucketLocation("b", "http://127.0.0.1:9000/", keys=BucketKeys("team"))
    assert location.describe() == "s3://b/team at http://127.0.0.1:9000/"
    assert location.public_url() == "http://127.0.0.1:9000/b/team/public"
    assert (
        BucketLocation("b", region="eu-west-1").public_url() == "https://b.s3.eu-west-1.amazonaws.com/public"
    )
    assert "hunter2" not in BucketLocation("b", "http://user:hunter2@host:9000").describe()


def test_the_plan_skips_identical_objects_and_uploads_the_rest() -> None:
    local = manifest(record("config.json", "1"), record("README.md", "2", "model_card.md"))
    space = KeySpace("team")
    remote_objects = {
        "team/models/org/bert/main/config.json": RemoteObject("k", size=1, sha256="sha-1"),
        "team/models/org/bert/main/model_card.md": RemoteObject("k", size=1, sha256="sha-old"),
    }
    plan = plan_private(local, Path("/store/rev"), None, remote_objects, space)
    assert plan.skipped == ("team/models/org/bert/main/config.json",)
    assert [(u.key, u.source, u.label) for u in plan.uploads] == [
        ("team/models/org/bert/main/model_card.md", Path("/store/rev/model_card.md"), "README.md")
    ]
    assert plan.write_metadata and plan.manifest == local

    again = plan_private(
        local,
        Path("/store/rev"),
        local,
        {
            k: RemoteObject(k, size=1, sha256=s)
            for k, s in (
                ("team/models/org/bert/main/config.json", "sha-1"),
                ("team/models/org/bert/main/model_card.md", "sha-2"),
            )
        },
        space,
    )
    assert again.nothing_to_do


def test_the_bucket_copy_never_shrinks_at_the_same_commit_and_is_replaced_at_another() -> None:
    full = manifest(record("config.json", "1"), record("w.bin", "2"), full=True)
    small = manifest(record("config.json", "1"))
    assert merge_manifests(full, small) is full  # nothing to add
    moved = manifest(record("config.json", "9"), commit="b" * 40)
    assert merge_manifests(full, moved) is moved
    grown = merge_manifests(small, manifest(record("w.bin", "2"), full=True))
    assert [f.path for f in grown.files] == ["config.json", "w.bin"] and grown.full
    assert merge_manifests(full, small.replace(public=True)).public


def test_the_public_plan_copies_only_the_local_files_from_the_private_prefix() -> None:
    keys = BucketKeys("team")
    local = manifest(record("config.json", "1"))
    plan = plan_public(local, None, {}, keys.private, keys.public)
    assert [(c.source_key, c.key) for c in plan.copies] == [
        ("team/models/org/bert/main/config.json", "team/public/models/org/bert/main/config.json")
    ]
    assert plan.manifest.public and [f.path for f in plan.manifest.files] == ["config.json"]
    assert plan.metadata_key == "team/public/models/org/bert/main/.hg_localization_bucket_metadata.json"


def test_a_push_never_replaces_a_later_fetched_commit() -> None:
    now = datetime.now(UTC)
    old = manifest(record("w.bin", "1"), commit="a" * 40).replace(fetched_at=now - timedelta(days=1))
    new = manifest(record("w.bin", "2"), commit="b" * 40).replace(fetched_at=now)
    assert merge_manifests(old, new) is new  # a branch moved forward: ours replaces it
    with pytest.raises(StorageError, match="The bucket has a newer commit") as caught:
        merge_manifests(new, old)
    assert "download-model org/bert --revision main --force" in str(caught.value.hint)
    with pytest.raises(StorageError, match="newer commit"):  # the plan refuses before any upload
        plan_private(old, Path("/store/rev"), new, {}, BucketKeys("team").private)
    naive = old.replace(fetched_at=(now - timedelta(days=2)).replace(tzinfo=None))
    assert merge_manifests(naive, new) is new  # a time without a zone is UTC
