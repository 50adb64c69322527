"""`tripwatch simulate`: a synthetic city whose trips produce every event of the contract,
with incidents of every kind injected at configurable rates and labelled with ground truth.

`generate(config)` is deterministic for a given config (seed included).
"""

from tools.simulator.config import CASES, INCIDENT_KINDS, NEGATIVES, SimConfig
from tools.simulator.scenario_file import GeneratedScenario, generate, write_scenario

__all__ = [
    "CASES",
    "INCIDENT_KINDS",
    "NEGATIVES",
    "GeneratedScenario",
    "SimConfig",
    "generate",
    "write_scenario",
]
