"""Configuration: fields, HGLOC_* variables, token precedence, secrets that hide themselves."""

from pathlib import Path

import pytest

from hg_localization.cli import main
from hg_localization.config import HGLocalizationConfig, load_config
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
    shown = repr(config) + str(config) + config.model_dump_json()
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
    assert "max_workers" in err and "Traceback" not in err
