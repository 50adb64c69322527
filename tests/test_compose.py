"""docker-compose.yml: valid for Compose, and every Tripwatch setting in it is one we know."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from monitor.settings import ENV_PREFIX, load_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def resolved_compose() -> dict:
    """The compose file as `docker-compose config` resolves it (no Docker engine needed)."""
    binary = shutil.which("docker-compose")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is missing: .ci/run installs Debian's docker-compose")
        pytest.skip("docker-compose not installed here (apt-get install docker-compose)")
    result = subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yml"), "config"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_has_the_production_shape(resolved_compose: dict) -> None:
    services = resolved_compose["services"]
    assert set(services) == {"kafka", "redis", "worker", "dashboard"}
    assert "broker,controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]  # KRaft
    assert "--appendonly" in services["redis"]["command"]
    assert services["worker"]["command"] == ["worker"]
    assert services["dashboard"]["command"] == ["dashboard"]


@pytest.mark.parametrize("service", ["worker", "dashboard"])
def test_compose_settings_are_valid_tripwatch_settings(
    resolved_compose: dict, service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = resolved_compose["services"][service]["environment"]
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, str(value))
    settings = load_settings()  # raises on any unknown or malformed setting
    assert settings.kafka_bootstrap == "kafka:9092"
    assert settings.redis_dsn == "redis://redis:6379/0"
