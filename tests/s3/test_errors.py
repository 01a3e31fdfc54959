"""boto3's errors become StorageError at one boundary: endpoint and bucket named, secrets never."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import StorageError
from hg_localization.s3.client import NEXT_OBJECTS, NEXT_UPLOADS, BucketLocation, make_client, pages
from hg_localization.s3.errors import (
    BucketUnreachableError,
    bucket_errors,
    foreign_errors,
    is_not_found,
    is_precondition_failed,
    translate,
)
from hg_localization.s3.keys import BucketKeys

from helpers.cli import run

WHERE = BucketLocation("team-bucket", "http://s3.internal:8333", keys=BucketKeys("team"))


def client_error(code: str, message: str = "boom") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "PutObject")


def test_denied_names_the_bucket_and_what_to_check() -> None:
    error = translate(client_error("AccessDenied"), WHERE, "upload 'config.json' to")
    assert error.message == (
        "Could not upload 'config.json' to s3://team-bucket/team at http://s3.internal:8333: "
        "access denied (AccessDenied)."
    )
    assert "HGLOC_AWS_ACCESS_KEY_ID" in str(error.hint)


def test_unreachable_and_missing_credentials_stop_a_sync_of_everything() -> None:
    unreachable = translate(EndpointConnectionError(endpoint_url="http://s3.internal:8333"), WHERE, "list")
    assert isinstance(unreachable, BucketUnreachableError) and "cannot be reached" in unreachable.message
    assert isinstance(translate(NoCredentialsError(), WHERE, "list"), BucketUnreachableError)


def test_a_secret_that_reaches_a_message_is_scrubbed() -> None:
    error = translate(client_error("Weird", "echo of s3cr3t-value"), WHERE, "list", secret="s3cr3t-value")
    assert "s3cr3t-value" not in str(error) and "**********" in error.message


def test_facts_callers_branch_on() -> None:
    assert is_not_found(client_error("NoSuchKey")) and is_not_found(client_error("404"))
    assert is_precondition_failed(client_error("PreconditionFailed"))
    assert not is_not_found(client_error("AccessDenied"))


@pytest.mark.parametrize("endpoint", ["localhost:8333", "ftp://s3.internal", "http://"])
def test_a_malformed_endpoint_url_says_what_it_must_look_like(tmp_path: Path, endpoint: str) -> None:
    config = HGLocalizationConfig(models_store_path=tmp_path, s3_bucket_name="team-bucket")
    bad = copy.copy(config)
    object.__setattr__(bad, "s3_endpoint_url", endpoint)  # unchecked (however the configuration got it)
    with pytest.raises(StorageError) as caught:
        make_client(bad)
    assert f"The S3 endpoint URL '{endpoint}' is not valid: it must start with http:// or https://" in str(
        caught.value
    )
    assert "HGLOC_S3_ENDPOINT_URL" in str(caught.value.hint)


def test_a_malformed_endpoint_url_never_shows_a_password(tmp_path: Path) -> None:
    config = HGLocalizationConfig(models_store_path=tmp_path, s3_bucket_name="team-bucket")
    bad = copy.copy(config)
    object.__setattr__(bad, "s3_endpoint_url", "admin:pa55word@localhost:8333")  # unchecked
    with pytest.raises(StorageError) as caught:
        make_client(bad)
    assert "pa55word" not in str(caught.value) and "'***@localhost:8333'" in caught.value.message


@pytest.mark.parametrize("command", [["list-s3-models"], ["download-model", "org/model"]])
def test_the_cli_reports_a_malformed_endpoint_url_instead_of_an_unexpected_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    monkeypatch.setenv("HGLOC_MODELS_STORE_PATH", str(tmp_path / "models"))
    monkeypatch.setenv("HGLOC_S3_BUCKET_NAME", "team-bucket")
    monkeypatch.setenv("HGLOC_S3_ENDPOINT_URL", "localhost:8333")
    code, _, err = run(capsys, *command)
    assert code != 0 and code != 1, err
    assert "Unexpected error" not in err
    assert "localhost:8333" in err and "http://" in err


def test_transfer_errors_are_ours_to_translate_once_the_transfer_manager_is_loaded() -> None:
    """boto3 and s3transfer are imported only by transfers; their errors are caught from then on
    (a sync with nothing to send never imports them, and so can never meet one)."""
    from s3transfer.exceptions import RetriesExceededError, S3UploadFailedError

    from hg_localization.s3 import managed  # noqa: F401 (what a transfer loads)

    assert {S3UploadFailedError, RetriesExceededError} <= set(foreign_errors())
    error = translate(RetriesExceededError(ValueError("reset")), WHERE, "upload 'x' to")
    assert isinstance(error, BucketUnreachableError)


def test_listings_follow_every_page_and_stop_on_a_server_that_repeats_itself() -> None:
    answers = {
        None: {"IsTruncated": True, "NextContinuationToken": "b", "Contents": [1]},
        "b": {"IsTruncated": True, "NextContinuationToken": "c", "Contents": [2]},
        "c": {"IsTruncated": False, "NextContinuationToken": "ignored", "Contents": [3]},
    }
    asked: list[dict[str, Any]] = []

    def listing(**params: Any) -> dict[str, Any]:
        asked.append(params)
        return answers[params.get("ContinuationToken")]

    listed = pages(listing, NEXT_OBJECTS, Bucket="b", Prefix="p/")
    assert [item for page in listed for item in page["Contents"]] == [1, 2, 3]
    assert asked[0] == {"Bucket": "b", "Prefix": "p/"} and asked[2]["ContinuationToken"] == "c"

    def stuck(**params: Any) -> dict[str, Any]:
        return {"IsTruncated": True, "NextKeyMarker": "k", "NextUploadIdMarker": None}

    with pytest.raises(StorageError, match="same next token"), bucket_errors(WHERE, "list uploads in"):
        list(pages(stuck, NEXT_UPLOADS, Bucket="b"))
