"""`tripwatch simulate --live`: produce a simulated city to the broker at a target event rate.

Trips start evenly over a window chosen so that, once the first trips are under way,
the events of all running trips add up to the target rate; times are shifted to now.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from core.settings import Settings
from tools.scenario import ExpectedIncident, HardNegative, Scenario, ScheduledEvent
from tools.simulator.config import SimConfig
from tools.simulator.scenario_file import GeneratedScenario, generate

log = logging.getLogger(__name__)


def paced_for(config: SimConfig, events_per_s: float) -> SimConfig:
    """The config with its start window set for `events_per_s` in the steady state."""
    sample = generate(config)
    window = len(sample.deliveries) / events_per_s
    return replace(config, window_s=max(1.0, window))


def to_scenario(generated: GeneratedScenario) -> Scenario:
    """The generated scenario as `tools.scenario` reads it from a file."""
    events = [
        ScheduledEvent(round(item.at, 3), item.topic, item.event, line)
        for line, item in enumerate(generated.deliveries, start=2)
    ]
    expected = [ExpectedIncident(x["kind"], x["order_id"], x["onset"]) for x in generated.labels]
    negatives = [HardNegative(x["case"], x["order_id"]) for x in generated.negatives]
    header = generated.header()
    return Scenario(header["name"], header["description"], events, expected, negatives)


async def produce_live(settings: Settings, config: SimConfig, events_per_s: float) -> tuple[int, float]:
    """Produce the simulated trips at real pace; returns (events, seconds it took)."""
    from tools.replay import replay

    paced = paced_for(config, events_per_s)
    scenario = to_scenario(generate(paced))
    log.info("live: %d trips over %.0f s, %d events", paced.trips, paced.window_s, len(scenario.events))
    began = time.monotonic()
    count = await replay(settings, scenario, 1.0)
    return count, time.monotonic() - began
