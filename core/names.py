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

# The helpdesk's record of passengers contacting support, keyed by passenger_id
# (not co-partitioned with the trip topics: monitor/contacts.py matches it through Redis).
SUPPORT_CONTACTS = "support-contacts"

# Output topics.
INCIDENTS = "incidents"
DEAD_LETTERS = "tripwatch-dead-letters"

# Internal: outreach asks the worker to raise the critical long_stop now ("help", or no answer to
# the stop check-in). Keyed by order_id and created with the input topics' partition count, so it
# is co-partitioned with them: the worker that owns the trip's state reads it (core/checkin.py).
CHECKIN_ESCALATIONS = "tripwatch-checkin-escalations"

# Redis keys. Values are JSON documents unless said otherwise.
KEY_PREFIX = "tw:"
INCIDENT = KEY_PREFIX + "incident:"  # + incident_id -> incident JSON
INCIDENTS_OPEN = KEY_PREFIX + "incidents:open"  # ZSET incident_id -> detected_at ms
INCIDENTS_ALL = KEY_PREFIX + "incidents:all"  # ZSET incident_id -> detected_at ms
INCIDENT_CHANGES = KEY_PREFIX + "incident-changes"  # pub/sub channel, incident JSON
PASSENGER = KEY_PREFIX + "passenger:"  # + passenger_id -> passenger JSON
INCIDENTS_BY_PASSENGER = (
    KEY_PREFIX + "incidents:passenger:"
)  # + passenger_id -> ZSET incident_id -> opened ms

# Support contacts (monitor/contacts.py, monitor/contact_store.py).
CONTACT = KEY_PREFIX + "contact:"  # + event_id -> contact JSON with its match (written once)
CONTACTS_ALL = KEY_PREFIX + "contacts:all"  # ZSET event_id -> contact ts
CONTACTS_UNMATCHED = KEY_PREFIX + "contacts:unmatched"  # ZSET event_id -> contact ts (no incident yet)
INCIDENT_CONTACTS = KEY_PREFIX + "incident-contacts:"  # + incident_id -> ZSET event_id -> contact ts

# The board (dashboard/): users, sessions, supervisors' actions, silences, trip log.
USERS = KEY_PREFIX + "users"  # HASH username -> user JSON (argon2 hash, role)
SESSION = KEY_PREFIX + "session:"  # + token -> session JSON, with a TTL
SIGNIN_FAILURES = KEY_PREFIX + "signin-failures:"  # + "user:<name>@<addr>" | "ip:<addr>" -> counter, TTL
INCIDENT_BOARD = KEY_PREFIX + "incident-board:"  # + incident_id -> HASH owner, acked_by, acked_at, note
AUDIT = KEY_PREFIX + "audit"  # LIST of audit JSON, newest first, capped
AUDIT_ORDER = KEY_PREFIX + "audit:order:"  # + order_id -> LIST of audit JSON, oldest first, capped
SILENCES = KEY_PREFIX + "silences"  # HASH silence_id -> silence JSON (rules/silences.py)

# The rule set all workers run (rules/reload.py): published once, read by every worker.
RULES_CURRENT = KEY_PREFIX + "rules:current"  # JSON {version, files: {name: text}, published_at, by}
RULES_VERSION = KEY_PREFIX + "rules:version"  # the version of RULES_CURRENT (polled by workers)
RULES_REFUSED = KEY_PREFIX + "rules:refused"  # JSON {version, problems, at, worker}: last refused set
RULES_WORKERS = KEY_PREFIX + "rules:workers"  # HASH worker id -> JSON {version, loaded_at, seen_at}
BROKER_HEALTH = KEY_PREFIX + "health:broker"  # STRING JSON {at, message, batches, ...} while over its limit
WORKER_HEALTH = KEY_PREFIX + "health:workers"  # HASH worker id -> JSON {at, lag: {topic: n}, assigned}
BOARD_CHANGES = KEY_PREFIX + "board-changes"  # pub/sub channel: silences changed
TRIP_EVENTS_LOG = KEY_PREFIX + "trip-events:"  # + order_id -> LIST of non-telemetry event JSON, capped
TRIP_TRACK = KEY_PREFIX + "trip-track:"  # + order_id -> LIST of [ts, lat, lon, speed], down-sampled
INCIDENT_HISTORY = KEY_PREFIX + "incident-history:"  # + order_id -> LIST of incident JSON, every change

# Outreach (notifiers/): conversations, outbox, budgets, cases, escalation.
CONVERSATION = KEY_PREFIX + "conversation:"  # + incident_id -> conversation JSON
CONVERSATIONS_DUE = KEY_PREFIX + "conversations:due"  # ZSET incident_id -> due ms (group_wait etc.)
OUTBOX_MESSAGE = KEY_PREFIX + "outbox:msg:"  # + message_id -> outbound message JSON
OUTBOX_CRITICAL = KEY_PREFIX + "outbox:critical"  # ZSET message_id -> next attempt ms
OUTBOX_NORMAL = KEY_PREFIX + "outbox:normal"  # ZSET message_id -> next attempt ms
OUTBOX_DEAD = KEY_PREFIX + "outbox:dead"  # ZSET message_id -> ms it was given up
OUTBOX_UNKNOWN = KEY_PREFIX + "outbox:unknown"  # ZSET message_id -> ms its delivery was left unknown
OUTBOX_SENT = KEY_PREFIX + "outbox:sent"  # ZSET message_id -> ms it was delivered
OUTBOX_BY_PROVIDER_ID = KEY_PREFIX + "outbox:provider-id:"  # + provider's id (Twilio SID) -> message_id
OUTBOX_BY_ORDER = KEY_PREFIX + "outbox:order:"  # + order_id -> ZSET message_id -> created ms
CASES_BY_ORDER = KEY_PREFIX + "cases:order:"  # + order_id -> ZSET case_id -> opened ms
RATE = KEY_PREFIX + "rate:"  # + channel -> HASH token bucket (tokens, at, ahead), TTL
BUDGET_TRIP = KEY_PREFIX + "budget:trip:"  # + passenger_id:order_id -> counter
BUDGET_DAY = KEY_PREFIX + "budget:day:"  # + passenger_id:yyyymmdd -> counter, TTL
CASE = KEY_PREFIX + "case:"  # + case_id -> case JSON
CASE_TIMELINE = KEY_PREFIX + "case-timeline:"  # + case_id -> LIST of entry JSON, oldest first
CASES_OPEN = KEY_PREFIX + "cases:open"  # ZSET case_id -> SLA deadline ms
CASES_RESOLVED = KEY_PREFIX + "cases:resolved"  # ZSET case_id -> resolved ms (auto-close, no survey)
CASES_LIFECYCLE = (
    KEY_PREFIX + "cases:lifecycle"
)  # ZSET case_id -> ms its final-event incident resolves itself
CASES_SURVEY_WAIT = KEY_PREFIX + "cases:survey-wait"  # ZSET case_id -> survey asked ms (auto-close)
ESCALATIONS_DUE = KEY_PREFIX + "escalations:due"  # ZSET incident_id -> next level (or delayed page) due ms
REMINDERS_DUE = KEY_PREFIX + "reminders:due"  # ZSET case_id -> next on-call reminder due ms
CHECKIN = KEY_PREFIX + "checkin:"  # + phone -> incident_id of the check-in awaiting a reply
# HASH request event_id -> StopEscalation JSON not yet acknowledged by the broker (notifiers/stop_escalation.py)
CHECKIN_ESCALATIONS_PENDING = KEY_PREFIX + "checkin-escalations:pending"
SMS_OPT_OUT = KEY_PREFIX + "sms-opt-out:"  # + phone -> ms the number replied STOP (deleted by START)
INBOUND_SEEN = KEY_PREFIX + "inbound:sid:"  # + Twilio MessageSid of a reply already handled, TTL


def incident_key(incident_id: str) -> str:
    return INCIDENT + incident_id


def passenger_key(passenger_id: str) -> str:
    return PASSENGER + passenger_id


def incident_board_key(incident_id: str) -> str:
    return INCIDENT_BOARD + incident_id


def audit_order_key(order_id: str) -> str:
    return AUDIT_ORDER + order_id


def trip_events_key(order_id: str) -> str:
    return TRIP_EVENTS_LOG + order_id


def trip_track_key(order_id: str) -> str:
    return TRIP_TRACK + order_id


def incident_history_key(order_id: str) -> str:
    return INCIDENT_HISTORY + order_id
