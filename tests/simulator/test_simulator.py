"""The simulator: deterministic, contract-true, and its labels and negatives are what they claim.

Thresholds come from the built-in rule pack (or the detector's defaults while the pack has
no rule for it), so these tests say "clearly beyond" and "clearly within" in its terms.
"""

from __future__ import annotations

import collections
import time
from pathlib import Path

import orjson
import pytest

from monitor.decoding import DAY_MS, DecodeLimits, decode_event
from tests.simulator.timeline import (
    Loaded,
    dist,
    dist_to_route,
    load,
    off_route_runs,
    params,
    silences,
    stationary_runs,
    violent_drops,
)
from tools.scenario import absolute_event, load_scenario
from tools.simulator import CASES, INCIDENT_KINDS, NEGATIVES, SimConfig, generate, write_scenario
from tools.simulator.config import ConfigError, config_from_dict, parse_rates
from tools.simulator.scenario_file import assign_cases

RATE = 0.04  # 23 cases x 0.04: 16 trips each out of 400, the rest normal
CONFIG = SimConfig(trips=400, seed=11, rates=dict.fromkeys(CASES, RATE))


@pytest.fixture(scope="module")
def scenario_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sim") / "city.jsonl"
    write_scenario(generate(CONFIG), path)
    return path


@pytest.fixture(scope="module")
def city(scenario_path: Path) -> Loaded:
    return load(scenario_path)


def labelled(city: Loaded, kind: str) -> list[tuple[str, float]]:
    found = [(order_id, onset) for (k, order_id), onset in city.labels.items() if k == kind]
    assert len(found) >= 10, f"too few {kind} labels to say anything: {len(found)}"
    return found


def unlabelled(city: Loaded, kind: str) -> list[str]:
    """Trips (with their order's events; not a standing jam's other cars, telemetry only) without the label."""
    return [o for o in city.trips if (kind, o) not in city.labels and city.trips[o].events]


# --- determinism and the contract ----------------------------------------------------------------


def test_same_seed_same_file_other_seed_other_file(tmp_path: Path) -> None:
    small = SimConfig(trips=40, seed=5)
    paths = [tmp_path / name for name in ("a.jsonl", "b.jsonl", "c.jsonl")]
    write_scenario(generate(small), paths[0])
    write_scenario(generate(small), paths[1])
    write_scenario(generate(SimConfig(trips=40, seed=6)), paths[2])
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


def test_every_event_is_a_valid_contract_event_and_every_type_occurs(scenario_path: Path) -> None:
    scenario = load_scenario(scenario_path)
    start_ms = int(time.time() * 1000)
    limits = DecodeLimits(max_bytes=65536, max_age_ms=30 * DAY_MS, max_future_ms=3_600_000)
    types: dict[str, set[str]] = collections.defaultdict(set)
    for item in scenario.events:
        event = absolute_event(item, start_ms, 1.0)
        decoded = decode_event(
            item.topic, orjson.dumps(event), limits, now_ms=start_ms + int(item.at_s * 1000)
        )
        assert decoded is not None
        types[item.topic].add(event.get("type", item.topic))
    assert types["trip-events"] == {
        "order.created", "driver.assigned", "driver.eta_updated", "driver.arrived", "trip.started",
        "trip.eta_updated", "trip.rerouted", "trip.completed", "order.cancelled",
    }  # fmt: skip
    assert types["payments"] == {
        "payment.authorized",
        "payment.captured",
        "payment.failed",
        "payment.refunded",
    }
    assert types["safety-signals"] == {"sos.pressed", "crash.detected", "safety.reported"}
    assert types["telemetry"] and types["passengers"]


def test_every_incident_kind_is_labelled_and_every_negative_listed(city: Loaded) -> None:
    kinds = collections.Counter(kind for kind, _ in city.labels)
    cases = collections.Counter(city.negatives.values())
    expected = round(RATE * CONFIG.trips)
    # a long stop beside the route is asked about first: its trips carry a stop_checkin label too
    assert {k: kinds[k] for k in INCIDENT_KINDS} == dict.fromkeys(INCIDENT_KINDS, expected) | {
        "stop_checkin": 2 * expected
    }
    long_stops = {order for kind, order in city.labels if kind == "long_stop"}
    assert long_stops < {order for kind, order in city.labels if kind == "stop_checkin"}
    assert {c: cases[c] for c in NEGATIVES} == dict.fromkeys(NEGATIVES, expected)
    assert set(city.negatives).isdisjoint(order for _, order in city.labels)


def test_late_and_duplicate_deliveries_happen(scenario_path: Path) -> None:
    late = duplicates = 0
    seen: set[str] = set()
    for raw in scenario_path.read_bytes().splitlines():
        line = orjson.loads(raw)
        event = line.get("event")
        if event and "event_id" in event:
            late += line["at"] > event["ts"]
            duplicates += event["event_id"] in seen
            seen.add(event["event_id"])
    assert late > 200 and duplicates > 200


def test_case_assignment_is_exact_and_shuffled() -> None:
    cases = assign_cases(SimConfig(trips=100, seed=3, rates={"sos": 0.1, "reroute": 0.25}))
    assert collections.Counter(cases) == {"sos": 10, "reroute": 25, "normal": 65}
    assert cases != sorted(cases)


def test_rates_and_config_errors_name_the_setting() -> None:
    assert parse_rates("sos=0.1, negatives=0.02")["tunnel"] == 0.02
    with pytest.raises(ConfigError, match="rates.sosss: unknown case"):
        SimConfig().with_rates({"sosss": 0.1})
    with pytest.raises(ConfigError, match="add up to"):
        SimConfig().with_rates(parse_rates("incidents=0.09"))
    with pytest.raises(ConfigError, match="timing.ping_every: unknown setting"):
        config_from_dict({"timing": {"ping_every": 3}})


# --- labels: the injected anomaly is clearly beyond the rule's threshold ------------------------------


def test_route_deviation_leaves_the_route_beyond_threshold_for_longer_than_sustain(city: Loaded) -> None:
    p = params("route_deviation")
    for order_id, onset in labelled(city, "route_deviation"):
        runs = off_route_runs(city.trips[order_id], p.off_route_m, p.max_accuracy_m)
        long_runs = [r for r in runs if r[1] - r[0] >= 2 * p.sustain_s and r[2] >= 2 * p.min_pings]
        assert long_runs, f"{order_id}: off-route runs {runs}"
        assert onset <= long_runs[0][0] <= onset + 120, f"{order_id}: onset {onset}, runs {runs}"


def test_long_stop_stands_still_off_route_away_from_dropoff_for_long(city: Loaded) -> None:
    p = params("long_stop")
    for order_id, onset in labelled(city, "long_stop"):
        trip = city.trips[order_id]
        runs = [(first, seconds) for first, seconds in stationary_runs(trip, p.max_speed_kmh, p.radius_m)
                if abs(first.ts - onset) < 6]  # fmt: skip
        assert runs and runs[0][1] >= 1.5 * p.min_duration_s, f"{order_id}: {runs}"
        first = runs[0][0]
        from tests.simulator.timeline import dist_to_route

        assert dist_to_route(first.at, trip.route_at(first.ts)) > 1.5 * p.on_route_m
        assert dist(first.at, trip.dropoff) > 2 * p.dropoff_radius_m


def test_signal_lost_is_a_silence_well_over_the_limit_mid_trip(city: Loaded) -> None:
    p = params("signal_lost")
    for order_id, onset in labelled(city, "signal_lost"):
        trip = city.trips[order_id]
        gaps = [(ts, seconds) for ts, seconds in silences(trip) if seconds >= 2 * p.max_silence_s]
        assert gaps and gaps[0][0] == onset, f"{order_id}: {gaps}"
        assert trip.completed is not None and trip.completed > onset + gaps[0][1]


def test_crash_is_a_violent_drop_in_speed_or_a_crash_signal(city: Loaded) -> None:
    p = params("crash_suspected")
    signals = 0
    for order_id, onset in labelled(city, "crash_suspected"):
        trip = city.trips[order_id]
        drops = violent_drops(trip, p)
        assert any(onset <= ts <= onset + 1 for ts in drops), f"{order_id}: drops at {drops}, onset {onset}"
        signals += any(s["type"] == "crash.detected" and s["ts"] == onset for s in trip.safety)
    assert signals > 0


def test_early_end_completes_far_from_the_dropoff(city: Loaded) -> None:
    p = params("early_end")
    for order_id, onset in labelled(city, "early_end"):
        trip = city.trips[order_id]
        assert trip.completed == onset
        last = [ping for ping in trip.pings if ping.ts <= onset][-1]
        assert dist(last.at, trip.dropoff) > 2 * p.max_distance_m
        assert onset - last.ts < p.max_ping_age_s


def test_pickup_delay_misses_the_promise_or_announces_a_late_eta(city: Loaded) -> None:
    p = params("pickup_delay")
    for order_id, onset in labelled(city, "pickup_delay"):
        trip = city.trips[order_id]
        promised = trip.of_type("order.created")[0]["promised_pickup_ts"]
        assert not trip.of_type("driver.arrived")
        if onset == promised:
            assert trip.first_ts("order.cancelled") > promised + 1.5 * p.grace_s
        else:
            update = [e for e in trip.of_type("driver.eta_updated") if e["ts"] == onset]
            assert update and update[0]["eta_pickup_ts"] - promised >= 2 * p.eta_overrun_s


def test_trip_delay_slips_the_dropoff_eta_well_past_the_threshold(city: Loaded) -> None:
    p = params("trip_delay")
    for order_id, onset in labelled(city, "trip_delay"):
        trip = city.trips[order_id]
        at_start = trip.of_type("trip.started")[0]["eta_dropoff_ts"]
        update = [e for e in trip.of_type("trip.eta_updated") if e["ts"] == onset]
        assert update and update[0]["eta_dropoff_ts"] - at_start >= 2 * p.slip_s


def test_event_kinds_have_their_event_at_the_onset(city: Loaded) -> None:
    checks = {
        "driver_cancellation": lambda t, at: [e for e in t.of_type("order.cancelled")
                                             if e["ts"] == at and e["cancelled_by"] == "driver"],
        "system_cancellation": lambda t, at: [e for e in t.of_type("order.cancelled")
                                             if e["ts"] == at and e["cancelled_by"] == "system"],
        "sos": lambda t, at: [s for s in t.safety if s["ts"] == at and s["type"] == "sos.pressed"],
        "double_charge": lambda t, at: len({e["payment_id"] for e in t.payments
                                            if e["type"] == "payment.captured" and e["ts"] <= at}) >= 2,
    }  # fmt: skip
    for kind, check in checks.items():
        for order_id, onset in labelled(city, kind):
            assert check(city.trips[order_id], onset), f"{kind} {order_id} at {onset}"


def test_payment_failure_stays_unresolved_beyond_the_retry_grace(city: Loaded) -> None:
    p = params("payment_failure")
    for order_id, onset in labelled(city, "payment_failure"):
        payments = city.trips[order_id].payments
        assert [e for e in payments if e["type"] == "payment.failed" and e["ts"] == onset]
        captures = [e["ts"] for e in payments if e["type"] == "payment.captured"]
        assert all(ts > onset + 2 * p.retry_grace_s for ts in captures)


# --- negatives: whatever is not labelled stays clearly within the thresholds ------------------------


def test_no_unlabelled_trip_leaves_its_route_for_long(city: Loaded) -> None:
    p = params("route_deviation")
    for order_id in unlabelled(city, "route_deviation"):
        runs = off_route_runs(city.trips[order_id], p.off_route_m, p.max_accuracy_m)
        assert all(last - first < p.sustain_s / 2 for first, last, _ in runs), (order_id, runs)


def test_reroute_would_deviate_from_the_old_plan(city: Loaded) -> None:
    """The accepted reroute is a hard negative: measured against the first plan it deviates."""
    p = params("route_deviation")
    for order_id, case in city.negatives.items():
        if case != "reroute":
            continue
        trip = city.trips[order_id]
        trip.events = [e for e in trip.events if e["type"] != "trip.rerouted"]
        runs = off_route_runs(trip, p.off_route_m, p.max_accuracy_m)
        assert any(last - first > 2 * p.sustain_s for first, last, _ in runs), order_id


def test_no_unlabelled_trip_stands_still_for_long(city: Loaded) -> None:
    """Beyond the stops on the route (a check-in's, a standing jam's), which stay short of long_stop's
    on_route_duration_s; everything else is short of the check-in's after_s."""
    p, checkin = params("long_stop"), params("stop_checkin")
    on_route = {o for (k, o) in city.labels if k == "stop_checkin"}
    on_route |= {o for o, case in city.negatives.items() if case == "jam_standstill"}
    for order_id in unlabelled(city, "long_stop"):
        bound = p.on_route_duration_s / 1.5 if order_id in on_route else checkin.after_s / 1.5
        for first, seconds in stationary_runs(city.trips[order_id], p.max_speed_kmh, p.radius_m):
            assert seconds < bound, (order_id, first.ts, seconds)


def test_no_unasked_trip_stands_beside_its_route_for_long(city: Loaded) -> None:
    """The check-in asks about a stop beside the route at off_route_after_s: only the long stops
    (labelled stop_checkin too) stand there that long; a critical alert already out keeps it quiet."""
    p = params("stop_checkin")
    loud = {o for (k, o) in city.labels if k in ("sos", "crash_suspected")}
    for order_id in unlabelled(city, "stop_checkin"):
        trip = city.trips[order_id]
        if order_id in loud:
            continue
        for first, seconds in stationary_runs(trip, p.max_speed_kmh, p.radius_m):
            route = trip.route_at(first.ts)
            beside = dist_to_route(first.at, route) > p.on_route_m
            if beside and dist(first.at, route[-1]) > p.dropoff_radius_m:
                assert seconds < p.off_route_after_s / 1.5, (order_id, first.ts, seconds)


def test_stops_on_the_route_stand_clearly_past_the_check_in(city: Loaded) -> None:
    p = params("stop_checkin")
    long_stops = {o for (k, o) in city.labels if k == "long_stop"}
    for order_id, onset in labelled(city, "stop_checkin"):
        runs = stationary_runs(city.trips[order_id], p.max_speed_kmh, p.radius_m)
        [(first, seconds)] = [(f, s) for f, s in runs if abs(f.ts - onset) < 5]
        trip = city.trips[order_id]
        to_route = dist_to_route(first.at, trip.route_at(first.ts))
        if order_id in long_stops:  # beside the route: asked sooner
            assert seconds >= 1.5 * p.off_route_after_s and to_route > 1.5 * p.on_route_m, order_id
        else:
            assert seconds >= 1.5 * p.after_s and to_route < p.on_route_m / 2, (order_id, seconds)


def test_standing_jams_stand_past_the_check_in_among_other_cars_held_up(city: Loaded) -> None:
    p = params("stop_checkin")
    jams = [o for o, case in city.negatives.items() if case == "jam_standstill"]
    assert len(jams) >= 10
    for order_id in jams:
        runs = stationary_runs(city.trips[order_id], p.max_speed_kmh, p.radius_m)
        first, seconds = max(runs, key=lambda run: run[1])
        assert seconds > p.after_s, (order_id, seconds)
        companions = [o for o in city.trips if o.startswith(order_id + "-car")]
        assert len(companions) >= 3
        for car in companions:
            pings = city.trips[car].pings
            assert all(ping.speed <= 8 for ping in pings)
            assert min(dist(ping.at, first.at) for ping in pings) < 200


def test_jams_crawl_and_red_lights_end(city: Loaded) -> None:
    """Hard negatives: a jam stops only briefly; a long red light stays well under the threshold."""
    p = params("long_stop")
    for order_id, case in city.negatives.items():
        if case in ("traffic_jam", "red_light"):
            runs = stationary_runs(city.trips[order_id], p.max_speed_kmh, p.radius_m)
            longest = max((seconds for _, seconds in runs), default=0.0)
            assert (longest >= 45) == (case == "red_light"), (order_id, case, longest)


def test_no_unlabelled_silence_mid_trip_is_long(city: Loaded) -> None:
    p = params("signal_lost")
    tunnels = 0
    for order_id in unlabelled(city, "signal_lost"):
        longest = max((seconds for _, seconds in silences(city.trips[order_id])), default=0.0)
        assert longest < p.max_silence_s / 2, (order_id, longest)
        tunnels += longest > 12
    assert tunnels >= 10  # the tunnel negatives are there


def test_no_unlabelled_trip_drops_speed_violently(city: Loaded) -> None:
    p = params("crash_suspected")
    for order_id in unlabelled(city, "crash_suspected"):
        trip = city.trips[order_id]
        assert not violent_drops(trip, p), order_id
        assert not [s for s in trip.safety if s["type"] == "crash.detected"]


def test_unlabelled_trips_end_at_the_dropoff_and_roughly_on_time(city: Loaded) -> None:
    end, delay = params("early_end"), params("trip_delay")
    for order_id in unlabelled(city, "early_end"):
        trip = city.trips[order_id]
        if trip.completed is None:
            continue
        last = [ping for ping in trip.pings if ping.ts <= trip.completed][-1]
        assert dist(last.at, trip.dropoff) < end.max_distance_m / 4, order_id
        if ("trip_delay", order_id) not in city.labels:
            at_start = trip.of_type("trip.started")[0]["eta_dropoff_ts"]
            assert trip.completed < at_start + delay.slip_s * 0.75, order_id
            slips = [e["eta_dropoff_ts"] - at_start for e in trip.of_type("trip.eta_updated")]
            assert all(slip < delay.slip_s / 2 for slip in slips), order_id


def test_unlabelled_pickups_are_on_time(city: Loaded) -> None:
    p = params("pickup_delay")
    for order_id in unlabelled(city, "pickup_delay"):
        trip = city.trips[order_id]
        promised = trip.of_type("order.created")[0]["promised_pickup_ts"]
        arrived, ended = trip.first_ts("driver.arrived"), trip.first_ts("order.cancelled")
        if arrived is None or (ended is not None and ended < arrived):
            assert ended is not None and ended < promised, order_id
        else:
            assert max(e["ts"] for e in trip.of_type("driver.arrived")) <= promised, order_id
        for update in trip.of_type("driver.eta_updated"):
            assert update["eta_pickup_ts"] - promised < p.eta_overrun_s / 2, order_id


def test_unlabelled_payments_and_cancellations_are_harmless(city: Loaded) -> None:
    grace = params("payment_failure").retry_grace_s
    for order_id, trip in city.trips.items():
        if ("payment_failure", order_id) not in city.labels:
            for failure in [e for e in trip.payments if e["type"] == "payment.failed"]:
                captured = [e["ts"] for e in trip.payments if e["type"] == "payment.captured"]
                assert any(0 < ts - failure["ts"] < grace / 2 for ts in captured), order_id
        if ("double_charge", order_id) not in city.labels:
            assert len({e["payment_id"] for e in trip.payments if e["type"] == "payment.captured"}) <= 1
        by = {e["cancelled_by"] for e in trip.of_type("order.cancelled")}
        assert ("driver" in by) == (("driver_cancellation", order_id) in city.labels)
        assert ("system" in by) == (("system_cancellation", order_id) in city.labels)
        has_sos = any(s["type"] == "sos.pressed" for s in trip.safety)
        assert has_sos == (("sos", order_id) in city.labels)
