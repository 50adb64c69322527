"""Every Kafka topic name and Redis key prefix Tripwatch uses, in one place."""

from __future__ import annotations

# Input topics (the contract), co-partitioned by order_id.
TRIP_EVENTS = "trip-events"
TELEMETRY = "telemetry"
PAYMENTS = "payments"
SAFETY_SIGNALS = "safety-signals"
INPUT_TOPICS = (TRIP_EVENTS, TELEMETRY, PAYMENTS, SAFETY_SIGNALS)

# Compacted passenger directory, keyed by passenger_id.
PASSENGERS = "passengers"

# Output topics.
INCIDENTS = "incidents"
DEAD_LETTERS = "tripwatch-dead-letters"

# Redis keys. Values are JSON documents unless said otherwise.
KEY_PREFIX = "tw:"
INCIDENT = KEY_PREFIX + "incident:"  # + incident_id -> incident JSON
INCIDENTS_OPEN = KEY_PREFIX + "incidents:open"  # ZSET incident_id -> detected_at ms
INCIDENTS_ALL = KEY_PREFIX + "incidents:all"  # ZSET incident_id -> detected_at ms
INCIDENT_CHANGES = KEY_PREFIX + "incident-changes"  # pub/sub channel, incident JSON
PASSENGER = KEY_PREFIX + "passenger:"  # + passenger_id -> passenger JSON


def incident_key(incident_id: str) -> str:
    return INCIDENT + incident_id


def passenger_key(passenger_id: str) -> str:
    return PASSENGER + passenger_id
