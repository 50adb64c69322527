"""The parameters of each detector, as data: a rule's `params` are validated against these.

Every threshold of detection lives in a rule file; these models only give its type,
its bounds and the default a rule file may leave out.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rules.model import Severity


class Params(BaseModel):
    # strict: a quoted number (`grace_s: "300"`) or a quoted `"true"` is a mistake, not a value
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class PickupDelayParams(Params):
    grace_s: float = Field(120, ge=0, le=86_400)
    eta_overrun_s: float = Field(300, gt=0, le=86_400)


class TripDelayParams(Params):
    slip_s: float = Field(600, gt=0, le=86_400, description="latest drop-off ETA past the ETA at start")
    overdue: bool = Field(True, description="also open when ETA at start + slip passes, trip not done")
    reroute_resets_baseline: bool = Field(True, description="an accepted reroute's ETA is the new baseline")


class DriverCancellationParams(Params):
    repeat_count: int = Field(2, ge=2, le=100, description="this many driver cancellations = a repeat")
    repeat_severity: Severity = "critical"


class SystemCancellationParams(Params):
    pass


class RouteDeviationParams(Params):
    off_route_m: float = Field(150, gt=0, le=50_000, description="distance beyond GPS accuracy")
    sustain_s: float = Field(45, ge=0, le=86_400, description="off route at least this long")
    min_pings: int = Field(3, ge=1, le=64, description="and for at least this many pings")
    max_accuracy_m: float = Field(100, gt=0, description="pings less accurate than this are ignored")
    away_from_destination_m: float = Field(300, gt=0, description="growth of distance to drop-off")
    night_start_hour: int = Field(22, ge=0, le=23)
    night_end_hour: int = Field(6, ge=0, le=23)
    city_timezones: dict[str, str] = {}
    default_timezone: str = "UTC"
    critical_severity: Severity = "critical"

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        _zone(value)
        return value

    @field_validator("city_timezones")
    @classmethod
    def _known_zones(cls, value: dict[str, str]) -> dict[str, str]:
        for zone in value.values():
            _zone(zone)
        return value


class PaymentFailureParams(Params):
    retry_grace_s: float = Field(20, ge=0, le=86_400, description="wait for a retry before opening")
    immediate_codes: list[str] = Field(
        ["card_declined", "insufficient_funds", "expired_card", "fraud_suspected"],
        description="codes the passenger must act on: open at once, no retry awaited",
    )
    escalate_after: int = Field(2, ge=2, le=100, description="this many failures escalate")
    escalated_severity: Severity = "high"


class DoubleChargeParams(Params):
    min_captures: int = Field(2, ge=2, le=100, description="captures of distinct payment ids")


class SosParams(Params):
    signal_types: list[str] = Field(["sos.pressed"], min_length=1)


class CrashSuspectedParams(Params):
    crash_signal: bool = Field(True, description="open on crash.detected")
    from_speed_kmh: float = Field(45, gt=0, le=400, description="speed before the drop, at least")
    to_speed_kmh: float = Field(5, ge=0, le=400, description="speed after the drop, at most")
    min_decel_kmh_per_s: float = Field(12, gt=0, description="speed lost per second, at least")
    max_gap_s: float = Field(5, gt=0, le=120, description="consecutive pings at most this far apart")
    confirm_pings: int = Field(1, ge=0, le=8, description="pings after the drop that stay that slow")


class LongStopParams(Params):
    max_speed_kmh: float = Field(3, ge=0, le=50, description="stationary: this slow or slower")
    radius_m: float = Field(30, gt=0, le=1000, description="and within this of where the stop began")
    min_duration_s: float = Field(180, gt=0, le=86_400)
    on_route_duration_s: float = Field(600, gt=0, le=86_400, description="a stop on the route (a jam)")
    on_route_m: float = Field(40, ge=0, le=1000, description="a stop this near the route is on it")
    dropoff_radius_m: float = Field(200, ge=0, le=50_000, description="a stop this near drop-off is fine")


class StopCheckinParams(Params):
    after_s: float = Field(180, gt=0, le=86_400, description="a stop on the route this long: soft check-in")
    max_speed_kmh: float = Field(3, ge=0, le=50, description="stationary: this slow or slower")
    radius_m: float = Field(30, gt=0, le=1000, description="and within this of where the stop began")
    on_route_m: float = Field(40, ge=0, le=1000, description="a stop this near the route is on it")
    dropoff_radius_m: float = Field(200, ge=0, le=50_000, description="a stop this near drop-off is fine")
    jam_min_cars: int = Field(2, ge=1, le=100, description="other cars within 300 m held up: a jam")
    jam_slow_share: float = Field(0.5, gt=0, le=1, description="and at least this share of them")
    eta_counts_as_car: bool = Field(True, description="an ETA slipped during the stop counts as one car")


class SignalLostParams(Params):
    max_silence_s: float = Field(90, gt=0, le=86_400, description="no ping mid-trip for this long")


class EarlyEndParams(Params):
    max_distance_m: float = Field(500, gt=0, le=100_000, description="from drop-off at completion")
    max_ping_age_s: float = Field(120, gt=0, le=86_400, description="last ping older: cannot judge")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


# detector name -> the model of its `params`
DETECTOR_PARAMS: dict[str, type[BaseModel]] = {
    "pickup_delay": PickupDelayParams,
    "trip_delay": TripDelayParams,
    "driver_cancellation": DriverCancellationParams,
    "system_cancellation": SystemCancellationParams,
    "route_deviation": RouteDeviationParams,
    "payment_failure": PaymentFailureParams,
    "double_charge": DoubleChargeParams,
    "sos": SosParams,
    "crash_suspected": CrashSuspectedParams,
    "long_stop": LongStopParams,
    "stop_checkin": StopCheckinParams,
    "signal_lost": SignalLostParams,
    "early_end": EarlyEndParams,
}
