"""Configuration: the only module that reads the environment.

``HGLocalizationConfig`` takes its fields from keyword arguments, then ``HGLOC_*`` environment
variables, then a ``.env`` file in the working directory, then defaults. Secrets are
``SecretStr`` so they print as ``**********`` and never reach a log, a table or the store.

The Hub token is read from ``HF_TOKEN`` then ``HUGGING_FACE_HUB_TOKEN`` (huggingface_hub's own
precedence); when neither is set, huggingface_hub's stored login is used (``hf auth login``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from platformdirs import user_data_path
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hg_localization.errors import InvalidInputError
from hg_localization.redact import url_without_userinfo

DEFAULT_HF_ENDPOINT = "https://huggingface.co"
DEFAULT_WEIGHTS_REPO_ID = "MASSIVEMAGNETICS/SongBloom-weights"


def _default_root() -> Path:
    return user_data_path("hg-localization", appauthor=False)


class HGLocalizationConfig(BaseSettings):
    """Where the store lives, which Hub and bucket to talk to, and how."""

    model_config = SettingsConfigDict(
        env_prefix="HGLOC_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        validate_default=True,
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

    @field_validator("hf_endpoint")
    @classmethod
    def _strip_endpoint(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("hf_endpoint", "s3_endpoint_url", "public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"{url_without_userinfo(value)!r} must start with http:// or https://")
        return value

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
        for key in ("hf_token", "aws_secret_access_key"):
            value = data.get(key)
            if isinstance(value, SecretStr):
                data[key] = value.get_secret_value()
        return type(self)(**data)


def load_config(config: HGLocalizationConfig | None = None) -> HGLocalizationConfig:
    """The given config, or one read from the environment now; a bad setting is a clear error."""
    if config is not None:
        return config
    try:
        return HGLocalizationConfig()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise InvalidInputError(
            f"The configuration is not valid: {problems}",
            hint="Check the HGLOC_* environment variables and the .env file.",
        ) from None
