"""Configuration: the only module that reads the environment.

``HGLocalizationConfig`` takes its fields from keyword arguments, then ``HGLOC_*`` environment
variables, then a ``.env`` file in the working directory, then defaults. Secrets are
``SecretStr`` so they print as ``**********`` and never reach a log, a table or the store; every
configuration registers them with :mod:`hg_localization.redact`, which masks them in anything
shown. A token or key with a space or a control character in it (a pasted line break) is
refused, without being repeated in the message.

Every URL setting is checked whole (scheme, host, port, brackets around an IPv6 address), and a
bad setting is an :class:`InvalidInputError` that names the variable that was actually set
(``HF_ENDPOINT`` when that is where the value came from). ``HF_ENDPOINT`` is also read by
huggingface_hub when it is imported: :func:`check_environment` checks it before that happens.

``HF_HUB_OFFLINE`` is read here too (``offline``), with huggingface_hub's rule for what counts
as set (``1``, ``ON``, ``YES``, ``TRUE``).

The Hub token is read from ``HF_TOKEN`` then ``HUGGING_FACE_HUB_TOKEN`` (huggingface_hub's own
precedence); when neither is set, huggingface_hub's stored login is used (``hf auth login``).
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from hg_localization.errors import InvalidInputError
from hg_localization.redact import redact, register_secret

DEFAULT_HF_ENDPOINT = "https://huggingface.co"
DEFAULT_WEIGHTS_REPO_ID = "MASSIVEMAGNETICS/SongBloom-weights"


def _default_root() -> Path:
    from platformdirs import user_data_path  # imported here: only when no store path is set

    return user_data_path("hg-localization", appauthor=False)


class HGLocalizationConfig(BaseModel):
    """Where the store lives, which Hub and bucket to talk to, and how.

    A field not given as an argument comes from the environment, then from ``./.env``: the
    ``HGLOC_<FIELD>`` variable, or the names its ``validation_alias`` lists (any case), as
    pydantic-settings read them. Read here rather than by pydantic-settings, whose import cost
    every command line a tenth of a second (bench/README.md, "start-up").
    """

    model_config = ConfigDict(
        extra="ignore",
        populate_by_name=True,
        validate_default=True,
        hide_input_in_errors=True,  # a ValidationError never repeats a token or a URL's password
    )

    # --- the local store -------------------------------------------------------------------
    models_store_path: Path = Field(default_factory=lambda: _default_root() / "models")
    datasets_store_path: Path = Field(default_factory=lambda: _default_root() / "datasets")

    # --- the upstream Hub ------------------------------------------------------------------
    hf_endpoint: str = Field(
        default=DEFAULT_HF_ENDPOINT,
        validation_alias=AliasChoices("HGLOC_HF_ENDPOINT", "HF_ENDPOINT"),
    )
    hf_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("HGLOC_HF_TOKEN", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"),
        repr=False,
    )
    max_workers: int = Field(default=8, ge=1, le=64)
    #: Seconds without a byte from the Hub before a request fails (and is retried, a few times).
    download_timeout: float = Field(default=30.0, gt=0, le=3600)
    #: ``HF_HUB_OFFLINE=1``, as huggingface_hub reads it: no network at all (no Hub, no bucket);
    #: a download answers from the local store, or says it cannot.
    offline: bool = Field(default=False, validation_alias=AliasChoices("HF_HUB_OFFLINE"))
    #: The token ``serve --upstream`` sends upstream (else ``hf_token``); never a client's.
    upstream_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("HGLOC_UPSTREAM_TOKEN"), repr=False
    )

    # --- the team bucket -------------------------------------------------------------------
    s3_bucket_name: str | None = None
    s3_endpoint_url: str | None = None
    s3_data_prefix: str = ""
    s3_region: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: SecretStr | None = Field(default=None, repr=False)
    #: URL of the bucket's public folder, for anonymous readers
    #: (e.g. ``https://s3.example.com/bucket/<s3_data_prefix>/public``; see docs/bucket.md).
    public_url: str | None = None

    # --- weights ---------------------------------------------------------------------------
    weights_repo_id: str = DEFAULT_WEIGHTS_REPO_ID

    # --- serve --source bucket -------------------------------------------------------------
    #: Seconds a bucket listing or metadata object is served before it is checked again.
    serve_bucket_ttl: float = Field(default=5.0, ge=0, le=3600)
    #: Seconds the presigned URL of a ``--redirect`` answer stays valid.
    serve_presign_expiry: int = Field(default=3600, ge=60, le=7 * 24 * 3600)

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for source in (_lowercase_keys(os.environ), _dotenv_values()):
            for field, names in _variable_names().items():
                if field in merged or any(name in data for name in names):
                    continue  # an argument (by name or alias) wins, then the environment, then .env
                value = next((source[n.lower()] for n in names if n.lower() in source), None)
                if value is not None:
                    merged[field] = value
        return merged

    @field_validator("hf_endpoint")
    @classmethod
    def _strip_endpoint(cls, value: str) -> str:
        return value.rstrip("/") or DEFAULT_HF_ENDPOINT

    @field_validator("hf_endpoint", "s3_endpoint_url", "public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value:
            problem = url_problem(value)
            if problem:
                raise ValueError(f"{redact(value)!r} {problem}")
        return value

    @field_validator("s3_endpoint_url")
    @classmethod
    def _s3_host(cls, value: str | None) -> str | None:
        # botocore's own rule: a DNS name (letters, digits, '-', '.') or an IP address.
        host = urlsplit(value).hostname if value else None
        if host and not (_DNS_NAME_RE.match(host.rstrip(".")) or _is_ip_address(host)):
            raise ValueError(f"{redact(value or '')!r} has a host name S3 clients refuse ({host!r})")
        return value

    @field_validator(
        "hf_token", "upstream_token", "aws_secret_access_key", "aws_access_key_id", mode="before"
    )
    @classmethod
    def _no_blanks(cls, value: Any) -> Any:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, str) and _BLANK_OR_CONTROL_RE.search(text):
            raise ValueError(
                "contains a space, a line break or another control character (a copy-paste slip?); "
                "it was not used"
            )
        return value

    @field_validator("offline", mode="before")
    @classmethod
    def _hub_truthy(cls, value: Any) -> Any:
        # huggingface_hub's rule: 1, ON, YES or TRUE (any case) is set; any other text is not.
        if isinstance(value, str):
            return value.strip().upper() in {"1", "ON", "YES", "TRUE"}
        return value

    @field_validator("s3_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value and not _REGION_RE.match(value):
            raise ValueError(f"{value[:80]!r} is not a region name (letters, digits and '-', e.g. us-east-1)")
        return value

    @model_validator(mode="after")
    def _register_secrets(self) -> HGLocalizationConfig:
        register_secret(self.token)
        register_secret(self.server_upstream_token)
        if self.aws_secret_access_key is not None:
            register_secret(self.aws_secret_access_key.get_secret_value())
        return self

    @field_validator("s3_data_prefix")
    @classmethod
    def _normalise_prefix(cls, value: str) -> str:
        return value.strip("/")

    @field_validator("s3_bucket_name", "s3_endpoint_url", "public_url", "aws_access_key_id", "s3_region")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("models_store_path", "datasets_store_path")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return Path(value).expanduser()

    # --- derived ---------------------------------------------------------------------------
    @property
    def token(self) -> str | None:
        """The Hub token from the environment, or None (huggingface_hub then tries the stored login)."""
        return self.hf_token.get_secret_value() if self.hf_token else None

    @property
    def server_upstream_token(self) -> str | None:
        """The token a pull-through server uses upstream: ``HGLOC_UPSTREAM_TOKEN``, else the Hub token."""
        return self.upstream_token.get_secret_value() if self.upstream_token else self.token

    @property
    def bucket_id(self) -> str | None:
        """The store folder name for the configured bucket: its name and a short hash of where it is.

        Two endpoints, or two prefixes in one bucket, never share a folder.
        """
        if not self.s3_bucket_name:
            return None
        where = f"{self.s3_endpoint_url or 'aws'}|{self.s3_data_prefix}"
        digest = hashlib.sha256(where.encode()).hexdigest()[:12]
        return f"{self.s3_bucket_name}-{digest}"

    def with_overrides(self, **changes: Any) -> HGLocalizationConfig:
        """A copy with some fields changed (validated like the original)."""
        data = self.model_dump()
        data.update(changes)
        for key in ("hf_token", "upstream_token", "aws_secret_access_key"):
            value = data.get(key)
            if isinstance(value, SecretStr):
                data[key] = value.get_secret_value()
        return type(self)(**data)


def _variable_names() -> dict[str, list[str]]:
    """Each field's environment variables, in the order they are tried."""
    names: dict[str, list[str]] = {}
    for field, info in HGLocalizationConfig.model_fields.items():
        alias = info.validation_alias
        choices = [str(a) for a in alias.choices] if isinstance(alias, AliasChoices) else []
        names[field] = choices or [f"HGLOC_{field.upper()}"]
    return names


def _lowercase_keys(values: Mapping[str, str | None]) -> dict[str, str | None]:
    return {key.lower(): value for key, value in values.items()}


def _dotenv_values(path: Path = Path(".env")) -> dict[str, str | None]:
    """The variables of ``./.env`` (python-dotenv's syntax), names in lower case; none without one."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values  # imported here: most working directories have no .env

    return _lowercase_keys(dotenv_values(path, encoding="utf-8"))


def load_config(config: HGLocalizationConfig | None = None) -> HGLocalizationConfig:
    """The given config, or one read from the environment now; a bad setting is a clear error.

    Raises :class:`InvalidInputError` naming each bad variable (never repeating a secret).
    """
    check_environment()
    if config is not None:
        return config
    try:
        return HGLocalizationConfig()
    except ValidationError as exc:
        named = [(_variable_of(e["loc"]), _reason(e["msg"])) for e in exc.errors(include_input=False)]
        problems = "; ".join(f"{name}: {reason}" for name, reason in named)
        variables = ", ".join(dict.fromkeys(name for name, _ in named))
        raise InvalidInputError(
            f"The configuration is not valid: {problems}.",
            hint=f"Fix or unset {variables} (in the environment or the .env file).",
        ) from None


#: The environment variable ``serve --workers N`` hands its options to each worker process in.
SERVE_OPTIONS_VARIABLE = "HGLOC_SERVE_OPTIONS"


class ServeOptions(BaseModel):
    """What ``hg-localization serve`` was asked to serve, as each of its worker processes needs it.

    The CLI writes it (JSON) into :data:`SERVE_OPTIONS_VARIABLE` before uvicorn starts the
    workers; each worker reads it back with :func:`serve_options_from_environment`.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    source: Literal["store", "bucket"] = "store"
    repos: Path | None = None
    tokens_file: Path | None = None
    follow_symlinks: bool = False
    redirect: bool = False
    #: ``--upstream URL``: pull through from this Hub on a miss (``--allow``/``--deny`` globs).
    upstream: str | None = None
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    revalidate: float = 300.0
    access_log: bool = True
    #: ``--collections FILE``: the manifest whose collections the web catalog shows (None: none).
    collections: Path | None = None

    def environment(self) -> dict[str, str]:
        return {SERVE_OPTIONS_VARIABLE: self.model_dump_json()}


def serve_options_from_environment() -> ServeOptions:
    """The options the ``serve`` command set for its workers (InvalidInputError when absent or bad)."""
    value = os.environ.get(SERVE_OPTIONS_VARIABLE)
    if not value:
        raise InvalidInputError(
            f"{SERVE_OPTIONS_VARIABLE} is not set: this app is for the workers of `hg-localization serve`.",
            hint="Start the server with `hg-localization serve --workers N`.",
        )
    try:
        return ServeOptions.model_validate_json(value)
    except ValidationError:
        raise InvalidInputError(
            f"{SERVE_OPTIONS_VARIABLE} is not valid.", hint="Start the server with `hg-localization serve`."
        ) from None


def check_environment() -> None:
    """Refuse a bad ``HF_ENDPOINT`` before huggingface_hub is imported (which reads it, and fails).

    Checked even when ``HGLOC_HF_ENDPOINT`` is set, since huggingface_hub reads ``HF_ENDPOINT``.
    """
    value = os.environ.get("HF_ENDPOINT")
    problem = url_problem(value) if value else None
    if problem:
        raise InvalidInputError(
            f"The configuration is not valid: HF_ENDPOINT: {redact(value or '')!r} {problem}.",
            hint="Fix or unset HF_ENDPOINT: huggingface_hub reads it, even when HGLOC_HF_ENDPOINT is set.",
        )


def url_problem(value: str) -> str | None:
    """What is wrong with an ``http(s)://host[:port]`` setting, in words; None when it is fine."""
    if not value.startswith(("http://", "https://")):
        return "must start with http:// or https://"
    if _BLANK_OR_CONTROL_RE.search(value):
        return "contains a space or a control character"
    try:
        parts = urlsplit(value)
    except ValueError:
        return "is not a valid URL (an IPv6 address goes in brackets: http://[::1]:8000)"
    if not parts.hostname:
        return "has no host name (e.g. http://localhost:8000; an IPv6 address goes in brackets)"
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        return "has a port that is not a number from 0 to 65535"
    return None


_BLANK_OR_CONTROL_RE = re.compile(r"[\s\x00-\x1f\x7f]")
_REGION_RE = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")
_DNS_NAME_RE = re.compile(r"^((?!-)[A-Z\d-]{1,63}(?<!-)\.)*((?!-)[A-Z\d-]{1,63}(?<!-))$", re.IGNORECASE)


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _variable_of(loc: tuple[int | str, ...]) -> str:
    """The environment variable a bad value came from (the one that is set), else its main name."""
    key = str(loc[0]) if loc else ""
    for field, names in _variable_names().items():
        if key == field or key.upper() in (n.upper() for n in names):
            return next((n for n in names if n in os.environ), names[0])
    return key


def _reason(message: str) -> str:
    return message.removeprefix("Value error, ")
