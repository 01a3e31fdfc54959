"""Configuration: the only module that reads the environment.

``HGLocalizationConfig`` takes its fields from keyword arguments, then ``HGLOC_*`` environment
variables, then a ``.env`` file in the working directory, then defaults. Secrets are
:class:`Secret` so they print as ``**********`` and never reach a log, a table or the store; every
configuration registers them with :mod:`hg_localization.redact`, which masks them in anything
shown. A token or key with a space or a control character in it (a pasted line break) is
refused, without being repeated in the message.

Every value is checked when the configuration is made (``with_overrides`` and
``dataclasses.replace`` too), every problem at once: a bad setting is an
:class:`InvalidInputError` that names the variable that was actually set (``HF_ENDPOINT`` when
that is where the value came from; the field's name for an argument). The checks are written
out rather than left to pydantic, whose import alone cost every command a third of a second
(bench/README.md, "start-up").

Every URL setting is checked whole (scheme, host, port, brackets around an IPv6 address).
``HF_ENDPOINT`` is also read by huggingface_hub when it is imported: :func:`check_environment`
checks it before that happens.

``HF_HUB_OFFLINE`` is read here too (``offline``), with huggingface_hub's rule for what counts
as set (``1``, ``ON``, ``YES``, ``TRUE``).

The Hub token is read from ``HF_TOKEN`` then ``HUGGING_FACE_HUB_TOKEN`` (huggingface_hub's own
precedence); when neither is set, huggingface_hub's stored login is used (``hf auth login``).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict, Unpack

import hg_localization.config_rules as rules
from hg_localization.config_rules import DEFAULT_HF_ENDPOINT, Secret, url_problem
from hg_localization.errors import InvalidInputError
from hg_localization.redact import redact, register_secret

__all__ = [
    "DEFAULT_HF_ENDPOINT",
    "DEFAULT_WEIGHTS_REPO_ID",
    "SERVE_OPTIONS_VARIABLE",
    "ConfigValues",
    "HGLocalizationConfig",
    "Secret",
    "ServeOptions",
    "check_environment",
    "load_config",
    "serve_options_from_environment",
    "url_problem",
]

DEFAULT_WEIGHTS_REPO_ID = "MASSIVEMAGNETICS/SongBloom-weights"


def _default_root() -> Path:
    from platformdirs import user_data_path  # imported here: only when no store path is set

    return user_data_path("hg-localization", appauthor=False)


class ConfigValues(TypedDict, total=False):
    """What :class:`HGLocalizationConfig` accepts for each field (text as the environment has it)."""

    models_store_path: str | os.PathLike[str]
    datasets_store_path: str | os.PathLike[str]
    hf_endpoint: str
    hf_token: str | Secret | None
    max_workers: int | str
    download_timeout: float | str
    offline: bool | str
    upstream_token: str | Secret | None
    s3_bucket_name: str | None
    s3_endpoint_url: str | None
    s3_data_prefix: str
    s3_region: str | None
    aws_access_key_id: str | None
    aws_secret_access_key: str | Secret | None
    public_url: str | None
    weights_repo_id: str
    serve_bucket_ttl: float | str
    serve_presign_expiry: int | str


@dataclass(frozen=True)
class _Rule:
    """How one field is read: its check (raises ``ValueError(reason)``), default and variables."""

    check: Callable[[Any], Any]
    default: Callable[[], Any]
    variables: tuple[str, ...] = ()


def _const(value: Any) -> Callable[[], Any]:
    return lambda: value


#: Every field, in order: the check that turns what was given into the field's value.
_RULES: dict[str, _Rule] = {
    "models_store_path": _Rule(rules.path, lambda: _default_root() / "models"),
    "datasets_store_path": _Rule(rules.path, lambda: _default_root() / "datasets"),
    "hf_endpoint": _Rule(
        rules.hub_endpoint, _const(DEFAULT_HF_ENDPOINT), ("HGLOC_HF_ENDPOINT", "HF_ENDPOINT")
    ),
    "hf_token": _Rule(rules.secret, _const(None), ("HGLOC_HF_TOKEN", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")),
    "max_workers": _Rule(rules.number(1, 64, whole=True), _const(8)),
    "download_timeout": _Rule(rules.number(0, 3600, above=True, unit="seconds"), _const(30.0)),
    "offline": _Rule(rules.switch, _const(False), ("HF_HUB_OFFLINE",)),
    "upstream_token": _Rule(rules.secret, _const(None)),
    "s3_bucket_name": _Rule(rules.optional_text, _const(None)),
    "s3_endpoint_url": _Rule(rules.s3_endpoint, _const(None)),
    "s3_data_prefix": _Rule(rules.prefix, _const("")),
    "s3_region": _Rule(rules.region, _const(None)),
    "aws_access_key_id": _Rule(rules.key_id, _const(None)),
    "aws_secret_access_key": _Rule(rules.secret, _const(None)),
    "public_url": _Rule(rules.optional_url, _const(None)),
    "weights_repo_id": _Rule(rules.text, _const(DEFAULT_WEIGHTS_REPO_ID)),
    "serve_bucket_ttl": _Rule(rules.number(0, 3600, unit="seconds"), _const(5.0)),
    "serve_presign_expiry": _Rule(rules.number(60, 7 * 24 * 3600, whole=True, unit="seconds"), _const(3600)),
}


@dataclass(frozen=True, init=False)
class HGLocalizationConfig:
    """Where the store lives, which Hub and bucket to talk to, and how.

    A field not given as an argument comes from the environment, then from ``./.env``: the
    ``HGLOC_<FIELD>`` variable, or the variables its rule lists (any case). Immutable: a changed
    copy is :meth:`with_overrides` (or ``dataclasses.replace``), checked like the original.
    """

    # --- the local store -------------------------------------------------------------------
    models_store_path: Path
    datasets_store_path: Path

    # --- the upstream Hub ------------------------------------------------------------------
    hf_endpoint: str
    hf_token: Secret | None = field(repr=False)
    max_workers: int
    #: Seconds without a byte from the Hub before a request fails (and is retried, a few times).
    download_timeout: float
    #: ``HF_HUB_OFFLINE=1``, as huggingface_hub reads it: no network at all (no Hub, no bucket);
    #: a download answers from the local store, or says it cannot.
    offline: bool
    #: The token ``serve --upstream`` sends upstream (else ``hf_token``); never a client's.
    upstream_token: Secret | None = field(repr=False)

    # --- the team bucket -------------------------------------------------------------------
    s3_bucket_name: str | None
    s3_endpoint_url: str | None
    s3_data_prefix: str
    s3_region: str | None
    aws_access_key_id: str | None
    aws_secret_access_key: Secret | None = field(repr=False)
    #: URL of the bucket's public folder, for anonymous readers
    #: (e.g. ``https://s3.example.com/bucket/<s3_data_prefix>/public``; see docs/bucket.md).
    public_url: str | None

    # --- weights ---------------------------------------------------------------------------
    weights_repo_id: str

    # --- serve --source bucket -------------------------------------------------------------
    #: Seconds a bucket listing or metadata object is served before it is checked again.
    serve_bucket_ttl: float
    #: Seconds the presigned URL of a ``--redirect`` answer stays valid.
    serve_presign_expiry: int

    def __init__(self, **values: Unpack[ConfigValues]) -> None:
        """Check every field (arguments, then the environment, then ``./.env``, then defaults).

        Raises :class:`InvalidInputError` naming each bad setting, never repeating a secret.
        """
        given: dict[str, Any] = dict(values)
        unknown = sorted(given.keys() - _RULES.keys())
        if unknown:
            raise TypeError(f"HGLocalizationConfig() got unexpected keyword arguments: {', '.join(unknown)}")
        raw, origins = _gather(given)
        checked: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        for name, rule in _RULES.items():
            try:
                checked[name] = rule.check(raw[name] if name in raw else rule.default())
            except ValueError as exc:
                problems.append((origins.get(name, name), str(exc)))
        if problems:
            raise _invalid(problems, given.keys())
        for name, value in checked.items():
            object.__setattr__(self, name, value)
        register_secret(self.token)
        register_secret(self.server_upstream_token)
        if self.aws_secret_access_key is not None:
            register_secret(self.aws_secret_access_key.get_secret_value())

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
        import hashlib  # here: OpenSSL's bindings cost commands without a bucket ~5 ms to import

        where = f"{self.s3_endpoint_url or 'aws'}|{self.s3_data_prefix}"
        digest = hashlib.sha256(where.encode()).hexdigest()[:12]
        return f"{self.s3_bucket_name}-{digest}"

    def with_overrides(self, **changes: Unpack[ConfigValues]) -> HGLocalizationConfig:
        """A copy with some fields changed (checked like the original; the environment is not read)."""
        values: dict[str, Any] = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        values.update(changes)
        return type(self)(**values)


def _variables(name: str) -> tuple[str, ...]:
    """A field's environment variables, in the order they are tried."""
    return _RULES[name].variables or (f"HGLOC_{name.upper()}",)


def _gather(given: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The value of each field that is set (an argument wins, then the environment, then ``.env``),
    and where each came from: the variable as it was spelled, or the argument's name."""
    raw = dict(given)
    origins = {name: name for name in given}
    for source in (_lowercase_keys(os.environ), _dotenv_values()):
        for name in _RULES:
            if name in raw:
                continue
            spelled, value = next(
                (source[v.lower()] for v in _variables(name) if v.lower() in source), ("", None)
            )
            if value is not None:
                raw[name], origins[name] = value, spelled
    return raw, origins


def _invalid(problems: list[tuple[str, str]], arguments: Collection[str]) -> InvalidInputError:
    """One error for every problem, each named as it was set: the variable, or the argument."""
    said = "; ".join(f"{where}: {reason}" for where, reason in problems)
    named = dict.fromkeys(where for where, _ in problems)
    variables = ", ".join(where for where in named if where not in arguments)
    given = ", ".join(where for where in named if where in arguments)
    hints = []
    if variables:
        hints.append(f"Fix or unset {variables} (in the environment or the .env file).")
    if given:
        hints.append(f"Fix the value of {given} given to HGLocalizationConfig(...).")
    return InvalidInputError(f"The configuration is not valid: {said}.", hint=" ".join(hints))


def _lowercase_keys(values: Mapping[str, str | None]) -> dict[str, tuple[str, str | None]]:
    return {key.lower(): (key, value) for key, value in values.items()}


def _dotenv_values(path: Path = Path(".env")) -> dict[str, tuple[str, str | None]]:
    """The variables of ``./.env`` (python-dotenv's syntax), keyed in lower case; none without one."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values  # imported here: most working directories have no .env

    return _lowercase_keys(dotenv_values(path, encoding="utf-8"))


def load_config(config: HGLocalizationConfig | None = None) -> HGLocalizationConfig:
    """The given config, or one read from the environment now; a bad setting is a clear error.

    Raises :class:`InvalidInputError` naming each bad variable (never repeating a secret).
    """
    check_environment()
    return config if config is not None else HGLocalizationConfig()


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


#: The environment variable ``serve --workers N`` hands its options to each worker process in.
SERVE_OPTIONS_VARIABLE = "HGLOC_SERVE_OPTIONS"


@dataclass(frozen=True)
class ServeOptions:
    """What ``hg-localization serve`` was asked to serve, as each of its worker processes needs it.

    The CLI writes it (JSON) into :data:`SERVE_OPTIONS_VARIABLE` before uvicorn starts the
    workers; each worker reads it back with :func:`serve_options_from_environment`.
    """

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
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        as_json = {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}
        return {SERVE_OPTIONS_VARIABLE: json.dumps(as_json)}

    @classmethod
    def from_json(cls, data: str) -> ServeOptions:
        """The options :meth:`environment` wrote (keys it does not know are ignored).

        Raises ``ValueError`` when ``data`` is not such a JSON object.
        """
        values = json.loads(data)
        if not isinstance(values, dict):
            raise ValueError("not a JSON object")
        known = {f.name: f.default for f in dataclasses.fields(cls)}
        given = {name: values.get(name, default) for name, default in known.items()}
        if given["source"] not in ("store", "bucket") or not all(
            isinstance(given[name], kind) for name, kind in _SERVE_OPTION_KINDS.items()
        ):
            raise ValueError("a value of the wrong kind")
        if not all(isinstance(glob, str) for glob in (*given["allow"], *given["deny"])):
            raise ValueError("a glob that is not text")
        return cls(
            **{
                **given,
                **{
                    name: Path(given[name]) if given[name] is not None else None
                    for name in _SERVE_OPTION_PATHS
                },
                "allow": tuple(given["allow"]),
                "deny": tuple(given["deny"]),
                "revalidate": float(given["revalidate"]),
            }
        )


_SERVE_OPTION_PATHS = ("repos", "tokens_file", "collections")
_SERVE_OPTION_KINDS: dict[str, type | tuple[type, ...]] = {
    **{name: (str, type(None)) for name in (*_SERVE_OPTION_PATHS, "upstream")},
    **dict.fromkeys(("follow_symlinks", "redirect", "access_log"), bool),
    **dict.fromkeys(("allow", "deny"), (list, tuple)),
    "revalidate": (int, float),
}


def serve_options_from_environment() -> ServeOptions:
    """The options the ``serve`` command set for its workers (InvalidInputError when absent or bad)."""
    value = os.environ.get(SERVE_OPTIONS_VARIABLE)
    if not value:
        raise InvalidInputError(
            f"{SERVE_OPTIONS_VARIABLE} is not set: this app is for the workers of `hg-localization serve`.",
            hint="Start the server with `hg-localization serve --workers N`.",
        )
    try:
        return ServeOptions.from_json(value)
    except ValueError:
        raise InvalidInputError(
            f"{SERVE_OPTIONS_VARIABLE} is not valid.", hint="Start the server with `hg-localization serve`."
        ) from None
