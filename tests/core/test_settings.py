"""Settings: one validated object; an unknown or malformed setting is an error that names it."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("TRIPWATCH_"):
            monkeypatch.delenv(name)


def test_defaults_mean_the_embedded_services() -> None:
    settings = load_settings()
    assert settings.embedded_kafka and settings.embedded_redis
    assert settings.kafka_bootstrap == "127.0.0.1:19092"
    assert settings.redis_dsn == "redis://127.0.0.1:16379/0"
    assert settings.partitions == 8


def test_environment_sets_and_converts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIPWATCH_KAFKA_URL", "kafka://k1:9092;k2:9092")
    monkeypatch.setenv("TRIPWATCH_PARTITIONS", "16")
    settings = load_settings()
    assert not settings.embedded_kafka
    assert settings.kafka_bootstrap == "k1:9092,k2:9092"
    assert settings.faust_broker == "kafka://k1:9092;k2:9092"
    assert settings.partitions == 16


def test_unknown_environment_setting_is_named_with_a_suggestion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIPWATCH_PARTITONS", "16")
    with pytest.raises(
        SettingsError, match=r"TRIPWATCH_PARTITONS: unknown setting \(did you mean TRIPWATCH_PARTITIONS\?\)"
    ):
        load_settings()


def test_malformed_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIPWATCH_DASHBOARD_PORT", "eighty")
    with pytest.raises(SettingsError, match=r"^dashboard_port: .*integer.*'eighty'"):
        load_settings()


def test_out_of_range_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIPWATCH_PARTITIONS", "0")
    with pytest.raises(SettingsError, match=r"^partitions: Input should be greater than or equal to 1"):
        load_settings()


def test_config_file_with_environment_winning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "tripwatch.toml"
    config.write_text('redis_url = "redis://r:6379/1"\npartitions = 4\n')
    monkeypatch.setenv("TRIPWATCH_PARTITIONS", "12")
    settings = load_settings(config)
    assert settings.redis_dsn == "redis://r:6379/1"
    assert settings.partitions == 12


def test_unknown_key_in_config_file_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "tripwatch.toml"
    config.write_text("partitions = 4\nredis_host = 'r'\n")
    with pytest.raises(SettingsError, match="redis_host: unknown setting"):
        load_settings(config)


def test_broken_config_file_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "tripwatch.toml"
    config.write_text("partitions = = 4\n")
    with pytest.raises(SettingsError, match=f"config file {config}: .*line 1"):
        load_settings(config)


def test_environment_round_trip_for_child_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIPWATCH_PARTITIONS", "5")
    settings = load_settings()
    for name, value in settings.as_environment().items():
        monkeypatch.setenv(name, value)
    assert load_settings() == settings


def test_docs_list_every_setting_as_the_code_says() -> None:
    from core.settings_doc import render

    documented = (Path(__file__).resolve().parents[2] / "docs" / "settings.md").read_text()
    assert documented == render(), "docs/settings.md is stale: python -m core.settings_doc > docs/settings.md"
