"""One validated settings object, built once from the environment and an optional file.

Every setting is a field of `Settings`; it is read from `TRIPWATCH_<NAME>` or from a
TOML config file (`TRIPWATCH_CONFIG` or `--config`), the environment winning. An
unknown or malformed setting is an error that names it.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

ENV_PREFIX = "TRIPWATCH_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"
BUILTIN_RULES_DIR = Path(__file__).resolve().parent.parent / "rules" / "pack"
ROUTE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
ROUTING_KEY = re.compile(r"^[A-Za-z0-9]{32}$")


class SettingsError(ValueError):
    """A setting is unknown or malformed; the message names it."""


class Settings(BaseModel):
    """Tripwatch configuration. `None` URLs mean: use the embedded broker / Redis."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kafka_url: str | None = Field(None, description="kafka://host:port[;host:port]; unset = embedded")
    redis_url: str | None = Field(None, description="redis://host:port/db; unset = embedded Valkey")
    data_dir: Path = Field(Path(".tripwatch"), description="embedded Redis data and logs")
    embedded_host: str = Field("127.0.0.1", description="address the embedded broker and Redis listen on")
    embedded_kafka_port: int = Field(19092, ge=1, le=65535, description="port of the embedded broker (Tansu)")
    embedded_redis_port: int = Field(16379, ge=1, le=65535, description="port of the embedded Redis (Valkey)")
    dashboard_host: str = Field("127.0.0.1", description="address the board listens on")
    dashboard_port: int = Field(8080, ge=1, le=65535, description="port of the board")
    app_id: str = Field("tripwatch", min_length=1, description="faust app id = consumer group")
    partitions: int = Field(8, ge=1, le=1024, description="partition count of every topic")
    rules_dir: Path = Field(
        BUILTIN_RULES_DIR,
        description="rule directory published by `tripwatch up` and seeded by the first worker",
    )
    rules_poll_s: float = Field(1.0, gt=0, le=5, description="how often a worker checks for a new rule set")
    rules_from: Literal["published", "dir"] = Field(
        "published", description="published: run the set in Redis (hot reload); dir: only rules_dir"
    )
    fetch_max_wait_ms: int = Field(
        10,
        ge=1,
        le=5000,
        description="longest a consumer fetch waits for data (Tansu holds every fetch this long)",
    )
    fetch_idle_wait_ms: int = Field(
        500,
        ge=1,
        le=5000,
        description="fetch wait once a consumer's topics have been quiet for a second (idle cost)",
    )
    embedded_batch_warn: int = Field(
        8_000,
        ge=0,
        description="`tripwatch up` warns (log and board) when a partition of its embedded broker holds this many record batches (it slows past about 10,000); 0 = never",
    )
    embedded_watch_s: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="how often `tripwatch up` counts its embedded broker's record batches",
    )
    session_timeout_s: float = Field(
        10.0, ge=1, le=300, description="consumer group session timeout; a join waits half of it"
    )
    max_event_bytes: int = Field(
        65536, ge=256, le=10_000_000, description="a bigger message is a dead letter"
    )
    max_event_age_days: int = Field(30, ge=1, description="older `ts` is rejected as absurd")
    max_event_future_s: int = Field(3600, ge=1, description="`ts` further ahead is rejected")
    deadline_tick_s: float = Field(0.2, gt=0, le=10, description="how often the worker checks its deadlines")
    dedup_window: int = Field(256, ge=1, description="event ids remembered per trip")
    trip_retention_s: float = Field(3600.0, gt=0, description="state kept after a trip ends")
    trip_idle_timeout_s: float = Field(
        7_200.0, gt=0, description="trips with no event for this long are over: dropped"
    )
    allowed_lateness_s: float = Field(1.0, ge=0, le=60, description="deadlines wait for late events")
    partition_idle_s: float = Field(
        2.0, gt=0, le=60, description="silence that counts as idle where the high-water mark is unknown"
    )
    telemetry_checkpoint_s: float = Field(30.0, gt=0, description="ping time persisted this often")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="debug, info, warning or error"
    )
    # Outreach (notifiers/, docs/outreach.md): providers, conversation rules, budgets, cases.
    fcm_base_url: str = Field(
        "https://fcm.googleapis.com",
        description="FCM HTTP v1 base URL (a test or staging system points it at a local server)",
    )
    fcm_project: str = Field("", description="FCM project id; empty = no push")
    fcm_access_token: SecretStr = Field(
        SecretStr(""),
        description="a fixed OAuth2 bearer token for FCM HTTP v1 (tests, staging); production uses fcm_service_account_file",
    )
    fcm_service_account_file: str = Field(
        "",
        description="path of the Google service-account JSON key: tokens are fetched and refreshed before they expire (google-auth); wins over fcm_access_token",
    )
    twilio_base_url: str = Field("https://api.twilio.com", description="Twilio API base URL")
    twilio_account_sid: str = Field("", description="Twilio account SID; empty = no SMS")
    twilio_auth_token: SecretStr = Field(
        SecretStr(""), description="Twilio auth token (basic auth, and inbound signature checks)"
    )
    twilio_from: str = Field("", description="sender number (E.164) of outbound SMS")
    webhook_url: str = Field("", description="generic signed webhook for passengers' 'webhook' channel")
    webhook_secret: SecretStr = Field(SecretStr(""), description="HMAC-SHA256 key of signed webhooks")
    helpdesk_webhook_url: str = Field("", description="case export (signed webhook); empty = off")
    pagerduty_url: str = Field(
        "https://events.pagerduty.com/v2/enqueue", description="PagerDuty Events API v2 endpoint"
    )
    board_public_url: str = Field(
        "",
        description="the board's address as on-call opens it (pages link to the trip view); empty = no link",
    )
    escalation_levels: str = Field(
        "",
        pattern=r"^$|^\s*[^,@\s]+@\d+(\.\d+)?(\s*,\s*[^,@\s]+@\d+(\.\d+)?)*\s*$",
        description="routing_key@ack_deadline_s,...; empty = no paging",
    )
    page_routes: str = Field(
        "",
        description="on-call targets of rules' `page.to`: name=routing_key,... (32-character keys);"
        " the built-in pack pages `safety`",
    )
    rate_fcm_per_s: int = Field(50, ge=1, description="push requests per second at most")
    rate_twilio_per_s: int = Field(10, ge=1, description="SMS requests per second at most")
    rate_webhook_per_s: int = Field(50, ge=1, description="webhook requests per second at most")
    rate_pagerduty_per_s: int = Field(10, ge=1, description="paging requests per second at most")
    rate_fcm_burst: int = Field(
        0, ge=0, description="push requests at once (token bucket size); 0 = the per-second rate"
    )
    rate_twilio_burst: int = Field(
        0, ge=0, description="SMS requests at once (token bucket size); 0 = the per-second rate"
    )
    rate_webhook_burst: int = Field(
        0, ge=0, description="webhook requests at once (token bucket size); 0 = the per-second rate"
    )
    rate_pagerduty_burst: int = Field(
        0, ge=0, description="paging requests at once (token bucket size); 0 = the per-second rate"
    )
    rate_critical_reserve: int = Field(
        1, ge=0, description="tokens of each provider's bucket that only critical messages may take"
    )
    outreach_group_wait_s: float = Field(30.0, ge=0, description="wait before a first message")
    outreach_budget_per_trip: int = Field(4, ge=0, description="messages per passenger per trip")
    outreach_budget_per_day: int = Field(10, ge=0, description="messages per passenger per UTC day")
    outreach_max_attempts: int = Field(5, ge=1, description="tries per channel before falling back")
    outreach_retry_base_s: float = Field(
        1.0, gt=0, description="first retry delay (doubles each try, with jitter)"
    )
    outreach_retry_max_s: float = Field(300.0, gt=0, description="longest retry delay")
    outreach_http_timeout_s: float = Field(
        10.0, gt=0, description="a provider slower than this counts as a timeout (retried)"
    )
    outreach_lease_s: float = Field(30.0, gt=0, description="a claimed message is retried after this")
    outreach_concurrency: int = Field(8, ge=1, le=256, description="messages in flight at once")
    outreach_page_first_wait_s: float = Field(
        10.0,
        ge=0,
        le=300,
        description="a critical incident's passenger message waits at most this long for PagerDuty to accept the page",
    )
    outreach_tick_s: float = Field(
        0.2, gt=0, le=10, description="how often outreach looks at its timers and outbox"
    )
    outreach_host: str = Field("127.0.0.1", description="address of the inbound webhook")
    outreach_port: int = Field(8081, ge=0, le=65535, description="inbound webhook (Twilio replies)")
    sandbox_port: int = Field(8082, ge=1, le=65535, description="demo only: the stand-in phone network")
    outreach_public_url: str = Field("", description="URL Twilio calls, for signature checks")
    outreach_ttl_critical_s: int = Field(
        300,
        ge=1,
        le=36000,
        description="a critical incident's push expires (FCM ttl, apns-expiration) and its SMS is dropped by Twilio (ValidityPeriod) when not delivered within",
    )
    outreach_ttl_high_s: int = Field(900, ge=1, le=36000, description="the same for a high incident")
    outreach_ttl_medium_s: int = Field(1800, ge=1, le=36000, description="the same for a medium incident")
    outreach_ttl_low_s: int = Field(
        3600, ge=1, le=36000, description="the same for a low incident, and for every survey"
    )
    checkin_timeout_s: float = Field(120.0, gt=0, description="no reply to a check-in escalates")
    case_sla_critical_s: int = Field(300, ge=1, description="a critical incident's case is due within")
    case_sla_high_s: int = Field(900, ge=1, description="a high incident's case is due within")
    case_sla_medium_s: int = Field(3600, ge=1, description="a medium incident's case is due within")
    case_sla_low_s: int = Field(14400, ge=1, description="a low incident's case is due within")
    case_autoclose_s: int = Field(
        86400, ge=1, description="a resolved case with no survey asked closes after"
    )
    case_survey_window_s: int = Field(
        86400, ge=1, description="a resolved case whose survey is unanswered closes after"
    )
    # The board (dashboard/) and metrics.
    session_ttl_s: int = Field(12 * 3600, ge=60, description="a board session lasts this long")
    session_cookie_secure: bool = Field(True, description="Secure flag on the session cookie")
    signin_max_failures: int = Field(
        5, ge=1, description="sign-in attempts per user from one address (x4 per address)..."
    )
    signin_window_s: int = Field(300, ge=1, description="...within this window, then refused")
    ack_deadline_critical_s: int = Field(60, ge=1, description="acknowledge a critical incident within")
    ack_deadline_high_s: int = Field(180, ge=1, description="acknowledge a high incident within")
    ack_deadline_medium_s: int = Field(600, ge=1, description="acknowledge a medium incident within")
    ack_deadline_low_s: int = Field(1800, ge=1, description="acknowledge a low incident within")
    silence_safety_max_s: int = Field(
        4 * 3600, ge=60, description="longest silence over a safety kind (admins only)"
    )
    tls_terminated_in_front: bool = Field(
        False, description="HTTPS ends at a proxy in front of the board: send HSTS"
    )
    map_tile_url: str = Field(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        description="trip view map tiles; empty = a plain background",
    )
    map_tile_attribution: str = Field(
        "© OpenStreetMap contributors", description="shown under the map's tiles"
    )
    shift_hours: float = Field(8.0, gt=0, le=48, description="window of the board's shift figures")
    ws_queue_size: int = Field(256, ge=8, description="updates queued per browser before it is dropped")
    trip_log_max_events: int = Field(500, ge=10, description="trip events kept per order for the board")
    trip_track_interval_s: float = Field(5.0, ge=0, description="one track point per order per interval")
    worker_metrics_port: int = Field(
        0, ge=0, le=65535, description="worker /metrics and /healthz port; 0 = off"
    )

    @field_validator("page_routes")
    @classmethod
    def _page_routes_parse(cls, value: str) -> str:
        parse_page_routes(value)  # a bad item is an error that names it
        return value

    @property
    def embedded_kafka(self) -> bool:
        return self.kafka_url is None

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url is None

    @property
    def kafka_bootstrap(self) -> str:
        """`host:port[,host:port]` for aiokafka."""
        if self.kafka_url is None:
            return f"{self.embedded_host}:{self.embedded_kafka_port}"
        return self.kafka_url.removeprefix("kafka://").replace(";", ",")

    @property
    def faust_broker(self) -> str:
        return "kafka://" + self.kafka_bootstrap.replace(",", ";")

    @property
    def redis_dsn(self) -> str:
        if self.redis_url is None:
            return f"redis://{self.embedded_host}:{self.embedded_redis_port}/0"
        return self.redis_url

    def replace(self, **changes: Any) -> Settings:
        """A copy with `changes`, validated like everything else (model_copy would not)."""
        try:
            return Settings.model_validate(self.model_dump() | changes)
        except ValidationError as error:
            raise SettingsError(_describe(error)) from None

    def as_environment(self) -> dict[str, str]:
        """The settings as `TRIPWATCH_*` variables, to hand to a child process."""
        env = {}
        for name, value in self.model_dump(exclude_none=True).items():
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[ENV_PREFIX + name.upper()] = str(value)
        return env


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings from file, environment and explicit overrides (strongest last)."""
    _reject_unknown_environment()
    file_values = _read_config_file(config_file or _config_file_from_env())
    env_values = _environment_values()
    try:
        return Settings.model_validate({**file_values, **env_values, **overrides})
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None


def _config_file_from_env() -> Path | None:
    value = os.environ.get(CONFIG_ENV)
    return Path(value) if value else None


def _read_config_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise SettingsError(f"config file {path}: not found") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"config file {path}: {error}") from None


def _environment_values() -> dict[str, str]:
    return {
        name[len(ENV_PREFIX) :].lower(): value
        for name, value in os.environ.items()
        if name.startswith(ENV_PREFIX) and name != CONFIG_ENV
    }


def _reject_unknown_environment() -> None:
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields} | {CONFIG_ENV}
    for name in sorted(os.environ):
        if name.startswith(ENV_PREFIX) and name not in known:
            raise SettingsError(f"{name}: unknown setting{_suggestion(name)}")


def _suggestion(name: str) -> str:
    import difflib

    field = name[len(ENV_PREFIX) :].lower()
    close = difflib.get_close_matches(field, list(Settings.model_fields), n=1)
    return f" (did you mean {ENV_PREFIX}{close[0].upper()}?)" if close else ""


def parse_page_routes(text: str) -> dict[str, str]:
    """`name=routing_key,...` -> {name: routing_key}; a malformed item is an error naming it."""
    routes: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, key = (half.strip() for half in item.partition("="))
        if not ROUTE_NAME.match(name) or not ROUTING_KEY.match(key):
            raise ValueError(f"page route {item!r}: expected name=routing_key (a 32-character key)")
        if name in routes:
            raise ValueError(f"page route {item!r}: {name!r} is given twice")
        routes[name] = key
    return routes


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"]) or "settings"
        if item["type"] == "extra_forbidden":
            problems.append(f"{name}: unknown setting")
        else:
            problems.append(f"{name}: {item['msg']} (got {item.get('input')!r})")
    return "; ".join(problems)
