"""S3 clients (botocore's) for the team bucket, made from the configuration and nowhere else.

Credentials come from ``HGLocalizationConfig`` (``HGLOC_AWS_ACCESS_KEY_ID`` /
``HGLOC_AWS_SECRET_ACCESS_KEY``) when both are set; otherwise the standard AWS chain decides
(``AWS_PROFILE``, ``AWS_ACCESS_KEY_ID``…, ``~/.aws``, instance roles), so a team's existing AWS
set-up works unchanged. Anonymous readers get an UNSIGNED client: it never looks for credentials.

A custom endpoint (SeaweedFS, MinIO, Ceph…) gets path-style addressing, which every
S3-compatible server understands; AWS keeps boto3's defaults.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit, urlunsplit

import botocore.session
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import DataNotFoundError, PaginationError
from botocore.loaders import JSONFileLoader, Loader
from botocore.utils import parse_timestamp

from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import InvalidInputError, StorageError
from hg_localization.s3.keys import BucketKeys

if TYPE_CHECKING:
    from boto3.s3.transfer import TransferConfig
    from mypy_boto3_s3 import S3Client

#: Files at least this big are uploaded (and downloaded) in parts, several at a time.
MULTIPART_THRESHOLD = 64 * 1024 * 1024
#: boto3's and the aws CLI's part size: a 1 GiB file went up in 17.0–17.8 s in 8 MiB parts and
#: 19.4–20.1 s in 16 MiB parts (SeaweedFS, 3 alternating runs each). A file too big for 10,000
#: parts of it gets bigger parts (``multipart.plan_parts``).
MULTIPART_CHUNKSIZE = 8 * 1024 * 1024
#: Used when a custom endpoint is set without a region (botocore needs one to sign).
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class BucketLocation:
    """Which bucket, where, and under which prefix. Holds nothing secret: safe in any message."""

    bucket: str
    endpoint_url: str | None = None
    region: str | None = None
    keys: BucketKeys = field(default_factory=lambda: BucketKeys(""))

    def describe(self) -> str:
        path = f"s3://{self.bucket}/{self.keys.prefix}" if self.keys.prefix else f"s3://{self.bucket}"
        return f"{path} at {_without_userinfo(self.endpoint_url) if self.endpoint_url else 'AWS S3'}"

    def public_url(self) -> str:
        """The URL of the public folder, for anonymous readers (path-style on custom endpoints)."""
        root = self.keys.public_root.rstrip("/")
        if self.endpoint_url:
            return f"{self.endpoint_url.rstrip('/')}/{self.bucket}/{root}"
        region = self.region or DEFAULT_REGION
        return f"https://{self.bucket}.s3.{region}.amazonaws.com/{root}"


def bucket_location(config: HGLocalizationConfig) -> BucketLocation:
    if not config.s3_bucket_name:
        raise InvalidInputError(
            "No team bucket is configured.",
            hint="Set HGLOC_S3_BUCKET_NAME (and HGLOC_S3_ENDPOINT_URL for a non-AWS server); "
            "see docs/bucket.md.",
        )
    return BucketLocation(
        bucket=config.s3_bucket_name,
        endpoint_url=config.s3_endpoint_url,
        region=config.s3_region,
        keys=BucketKeys(config.s3_data_prefix),
    )


def secret_of(config: HGLocalizationConfig) -> str | None:
    """The secret key, only so that error messages can be scrubbed of it."""
    return config.aws_secret_access_key.get_secret_value() if config.aws_secret_access_key else None


def make_client(config: HGLocalizationConfig) -> S3Client:
    """A signed client: the configured keys, else the standard AWS credential chain."""
    key_id = config.aws_access_key_id
    secret = secret_of(config)
    if bool(key_id) != bool(secret):
        raise InvalidInputError(
            "Only one of HGLOC_AWS_ACCESS_KEY_ID and HGLOC_AWS_SECRET_ACCESS_KEY is set.",
            hint="Set both, or neither to use the standard AWS chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, …).",
        )
    botocore_config = _botocore_config(config.s3_endpoint_url, config.max_workers)
    return _client(
        config.s3_endpoint_url,
        _region(config.s3_region, config.s3_endpoint_url),
        botocore_config,
        secret=secret,
        key_id=key_id or None,
    )


def anonymous_client(endpoint_url: str | None, region: str | None = None) -> S3Client:
    """An UNSIGNED client: what anyone without credentials can do."""
    cfg = _botocore_config(endpoint_url, 4).merge(Config(signature_version=UNSIGNED))
    return _client(endpoint_url, _region(region, endpoint_url), cfg)


def _botocore_session() -> botocore.session.Session:
    """botocore's session, its answers' timestamps read by :func:`fast_timestamp`, its data read
    by an :class:`S3DataLoader`.

    A LIST of 1,000 keys has 1,000 ``LastModified`` values, and botocore's default parser
    (dateutil) spent most of a no-change sync's LIST on them.
    """
    session = botocore.session.get_session()
    session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=fast_timestamp)
    loader = S3DataLoader.for_data_path(session.get_config_variable("data_path"))
    session.register_component("data_loader", loader)
    return session


class PlainJSONFileLoader(JSONFileLoader):
    """botocore's JSON file loader, its objects read as plain dicts rather than ``OrderedDict``.

    botocore asks :func:`json.loads` for an ``OrderedDict`` per JSON object, a Python call for
    each of the 20,000 objects of its endpoint list and the S3 model: reading them took twice
    as long. A dict keeps its order too, and botocore only reads these data.
    """

    #: The files botocore looks for, in its order (``botocore.loaders._JSON_OPEN_METHODS``).
    OPENERS: tuple[tuple[str, Callable[..., Any]], ...] = ((".json", open), (".json.gz", gzip.open))

    def load_file(self, file_path: str) -> Any:
        for extension, opener in self.OPENERS:
            if os.path.isfile(file_path + extension):
                with opener(file_path + extension, "rb") as handle:
                    return json.loads(handle.read().decode("utf-8"))
        return None


class S3DataLoader(Loader):
    """botocore's data loader (the same search paths, files and caching), for S3 clients only.

    Making a client, botocore checks that the service is one it knows by listing every service
    it knows: a scan of some 450 folders, once for the service model and once for its endpoint
    rules, a fifth of the client's making and a twentieth of a sync with nothing to send. Only
    S3 clients are made here, so only S3 is looked for (in the same places, for the same file).
    """

    SERVICE = "s3"

    @classmethod
    def for_data_path(cls, data_path: str | None) -> S3DataLoader:
        """As :func:`botocore.loaders.create_loader`: ``AWS_DATA_PATH``'s folders searched first."""
        paths = (data_path or "").split(os.pathsep)
        folders = [os.path.expanduser(os.path.expandvars(path)) for path in paths if path]
        return cls(extra_search_paths=folders or None, file_loader=PlainJSONFileLoader())

    def list_available_services(self, type_name: str) -> list[str]:
        try:
            self.list_api_versions(self.SERVICE, type_name)
        except DataNotFoundError:
            return []
        return [self.SERVICE]


def fast_timestamp(value: str) -> datetime:
    """What botocore's parser returns for an S3 timestamp, ISO 8601 ones read by the standard library.

    A LIST's ``2026-11-29T13:27:33.000Z`` is read by :meth:`datetime.fromisoformat` (in UTC, as
    botocore makes it); anything else (a header's RFC 822 date, an epoch) by botocore's own parser.
    """
    if isinstance(value, str) and value.endswith("Z"):
        try:
            return datetime.fromisoformat(value).astimezone(UTC)
        except ValueError:
            pass
    parsed: datetime = parse_timestamp(value)
    return parsed


def _client(
    endpoint_url: str | None,
    region: str | None,
    cfg: Config,
    *,
    secret: str | None = None,
    key_id: str | None = None,
) -> S3Client:
    """The S3 client; a malformed endpoint URL is a StorageError that says what it must look like.

    Made by botocore itself, not through boto3: a boto3 session adds only its resource API and
    ``upload_file``-style methods (none used here), and importing boto3 (its resources, s3transfer)
    cost a third of a sync with nothing to send. Without keys, botocore's session follows the
    standard AWS chain exactly as boto3's does (boto3 hands it over).

    (botocore accepts any scheme when the client is made, and fails at the first request;
    without one it raises a bare ValueError.)
    """
    if endpoint_url is None or urlsplit(endpoint_url).scheme.lower() in ("http", "https"):
        try:
            client = _botocore_session().create_client(
                "s3",
                region_name=region,
                endpoint_url=endpoint_url,
                aws_access_key_id=key_id,
                aws_secret_access_key=secret if key_id else None,
                config=cfg,
            )
            return cast("S3Client", client)
        except ValueError as exc:  # "Invalid endpoint: http://" (no host), for instance
            if endpoint_url is None or not str(exc).startswith("Invalid endpoint"):
                raise
    shown = _shown_endpoint(endpoint_url or "")
    if secret:
        shown = shown.replace(secret, "**********")
    raise StorageError(
        f"The S3 endpoint URL '{shown}' is not valid: it must start with http:// or https://, "
        "followed by the server's host (and port), e.g. http://localhost:8333.",
        hint="Check HGLOC_S3_ENDPOINT_URL (leave it unset for AWS S3).",
    )


@dataclass(frozen=True)
class TransferSettings:
    """How files move: big ones in parts of ``multipart_chunksize``, ``max_request_concurrency``
    requests at once. boto3's own ``TransferConfig`` is made from it only when its transfer manager
    is used (:meth:`boto3_config`): a sync with nothing to send never imports boto3."""

    multipart_threshold: int
    multipart_chunksize: int
    max_request_concurrency: int

    def boto3_config(self) -> TransferConfig:
        from boto3.s3.transfer import TransferConfig  # (boto3: only when something is transferred)

        return TransferConfig(
            multipart_threshold=self.multipart_threshold,
            multipart_chunksize=self.multipart_chunksize,
            max_concurrency=self.max_request_concurrency,
            use_threads=True,
            preferred_transfer_client="classic",  # the same code path everywhere, awscrt installed or not
        )


#: Where the next page of each listing starts, for :func:`pages`.
NEXT_OBJECTS = {"NextContinuationToken": "ContinuationToken"}
NEXT_UPLOADS = {"NextKeyMarker": "KeyMarker", "NextUploadIdMarker": "UploadIdMarker"}
NEXT_PARTS = {"NextPartNumberMarker": "PartNumberMarker"}


def pages(
    call: Callable[..., Mapping[str, Any]], tokens: Mapping[str, str], **params: Any
) -> Iterator[Mapping[str, Any]]:
    """Each page of a listing: ``call(**params)``, then again from where the page before ended.

    What botocore's paginators do for the S3 listings (``IsTruncated`` says whether there is
    more; ``tokens`` maps each answer field naming where the next page starts to the request
    parameter that takes it), without loading their model: the paginator data and the scan of
    every service botocore knows that finds it were a tenth of a sync with nothing to send.
    """
    request = dict(params)
    previous: dict[str, Any] | None = None
    while True:
        page = call(**request)
        yield page
        if not page.get("IsTruncated"):
            return
        following = {parameter: page.get(field) for field, parameter in tokens.items()}
        if all(value is None for value in following.values()):
            return
        if following == previous:  # (the server would send the same page forever)
            raise PaginationError(message=f"The same next token was received twice: {following}")
        for parameter, value in following.items():
            if value is not None:
                request[parameter] = value
            else:
                request.pop(parameter, None)
        previous = following


def transfer_config(max_workers: int) -> TransferSettings:
    """Big files in parts, ``max_workers`` transfers at once."""
    return TransferSettings(
        multipart_threshold=MULTIPART_THRESHOLD,
        multipart_chunksize=MULTIPART_CHUNKSIZE,
        max_request_concurrency=max_workers,
    )


def _without_userinfo(url: str) -> str:
    """``http://user:pass@host`` → ``http://***@host``: an endpoint URL is shown, its password never."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


def _shown_endpoint(url: str) -> str:
    """An endpoint URL as it may be shown, even a malformed one: ``user:pass@`` is never shown."""
    if "://" in url:
        return _without_userinfo(url)
    return "***@" + url.rsplit("@", 1)[1] if "@" in url else url


def _region(region: str | None, endpoint_url: str | None) -> str | None:
    if region:
        return region
    return DEFAULT_REGION if endpoint_url else None


def _botocore_config(endpoint_url: str | None, max_workers: int) -> Config:
    return Config(
        s3={"addressing_style": "path"} if endpoint_url else {},
        connect_timeout=5,
        read_timeout=60,
        retries={"max_attempts": 4, "mode": "standard"},
        max_pool_connections=max(10, 2 * max_workers),
        user_agent_extra="hg-localization",
    )
