"""Settings: one class, initialiser > environment > defaults, per-model batching."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import Settings


def test_initialiser_values_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAYERLENS_PORT", "9001")
    assert Settings().port == 9001
    assert Settings(port=9002).port == 9002


def test_conventional_names_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db/layerlens")
    monkeypatch.setenv("MODELS_DIR", "/srv/models")
    monkeypatch.setenv("PORT", "8080")
    settings = Settings()
    assert settings.database_url == "postgresql://u:p@db/layerlens"
    assert settings.models_dir == Path("/srv/models")
    assert settings.port == 8080


def test_conventional_names_also_take_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAYERLENS_DATA_DIR", "/srv/data")
    monkeypatch.setenv("LAYERLENS_DATABASE_URL", "sqlite:///x.db")
    settings = Settings()
    assert (settings.data_dir, settings.database_url) == (Path("/srv/data"), "sqlite:///x.db")


def test_every_field_is_read_from_its_prefixed_name(monkeypatch: pytest.MonkeyPatch) -> None:
    names = Settings.env_names()
    assert set(names) == set(Settings.model_fields)
    for field, env in names.items():
        assert env[0] == f"LAYERLENS_{field.upper()}"
    monkeypatch.setenv("LAYERLENS_MAX_ALPHAS", "7")
    monkeypatch.setenv("LAYERLENS_TRAIN_PROFILE", "quick")
    settings = Settings()
    assert (settings.max_alphas, settings.train_profile) == (7, "quick")


def test_a_dotenv_file_is_not_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`.env` is docker compose's file (.env.example's copy): local runs must not change."""
    (tmp_path / ".env").write_text("LAYERLENS_WORKERS=2\nLAYERLENS_PORT=9100\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert (settings.workers, settings.port) == (1, 8000)


def test_bare_names_of_other_tools_are_not_picked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """HOST and WORKERS are set by shells and other tools: only LAYERLENS_ ones count."""
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("WORKERS", "9")
    settings = Settings()
    assert (settings.host, settings.workers) == ("127.0.0.1", 1)


def test_invalid_values_are_refused_with_the_field_named() -> None:
    with pytest.raises(ValidationError, match="port"):
        Settings(port=70000)
    with pytest.raises(ValidationError, match="max_alphas"):
        Settings(max_alphas=1)
    with pytest.raises(ValidationError, match="train_profile"):
        Settings(train_profile="medium")


def test_batching_per_model_overrides_only_what_it_names(monkeypatch) -> None:
    monkeypatch.setenv("LAYERLENS_BATCH_PER_MODEL", '{"digits-cnn": {"max_size": 64}}')
    settings = Settings(batch_max_wait_ms=3.0)
    cnn, mlp = settings.batch_policy("digits-cnn"), settings.batch_policy("digits")
    assert (cnn.max_size, cnn.max_wait_ms, cnn.enabled) == (64, 3.0, True)
    assert (mlp.max_size, mlp.max_wait_ms) == (settings.batch_max_size, 3.0)
    off = Settings(batch_per_model={"xor": {"enabled": False, "max_wait_ms": 0}})
    assert off.batch_policy("xor").enabled is False
    assert off.batch_policy("xor").max_wait_ms == 0.0


def test_a_misspelt_batching_field_is_an_error() -> None:
    with pytest.raises(ValidationError, match="max_sise"):
        Settings(batch_per_model={"digits": {"max_sise": 3}})


def test_default_versions_come_from_json_and_must_be_positive(monkeypatch) -> None:
    monkeypatch.setenv("LAYERLENS_DEFAULT_VERSIONS", '{"digits": 1, "fashion": 2}')
    assert Settings().default_versions == {"digits": 1, "fashion": 2}
    with pytest.raises(ValidationError, match="default_versions"):
        Settings(default_versions={"digits": 0})
