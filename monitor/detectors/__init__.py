"""Detectors, one module per family, registered here by name (a rule's `detector`)."""

from monitor.detectors import (
    cancellation,
    early_end,
    long_stop,
    payment,
    pickup_delay,
    route_deviation,
    safety_signals,
    signal_lost,
    stop_checkin,
    trip_delay,
)
from monitor.detectors.base import Detector

DETECTORS: dict[str, Detector] = {
    detector.name: detector
    for detector in (
        pickup_delay.DETECTOR,
        trip_delay.DETECTOR,
        cancellation.DRIVER,
        cancellation.SYSTEM,
        route_deviation.DETECTOR,
        payment.FAILURE,
        payment.DOUBLE,
        safety_signals.SOS,
        safety_signals.CRASH,
        long_stop.DETECTOR,
        stop_checkin.DETECTOR,
        signal_lost.DETECTOR,
        early_end.DETECTOR,
    )
}
