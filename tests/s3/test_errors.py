"""boto3's errors become StorageError at one boundary: endpoint and bucket named, secrets never."""

from __future__ import annotations

from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from hg_localization.s3.client import BucketLocation
from hg_localization.s3.errors import BucketUnreachableError, is_not_found, is_precondition_failed, translate
from hg_localization.s3.keys import BucketKeys

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
