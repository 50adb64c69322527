"""docker-compose.yml: valid for Compose, and every Tripwatch setting in it is one we know."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from core.settings import ENV_PREFIX, Settings, load_settings

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
    assert set(services) == {"kafka", "redis", "worker", "outreach", "dashboard"}
    assert "broker,controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]  # KRaft
    assert "--appendonly" in services["redis"]["command"]
    for role in ("worker", "outreach", "dashboard"):  # what `tripwatch up` runs
        assert services[role]["command"] == [role]


@pytest.mark.parametrize("service", ["kafka", "redis", "worker", "outreach", "dashboard"])
def test_every_service_restarts_and_has_a_health_check(resolved_compose: dict, service: str) -> None:
    definition = resolved_compose["services"][service]
    assert definition["restart"] in {"always", "unless-stopped", "on-failure"}
    assert definition["healthcheck"]["test"][0] in {"CMD", "CMD-SHELL"}


@pytest.mark.parametrize(
    ("service", "port_setting"), [("worker", "worker_metrics_port"), ("dashboard", "dashboard_port")]
)
def test_health_checks_ask_healthz_on_the_configured_port(
    resolved_compose: dict, service: str, port_setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _service_settings(resolved_compose, service, monkeypatch)
    port = getattr(settings, port_setting)
    assert port != 0
    assert f"http://localhost:{port}/healthz" in " ".join(
        resolved_compose["services"][service]["healthcheck"]["test"]
    )


def test_outreach_health_check_knocks_on_its_webhook_port(
    resolved_compose: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _service_settings(resolved_compose, "outreach", monkeypatch)
    assert settings.outreach_host == "0.0.0.0"
    assert f"('localhost', {settings.outreach_port})" in " ".join(
        resolved_compose["services"]["outreach"]["healthcheck"]["test"]
    )


@pytest.mark.parametrize("service", ["worker", "outreach", "dashboard"])
def test_compose_settings_are_valid_tripwatch_settings(
    resolved_compose: dict, service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _service_settings(resolved_compose, service, monkeypatch)
    assert settings.kafka_bootstrap == "kafka:9092"
    assert settings.redis_dsn == "redis://redis:6379/0"


def _service_settings(resolved_compose: dict, service: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The service's Tripwatch settings; raises on any unknown or malformed one."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    for name, value in resolved_compose["services"][service]["environment"].items():
        monkeypatch.setenv(name, str(value))
    return load_settings()
