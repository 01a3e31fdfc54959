"""Configuration: fields, HGLOC_* variables, token precedence, secrets that hide themselves."""

from pathlib import Path

import pytest

from hg_localization.config import HGLocalizationConfig


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
