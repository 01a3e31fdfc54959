"""Configuration: fields, HGLOC_* variables, token precedence, secrets that hide themselves."""

import dataclasses
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from hg_localization.cli import main
from hg_localization.config import (
    SERVE_OPTIONS_VARIABLE,
    HGLocalizationConfig,
    Secret,
    ServeOptions,
    load_config,
    serve_options_from_environment,
)
from hg_localization.errors import InvalidInputError


def test_defaults_live_in_the_user_data_folder_not_the_package() -> None:
    config = HGLocalizationConfig()
    assert "site-packages" not in str(config.models_store_path)
    assert config.models_store_path.name == "models"
    assert config.datasets_store_path.name == "datasets"


def test_environment_variables_configure_the_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HGLOC_MODELS_STORE_PATH", str(tmp_path / "m"))
    monkeypatch.setenv("HGLOC_S3_BUCKET_NAME", "team-models")
    monkeypatch.setenv("HGLOC_S3_DATA_PREFIX", "/ml/")
    config = HGLocalizationConfig()
    assert config.models_store_path == tmp_path / "m"
    assert config.s3_bucket_name == "team-models"
    assert config.s3_data_prefix == "ml"


def test_keyword_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HGLOC_MODELS_STORE_PATH", str(tmp_path / "env"))
    assert HGLocalizationConfig(models_store_path=tmp_path / "arg").models_store_path == tmp_path / "arg"


def test_hf_token_wins_over_the_legacy_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", "legacy-token")
    assert HGLocalizationConfig().token == "legacy-token"
    monkeypatch.setenv("HF_TOKEN", "new-token")
    assert HGLocalizationConfig().token == "new-token"


def test_secrets_never_show_in_repr_or_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_supersecret")
    monkeypatch.setenv("HGLOC_AWS_SECRET_ACCESS_KEY", "aws-supersecret")
    config = HGLocalizationConfig()
    shown = repr(config) + str(config) + json.dumps(dataclasses.asdict(config), default=str)
    assert "hf_supersecret" not in shown
    assert "aws-supersecret" not in shown


def test_bucket_id_separates_endpoints_and_prefixes() -> None:
    a = HGLocalizationConfig(s3_bucket_name="b", s3_endpoint_url="http://one")
    b = HGLocalizationConfig(s3_bucket_name="b", s3_endpoint_url="http://two")
    c = HGLocalizationConfig(s3_bucket_name="b", s3_endpoint_url="http://one", s3_data_prefix="p")
    assert len({a.bucket_id, b.bucket_id, c.bucket_id}) == 3
    assert a.bucket_id is not None and a.bucket_id.startswith("b-")
    assert HGLocalizationConfig().bucket_id is None


@pytest.mark.parametrize("variable", ["HGLOC_S3_ENDPOINT_URL", "HGLOC_HF_ENDPOINT", "HGLOC_PUBLIC_URL"])
def test_an_endpoint_without_a_scheme_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "localhost:8333")
    with pytest.raises(InvalidInputError, match="must start with http:// or https://"):
        load_config()


def test_the_cli_reports_a_bad_setting_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HGLOC_MAX_WORKERS", "lots")
    assert main(["list-local-models"]) == 2
    err = capsys.readouterr().err
    assert "HGLOC_MAX_WORKERS" in err and "Traceback" not in err


# --- URL settings: checked whole, named as they were set ---------------------------------------------


def test_a_bad_hf_endpoint_is_reported_before_huggingface_hub_fails_on_it(tmp_path: Path) -> None:
    """huggingface_hub reads HF_ENDPOINT when it is imported: every command used to die in a traceback."""
    env = {**os.environ, "HF_ENDPOINT": "http://127.0.0.1:99999", "HGLOC_MODELS_STORE_PATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "hg_localization.cli", "list-local-models"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert (
        "HF_ENDPOINT: 'http://127.0.0.1:99999' has a port that is not a number from 0 to 65535" in done.stderr
    )


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("HF_ENDPOINT", "http://127.0.0.1:99999", "has a port that is not a number from 0 to 65535"),
        ("HF_ENDPOINT", "http://[::1", "an IPv6 address goes in brackets"),
        ("HF_ENDPOINT", "http://", "has no host name"),
        ("HGLOC_HF_ENDPOINT", "http://::1", "has no host name"),
        ("HGLOC_HF_ENDPOINT", "http://hub:port", "has a port that is not a number"),
        ("HGLOC_PUBLIC_URL", "https://[::1/public", "an IPv6 address goes in brackets"),
        ("HGLOC_S3_ENDPOINT_URL", "http://[::1", "an IPv6 address goes in brackets"),
        ("HGLOC_S3_ENDPOINT_URL", "http://127.0.0.1:70000", "has a port that is not a number"),
        ("HGLOC_S3_ENDPOINT_URL", "http://bad_host:9000", "has a host name S3 clients refuse"),
        ("HGLOC_S3_REGION", "us east 1", "is not a region name"),
        ("HGLOC_S3_REGION", "../eu", "is not a region name"),
    ],
)
def test_a_bad_setting_is_exit_2_naming_the_variable_that_was_set(
    variable: str, value: str, says: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HGLOC_S3_BUCKET_NAME", "team-bucket")
    monkeypatch.setenv(variable, value)
    code = main(["list-s3-models"])
    err = capsys.readouterr().err
    assert code == 2, err
    message = err.splitlines()[0]
    assert message.startswith("Error: The configuration is not valid:")
    assert f" {variable}: " in message and says in message
    assert "Unexpected error" not in err and "Traceback" not in err
    assert f"Fix or unset {variable}" in err


def test_hf_endpoint_is_checked_even_when_hgloc_hf_endpoint_wins(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HGLOC_HF_ENDPOINT", "http://127.0.0.1:8000")
    monkeypatch.setenv("HF_ENDPOINT", "http://[::1")
    assert main(["list-local-models"]) == 2
    assert "HF_ENDPOINT: 'http://[::1'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "value",
    ["http://127.0.0.1:8000", "https://hub.example.com", "http://[::1]:8000/", "http://h-1.example:0/x"],
)
def test_good_urls_are_accepted(value: str) -> None:
    config = HGLocalizationConfig(hf_endpoint=value, s3_endpoint_url=value, public_url=value)
    assert config.hf_endpoint == value.rstrip("/")


def test_a_url_setting_never_shows_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HGLOC_S3_ENDPOINT_URL", "http://admin:S3-PASSWORD-x1@127.0.0.1:99999")
    with pytest.raises(InvalidInputError) as caught:
        load_config()
    assert "S3-PASSWORD-x1" not in str(caught.value)
    assert "http://***@127.0.0.1:99999" in caught.value.message


# --- secrets: refused when blank-laden, never repeated --------------------------------------------

SECRET = "hf_FAKEtokenConfig0123456789"


@pytest.mark.parametrize(
    "variable",
    [
        "HF_TOKEN",
        "HGLOC_HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HGLOC_AWS_SECRET_ACCESS_KEY",
        "HGLOC_AWS_ACCESS_KEY_ID",
    ],
)
@pytest.mark.parametrize("value", [SECRET + "\r", SECRET + "\n", f" {SECRET}", f"{SECRET[:8]} {SECRET[8:]}"])
def test_a_secret_with_a_blank_or_control_character_is_refused_without_showing_it(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(variable, value)
    code = main(["list-local-models"])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert f"{variable}: contains a space, a line break or another control character" in err
    assert SECRET[:8] not in out + err and SECRET[8:] not in out + err


def test_a_validation_error_from_the_constructor_never_repeats_a_secret() -> None:
    with pytest.raises(ValueError) as caught:
        HGLocalizationConfig(hf_token=SECRET + "\r", aws_secret_access_key=f"x {SECRET}")
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value)


def test_a_dot_env_file_configures_what_the_environment_does_not(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        "# team settings\nHGLOC_MODELS_STORE_PATH=/from/dotenv\nexport hgloc_s3_bucket_name='dot-bucket'\n"
        "HF_TOKEN=hf_fromDotEnv123\nHGLOC_MAX_WORKERS=3\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    for name in ("HF_TOKEN", "HGLOC_HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HGLOC_S3_BUCKET_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HGLOC_MAX_WORKERS", "5")
    monkeypatch.setenv("HGLOC_MODELS_STORE_PATH", str(tmp_path / "env"))
    config = HGLocalizationConfig()
    assert config.models_store_path == tmp_path / "env"  # the environment wins over .env
    assert config.max_workers == 5
    assert config.s3_bucket_name == "dot-bucket"
    assert config.token == "hf_fromDotEnv123"
    assert HGLocalizationConfig(max_workers=2).max_workers == 2  # an argument wins over both


# --- a plain dataclass: immutable, every copy checked, secrets that hide themselves ----------------


def test_a_secret_hides_itself_and_compares_by_value() -> None:
    secret = Secret(SECRET)
    assert secret.get_secret_value() == SECRET
    assert SECRET not in repr(secret) + str(secret) + f"{secret}" + repr([secret])
    assert str(secret) == "**********"
    assert secret == Secret(SECRET) and secret != Secret("another-value") and secret != SECRET
    assert not Secret("") and str(Secret("")) == ""


def test_a_config_is_immutable_and_equal_by_value(tmp_path: Path) -> None:
    config = HGLocalizationConfig(models_store_path=tmp_path, hf_token=SECRET)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.max_workers = 3  # type: ignore[misc]
    assert config == HGLocalizationConfig(models_store_path=tmp_path, hf_token=SECRET)
    assert config != HGLocalizationConfig(models_store_path=tmp_path, hf_token=SECRET + "x")


def test_every_field_has_a_rule_and_survives_a_pickle(tmp_path: Path) -> None:
    from hg_localization import config as module

    assert list(module._RULES) == [f.name for f in dataclasses.fields(HGLocalizationConfig)]
    assert set(module.ConfigValues.__annotations__) == set(module._RULES)
    config = HGLocalizationConfig(models_store_path=tmp_path, aws_secret_access_key=SECRET)
    assert pickle.loads(pickle.dumps(config)) == config


def test_a_changed_copy_is_checked_like_the_original(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = HGLocalizationConfig(models_store_path=tmp_path, hf_token=SECRET)
    monkeypatch.setenv("HGLOC_MAX_WORKERS", "7")  # a copy does not read the environment again
    copy = config.with_overrides(max_workers="3", s3_data_prefix="/team/", models_store_path="~/m")
    assert (copy.max_workers, copy.s3_data_prefix, copy.token) == (3, "team", SECRET)
    assert copy.models_store_path == Path("~/m").expanduser()
    assert dataclasses.replace(config, hf_endpoint="http://hub/").hf_endpoint == "http://hub"
    for bad in ({"max_workers": 0}, {"hf_endpoint": "hub:8000"}, {"hf_token": f"x {SECRET}"}):
        with pytest.raises(InvalidInputError) as caught:
            config.with_overrides(**bad)  # type: ignore[arg-type]
        assert SECRET not in str(caught.value)
        with pytest.raises(InvalidInputError):
            dataclasses.replace(config, **bad)
    with pytest.raises(TypeError, match="max_worker"):
        config.with_overrides(max_worker=3)  # type: ignore[call-arg]


def test_every_problem_is_named_at_once_with_what_would_be_right(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HGLOC_MAX_WORKERS", "lots")
    monkeypatch.setenv("hgloc_download_timeout", "0")
    with pytest.raises(InvalidInputError) as caught:
        HGLocalizationConfig(serve_presign_expiry=5)
    message, hint = caught.value.message, str(caught.value.hint)
    assert "HGLOC_MAX_WORKERS: must be a whole number from 1 to 64, not 'lots'" in message
    assert "hgloc_download_timeout: must be a number of seconds above 0 and at most 3600, not '0'" in message
    assert "serve_presign_expiry: must be a whole number of seconds from 60 to 604800, not 5" in message
    assert "Fix or unset HGLOC_MAX_WORKERS, hgloc_download_timeout" in hint and "serve_presign_expiry" in hint


@pytest.mark.parametrize(
    ("value", "offline"), [("1", True), ("yes", True), (" TRUE ", True), ("0", False), ("", False)]
)
def test_hf_hub_offline_is_read_as_huggingface_hub_reads_it(
    value: str, offline: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", value)
    assert HGLocalizationConfig().offline is offline


def test_serve_options_reach_the_workers_unchanged(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    options = ServeOptions(source="bucket", repos=tmp_path, allow=("org/*",), revalidate=2, redirect=True)
    monkeypatch.setenv(*options.environment().popitem())
    assert serve_options_from_environment() == options
    for bad in ("[]", "{", '{"source": "ftp"}', '{"allow": [1]}', '{"redirect": "no"}'):
        monkeypatch.setenv(SERVE_OPTIONS_VARIABLE, bad)
        with pytest.raises(InvalidInputError, match=f"{SERVE_OPTIONS_VARIABLE} is not valid"):
            serve_options_from_environment()
