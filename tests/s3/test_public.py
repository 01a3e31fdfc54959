"""--make-public: readable by anyone without credentials, listed in public_models.json, nothing more."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

import hg_localization
from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import StorageError
from hg_localization.ids import parse_repo_id
from hg_localization.s3.bucket import Bucket
from hg_localization.s3.public import ensure_public_policy
from hg_localization.usecases import s3_sync
from hg_localization.usecases.models import localize_model, model_store
from hg_localization.usecases.options import LocalizeOptions

from .conftest import bucket_config, public_only_config
from helpers.cli import CliRun, run, use_in_cli


def denied(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return str(caught.value.response["Error"]["Code"])


@pytest.fixture
def shared(team: HGLocalizationConfig, hub_server: Any) -> HGLocalizationConfig:
    """The tiny BERT made public (full), and the no-config model kept private, in the team bucket."""
    localize_model(hub_server.samples.bert, config=team, options=LocalizeOptions(full=True, make_public=True))
    localize_model(hub_server.samples.no_config, config=team, options=LocalizeOptions(full=True))
    return team


def public_url(team: HGLocalizationConfig) -> str:
    return f"{team.s3_endpoint_url}/{team.s3_bucket_name}/team/public"


def test_an_anonymous_client_reads_public_objects_and_nothing_else(
    shared: HGLocalizationConfig, s3: Any
) -> None:
    anonymous = s3.client("anonymous", retries=1)
    bucket = shared.s3_bucket_name
    card = anonymous.get_object(
        Bucket=bucket, Key="team/public/models/hgloc-test/tiny-bert/main/model_card.md"
    )
    assert card["Body"].read().startswith(b"---")
    index = json.loads(
        anonymous.get_object(Bucket=bucket, Key="team/public/public_models.json")["Body"].read()
    )
    assert [(e["repo_id"], e["revision"]) for e in index["entries"]] == [("hgloc-test/tiny-bert", "main")]

    private_keys = [
        "team/models/hgloc-test/tiny-bert/main/config.json",  # the private copy of a public model
        "team/models/hgloc-test/no-config/main/model_card.md",  # a private model
        "team/index/models/hgloc-test/no-config/main.json",
    ]
    for key in private_keys:
        assert denied(anonymous.get_object, Bucket=bucket, Key=key) in ("AccessDenied", "403")
    assert denied(anonymous.list_objects_v2, Bucket=bucket, Prefix="team/public/") in ("AccessDenied", "403")
    assert denied(anonymous.put_object, Bucket=bucket, Key="team/public/x", Body=b"x") in (
        "AccessDenied",
        "403",
    )
    # The private model was never copied under the public prefix.
    assert s3.objects(bucket, "team/public/models/hgloc-test/no-config/") == {}


def test_a_stranger_lists_and_downloads_public_models_with_only_the_public_url(
    shared: HGLocalizationConfig,
    tmp_path: Path,
    hub_server: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = public_url(shared)
    code, out, err = run(capsys, "list-public-models", "--public-url", url, "--json")
    assert code == 0, err
    assert [m["model_id"] for m in json.loads(out)] == [hub_server.samples.bert]
    assert [m["model_id"] for m in hg_localization.list_public_models(public_url=url)] == [
        hub_server.samples.bert
    ]

    stranger = public_only_config(tmp_path, url)
    use_in_cli(monkeypatch, stranger)  # HGLOC_PUBLIC_URL only; the Hub cannot be reached
    code, out, err = run(capsys, "download-model", hub_server.samples.bert, "--full-model")
    assert code == 0, err
    assert "from the team bucket" in err
    folder = Path(out.strip())
    assert folder.is_relative_to(stranger.models_store_path)
    expected = hub_server.samples.files(hub_server.samples.bert)
    assert (folder / "config.json").read_bytes() == expected["config.json"]
    assert (folder / "model_card.md").read_bytes() == expected["README.md"]

    code, _, err = run(capsys, "download-model", hub_server.samples.no_config)
    assert code != 0  # private: not public, and the Hub is out of reach

    code, _, err = run(capsys, "download-model", hub_server.samples.bert, "--make-public")
    assert code != 0 and "Only a public URL is configured" in err


def test_make_public_marks_the_local_copy_and_the_private_index(
    team: HGLocalizationConfig,
    hub_server: Any,
    team_cli: CliRun,
) -> None:
    bert = hub_server.samples.bert
    assert team_cli("download-model", bert, "--no-s3-upload")[0] == 0
    code, _, err = team_cli("sync-local-model-to-s3", bert, "--make-public")
    assert code == 0, err
    assert f"Public: anyone can read it at {public_url(team)}" in err
    stored = model_store(team).get(parse_repo_id(bert), "main")
    assert stored is not None and stored.manifest.public
    code, out, _ = team_cli("list-s3-models", "--json")
    assert [m["public"] for m in json.loads(out)] == [True]
    code, out, _ = team_cli("list-local-models", "--json")
    assert [m["is_public"] for m in json.loads(out)] == [True]
    # Again: nothing new to copy, and the index is not duplicated.
    report = s3_sync.sync_local_repo(team, "model", bert, make_public=True)
    assert report.public_files_copied == 0 and not report.changed
    assert len(s3_sync.list_public_repos(team, "model")) == 1


def test_make_public_exposes_only_the_files_of_the_local_copy(
    team: HGLocalizationConfig, hub_server: Any, s3: Any, teammate: Any
) -> None:
    localize_model(
        hub_server.samples.bert, config=team, options=LocalizeOptions(full=True)
    )  # private, every file
    dave = teammate("dave")
    localize_model(
        hub_server.samples.bert, config=dave, options=LocalizeOptions(make_public=True)
    )  # card and config, public
    public = s3.objects(team.s3_bucket_name, "team/public/models/")
    assert sorted(k.rsplit("/", 1)[1] for k in public) == sorted(
        [".hg_localization_bucket_metadata.json", "config.json", "model_card.md"]
    )


def test_the_bucket_policy_keeps_other_statements_and_needs_an_admin(
    team: HGLocalizationConfig, s3: Any, tmp_path: Path
) -> None:
    other = {
        "Sid": "SomeoneElses",
        "Effect": "Allow",
        "Principal": "*",
        "Action": ["s3:GetObject"],
        "Resource": [f"arn:aws:s3:::{team.s3_bucket_name}/website/*"],
    }
    s3.client("admin").put_bucket_policy(
        Bucket=team.s3_bucket_name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [other]})
    )
    bucket = Bucket.from_config(team)
    assert ensure_public_policy(bucket) is True
    assert ensure_public_policy(bucket) is False  # already there
    policy = json.loads(s3.client("admin").get_bucket_policy(Bucket=team.s3_bucket_name)["Policy"])
    assert "SomeoneElses" in {s["Sid"] for s in policy["Statement"]}
    assert len(policy["Statement"]) == 2

    fresh = s3.client("admin")
    fresh.create_bucket(Bucket=f"{team.s3_bucket_name}-ro")
    reader = Bucket.from_config(
        bucket_config(tmp_path, s3.endpoint, f"{team.s3_bucket_name}-ro", identity="reader")
    )
    with pytest.raises(StorageError, match="access denied") as caught:
        ensure_public_policy(reader)
    assert "s3:PutBucketPolicy" in str(caught.value.hint)
