"""When `tripwatch up` restarts a child that died, and when it gives up: plain bookkeeping
over monotonic timestamps, so it is tested without processes.

A child that dies is restarted after a back-off that starts at `first_backoff_s` and doubles
with each death in a row, up to `max_backoff_s`; a child that ran `stable_after_s` before it
died starts again from the first back-off. A child that dies again after `crash_loop_restarts`
restarts within `crash_loop_window_s` crash-loops: restarting it more would only hide the fault.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 10.0
STABLE_AFTER_S = 30.0
CRASH_LOOP_RESTARTS = 5
CRASH_LOOP_WINDOW_S = 120.0


@dataclass(frozen=True)
class RestartPolicy:
    first_backoff_s: float = BACKOFF_FIRST_S
    max_backoff_s: float = BACKOFF_MAX_S
    stable_after_s: float = STABLE_AFTER_S
    crash_loop_restarts: int = CRASH_LOOP_RESTARTS
    crash_loop_window_s: float = CRASH_LOOP_WINDOW_S


def backoff_s(deaths_in_a_row: int, policy: RestartPolicy) -> float:
    """The wait before a restart: the first one after one death, doubling after each more."""
    doublings = min(max(deaths_in_a_row - 1, 0), 32)  # 2**32 * anything is past every maximum
    return min(policy.first_backoff_s * 2**doublings, policy.max_backoff_s)


def restarts_within(restarted_at: list[float], now: float, window_s: float) -> list[float]:
    """The restarts that are less than `window_s` old at `now`."""
    return [at for at in restarted_at if now - at < window_s]


def is_crash_loop(restarted_at: list[float], now: float, policy: RestartPolicy) -> bool:
    """A death at `now` after `crash_loop_restarts` restarts within the window."""
    recent = restarts_within(restarted_at, now, policy.crash_loop_window_s)
    return len(recent) >= policy.crash_loop_restarts


@dataclass
class RestartBook:
    """One child's restarts: when it was restarted and how many deaths came in a row."""

    policy: RestartPolicy = field(default_factory=RestartPolicy)
    restarted_at: list[float] = field(default_factory=list)
    deaths_in_a_row: int = 0
    total: int = 0

    def on_death(self, started_at: float, died_at: float) -> float | None:
        """The back-off before the restart, or None when the child crash-loops."""
        if is_crash_loop(self.restarted_at, died_at, self.policy):
            return None
        if died_at - started_at >= self.policy.stable_after_s:
            self.deaths_in_a_row = 0
        self.deaths_in_a_row += 1
        self.total += 1
        window = self.policy.crash_loop_window_s
        self.restarted_at = [*restarts_within(self.restarted_at, died_at, window), died_at]
        return backoff_s(self.deaths_in_a_row, self.policy)
