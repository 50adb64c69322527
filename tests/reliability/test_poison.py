"""A burst of poison on several partitions, then an SOS: the SOS is raised within 3 s of being
sent, every bad input is a dead letter with a reason (the 2 MB one too), the worker keeps its
pid and never restarts its agent, and a good order after the burst is still detected."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import orjson
import pytest

from core import names
from tests.monitor.trips import DROPOFF, PICKUP
from tests.reliability.harness import Mirror, Sent, eventually, incidents_in_redis, now_ms, read_topic
from tests.reliability.traffic import Trip

SOS_WITHIN_MS = 3_000
DAY_MS = 86_400_000


def nested(levels: int, order_id: str) -> bytes:
    return b'{"order_id": "' + order_id.encode() + b'", "nested": ' + b"[" * levels + b"]" * levels + b"}"


def created(order_id: str, **overrides: object) -> dict:
    return {"event_id": f"{order_id}-c", "type": "order.created", "order_id": order_id, "ts": now_ms(),
            "passenger_id": "p-poison", "promised_pickup_ts": now_ms() + 600_000,
            "pickup": {"lat": PICKUP[0], "lon": PICKUP[1]}, "dropoff": {"lat": DROPOFF[0], "lon": DROPOFF[1]},
            **overrides}  # fmt: skip


def poison(o: str) -> dict[str, tuple[str, Callable[[], bytes]]]:
    """name -> (topic, its bytes): the issue's ten kinds of bad input, deeper nesting and a 2 MB message.
    `o` is the order id the message is keyed by (one per input, so they spread over partitions)."""
    dump = orjson.dumps
    signal = {
        "event_id": f"{o}-s",
        "type": "sos.pressed",
        "order_id": o,
        "ts": now_ms(),
        "source": "passenger",
    }
    return {
        "not_json": (names.TRIP_EVENTS, lambda: b"<xml>nope</xml>"),
        "invalid_utf8": (names.TRIP_EVENTS, lambda: b'{"type": "driver.arrived", "x": "\xc3\x28"}'),
        "json_array": (names.PAYMENTS, lambda: b"[1, 2, 3]"),
        "missing_order_id": (
            names.SAFETY_SIGNALS,
            lambda: dump({k: v for k, v in signal.items() if k != "order_id"}),
        ),
        "string_ts": (names.SAFETY_SIGNALS, lambda: dump({**signal, "ts": "yesterday"})),
        "unknown_type": (names.TRIP_EVENTS, lambda: dump({**created(o), "type": "order.teleported"})),
        "pickup_lat_999": (names.TRIP_EVENTS, lambda: dump(created(o, pickup={"lat": 999.0, "lon": 13.4}))),
        "ts_ten_days_ahead": (names.SAFETY_SIGNALS, lambda: dump({**signal, "ts": now_ms() + 10 * DAY_MS})),
        "nan_in_telemetry": (
            names.TELEMETRY,
            lambda: (
                f'{{"order_id": "{o}", "driver_id": "d", "ts": {now_ms()}, "lat": NaN, "lon": 13.4, '
                f'"speed_kmh": 10}}'.encode()
            ),
        ),
        "nested_5000": (names.TELEMETRY, lambda: nested(5_000, o)),
        "nested_10000": (names.SAFETY_SIGNALS, lambda: nested(10_000, o)),
        "two_megabytes": (names.TRIP_EVENTS, lambda: dump(created(o, note="x" * 2_000_000))),
    }


async def dead_letters_for(settings, sent: dict[str, Sent]) -> dict[str, dict]:
    """name -> its dead letter, found by the message's topic, partition and offset."""
    wanted = {(s.topic, s.partition, s.offset): name for name, s in sent.items()}
    found = {}
    for record in await read_topic(settings, names.DEAD_LETTERS):
        letter = orjson.loads(record.value)
        name = wanted.get((letter.get("topic"), letter.get("partition"), letter.get("offset")))
        if name is not None:
            found[name] = letter
    return found


@pytest.mark.timeout(180)
async def test_a_poison_burst_delays_no_sos_and_every_bad_input_is_a_dead_letter(new_stack, children) -> None:
    stack = await new_stack("poison")
    worker = children(stack)
    await worker.start()
    pid = worker.pid
    run_id = f"px-{uuid.uuid4().hex[:6]}"

    async with Mirror([stack], max_request_size=8 * 1024 * 1024) as mirror:
        sent = {}
        for name in poison(run_id):
            key = f"{run_id}-{name}"
            topic, raw = poison(key)[name]
            sent[name] = (await mirror.send(topic, key, raw()))[0]
        sos = Trip(mirror, f"{run_id}-sos")
        pressed = await sos.sos()
        good = Trip(mirror, f"{run_id}-good")
        await good.created(promised_in_s=-60)  # already late for its pickup: pickup_delay

    with stack.redis_client() as redis:
        incident = await eventually(
            lambda: incidents_in_redis(redis, sos.order_id), 60, "the SOS sent after the poison"
        )
        late_ms = incident[f"{sos.order_id}:sos"]["detected_at"] - pressed
        await eventually(
            lambda: incidents_in_redis(redis, good.order_id), 30, "the good order's pickup delay"
        )
    try:
        letters = await eventually(
            lambda: _all_found(stack.settings, sent), 30, "a dead letter for every bad input"
        )
    except TimeoutError:
        letters = await dead_letters_for(stack.settings, sent)

    logging.getLogger(__name__).info("the SOS after the poison burst was raised in %d ms", late_ms)
    problems = _problems(late_ms, sent, letters, worker.log())
    if not (worker.alive() and worker.pid == pid):
        problems.append(f"the worker died:\n{worker.log()[-3000:]}")
    assert not problems, "\n".join(problems)


def _problems(late_ms: int, sent: dict[str, Sent], letters: dict[str, dict], log: str) -> list[str]:
    """Every claim of the test that does not hold, in words (all of them, not just the first)."""
    problems = []
    if late_ms > SOS_WITHIN_MS:
        problems.append(f"the SOS after the poison was raised {late_ms} ms after it was sent")
    missing = sorted(set(sent) - set(letters))
    if missing:
        problems.append(f"no dead letter for: {missing}")
    problems += [
        f"dead letter of {name} has no reason" for name, lt in letters.items() if not lt.get("reason")
    ]
    crashes = [line[:300] for line in log.splitlines() if "Traceback" in line or "Crashed" in line]
    if crashes:
        problems.append("the worker's agent crashed on bad input:\n" + "\n".join(crashes[:20]))
    return problems


async def _all_found(settings, sent: dict[str, Sent]) -> dict[str, dict] | None:
    letters = await dead_letters_for(settings, sent)
    return letters if set(letters) == set(sent) else None
