"""One small evaluation through the session's real broker, Redis and worker (test rules:
pickup delay with a 2 s grace): every injected pickup delay is found, nothing else is."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.evaluate import RunOptions, evaluate
from tools.simulator import generate
from tools.simulator.config import load_config
from tools.simulator.live import to_scenario

QUICK = Path(__file__).resolve().parent / "quick_pickup.json"

pytestmark = pytest.mark.usefixtures("worker")


async def test_pickup_delays_of_a_small_simulated_city_are_all_found(settings) -> None:
    scenario = to_scenario(generate(load_config(QUICK)))
    labels = [label for label in scenario.expected if label.kind == "pickup_delay"]
    assert len(labels) == 4 and len({label.order_id for label in scenario.expected}) == 4

    report, figures = await evaluate(settings, scenario, RunOptions(settle_s=4.0, start_worker=False))

    pickup = report.kinds["pickup_delay"]
    assert (pickup.true_positives, pickup.false_positives, pickup.misses) == (4, 0, 0)
    assert pickup.precision == 1.0 and pickup.recall == 1.0
    # Time to detect, event time from onset: an ETA past the promise is decided at once,
    # a missed promise after the 2 s grace (plus the deadline tick and the pipeline).
    assert 0 <= pickup.ttd_median_s < 5 and pickup.ttd_p95_s < 6
    assert figures["events"] == len(scenario.events)
