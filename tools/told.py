"""`tripwatch evaluate` on a scenario with support contacts: were passengers told first?

The run needs outreach to speak, so an evaluation that starts its own worker also starts
`tripwatch outreach` delivering to the demo's stand-in phone network (`tripwatch sandbox`),
with the configured conversation rules (group wait and all). A contact marked `unless_told`
is left out when the passenger already got a message about the order (`heard_from_us`). After
the run the contacts are read back from Redis and scored with the board's own figures
(monitor.contact_figures); a kind fails when its passengers were messaged and fewer than the
threshold of its contacted incidents were told first.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import redis.asyncio as aioredis

from core import names
from core.incidents import BUILTIN_KINDS
from core.ports import free_port, port_is_open
from core.processes import spawn, stop_process
from core.settings import ENV_PREFIX, Settings
from monitor.contact_figures import OVERALL, told_first_figures
from monitor.contact_store import ContactRecord, ContactStore, decode_record
from notifiers.reads import PASSENGER_STEPS
from notifiers.sandbox import sandbox_settings
from tools.scenario import Scenario, ScheduledEvent

TOLD_FIRST_BAR = 0.95  # the share a kind whose passengers are messaged must reach
OUTREACH_READY = "outreach: consuming"


def has_contacts(scenario: Scenario) -> bool:
    return any(item.topic == names.SUPPORT_CONTACTS for item in scenario.events)


async def heard_from_us(redis: aioredis.Redis, order_id: str) -> bool:
    """A passenger message about the order has been delivered."""
    ids = [raw.decode() for raw in await redis.zrange(names.OUTBOX_BY_ORDER + order_id, 0, -1)]
    mine = [i for i in ids if i.rsplit(":", 1)[-1] in PASSENGER_STEPS]
    return bool(mine) and any(s is not None for s in await redis.zmscore(names.OUTBOX_SENT, mine))


def told_check(redis: aioredis.Redis) -> Callable[[ScheduledEvent], Awaitable[bool]]:
    """For `replay(skip=...)`: a contact marked `unless_told` is left out when the passenger
    already heard from us about that order."""

    async def told(item: ScheduledEvent) -> bool:
        return item.unless_told is not None and await heard_from_us(redis, item.unless_told)

    return told


@dataclass
class ToldFirstReport:
    figures: dict[str, Any]
    messaged_kinds: set[str] = field(default_factory=set)  # kinds with a delivered passenger message
    bar: float = TOLD_FIRST_BAR
    not_told: list[str] = field(default_factory=list)  # "order:kind: reason" of contacts before our word

    def failing(self) -> list[str]:
        """Kinds whose passengers are messaged and whose told-first share is below the bar."""
        return [
            kind
            for kind, row in self.figures["kinds"].items()
            if kind in self.messaged_kinds
            and row["told_first_share"] is not None
            and row["told_first_share"] < self.bar
        ]


async def collect_told_first(
    redis_dsn: str, run_id: str, incidents: list[tuple[str, str]], bar: float = TOLD_FIRST_BAR
) -> ToldFirstReport:
    """The run's contacts (ids unprefixed) scored against its incidents [(kind, order_id)]."""
    client = aioredis.from_url(redis_dsn)
    try:
        records = await _records(client, run_id)
        messaged = await _messaged_kinds(client, run_id, incidents)
    finally:
        await client.aclose()
    by_kind = Counter(kind for kind, _ in incidents)
    not_told = sorted(
        f"{r.match['order_id']}:{r.match['kind']}: {r.match['reason']}"
        for r in records
        if r.match is not None and not r.match["told_first"] and not r.match["raised"]
    )
    return ToldFirstReport(told_first_figures(records, by_kind), messaged, bar, not_told)


async def _records(client: aioredis.Redis, run_id: str) -> list[ContactRecord]:
    keys = [key async for key in client.scan_iter(match=names.CONTACT + f"{run_id}-*", count=1000)]
    records = [decode_record(raw) for raw in (await client.mget(keys) if keys else []) if raw]
    return [_unprefixed(record, run_id) for record in records]


def _unprefixed(record: ContactRecord, run_id: str) -> ContactRecord:
    contact = record.contact
    strip = f"{run_id}-"
    order_id = contact.order_id.removeprefix(strip) if contact.order_id else None
    plain = msgspec.structs.replace(
        contact, event_id=contact.event_id.removeprefix(strip), order_id=order_id,
        passenger_id=contact.passenger_id.removeprefix(strip),
    )  # fmt: skip
    match = record.match
    if match is not None:
        match = {**match, "incident_id": match["incident_id"].removeprefix(strip),
                 "order_id": match["order_id"].removeprefix(strip)}  # fmt: skip
    return ContactRecord(contact=plain, recorded_at=record.recorded_at, match=match)


async def _messaged_kinds(client: aioredis.Redis, run_id: str, incidents: list[tuple[str, str]]) -> set[str]:
    store = ContactStore(client)
    kinds: set[str] = set()
    for kind, order_id in incidents:
        if kind in kinds:
            continue
        prefixed = f"{run_id}-{order_id}"
        first_at, _ = await store.first_message(prefixed, f"{prefixed}:{kind}")
        if first_at is not None:
            kinds.add(kind)
    return kinds


def format_told_first(report: ToldFirstReport) -> str:
    head = (
        f"{'told first':<27}{'incidents':>10}{'contacted':>10}{'told':>6}{'share':>8}"
        f"{'lead p50':>10}{'lead p90':>10}{'per inc.':>9}"
    )
    lines = [head, "-" * len(head)]
    kinds = report.figures["kinds"]
    ordered = [k for k in BUILTIN_KINDS if k in kinds] + sorted(set(kinds) - set(BUILTIN_KINDS))
    rows = {**{k: kinds[k] for k in ordered}, OVERALL: report.figures["overall"]}
    for kind, row in rows.items():
        mark = (
            "  FAIL"
            if kind in report.failing()
            else ("" if kind in report.messaged_kinds or kind == OVERALL else "  (no message sent)")
        )
        lines.append(
            f"{kind:<27}{row['incidents']:>10}{row['incidents_contacted']:>10}{row['told_first']:>6}"
            f"{_pct(row['told_first_share']):>8}{_secs(row['lead_p50_s']):>10}{_secs(row['lead_p90_s']):>10}"
            f"{_num(row['contact_rate']):>9}{mark}"
        )
    unmatched = report.figures["unmatched"]
    topics = ", ".join(f"{t} {n}" for t, n in unmatched["by_topic"].items()) or "none"
    lines.append(f"\nunmatched contacts: {unmatched['total']} ({topics})")
    lines.append(f"told-first bar: {report.bar:.0%} for every kind whose passengers were messaged")
    if report.not_told:
        more = f" (+{len(report.not_told) - 10} more)" if len(report.not_told) > 10 else ""
        lines.append("contacts before our first message:" + more)
        lines += [f"  {item}" for item in report.not_told[:10]]
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}s"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


# --- outreach for the run -------------------------------------------------------------------


@contextmanager
def outreach_for_run(settings: Settings, folder: Path, timeout_s: float = 60.0) -> Iterator[None]:
    """`tripwatch sandbox` and `tripwatch outreach` (its own consumer group) for one evaluation."""
    port = free_port(settings.embedded_host)
    values = sandbox_settings(f"http://{settings.embedded_host}:{port}")
    isolated = settings.replace(
        app_id=f"tripwatch-eval-{uuid.uuid4().hex[:8]}", sandbox_port=port, outreach_port=0
    )
    env = (
        dict(os.environ) | isolated.as_environment() | {ENV_PREFIX + k.upper(): v for k, v in values.items()}
    )
    with ExitStack() as stack:
        sandbox = _child(stack, "sandbox", env, folder / "sandbox.log")
        _wait(lambda: port_is_open(settings.embedded_host, port), sandbox, "the sandbox", timeout_s)
        outreach = _child(stack, "outreach", env, folder / "outreach.log")
        log_path = folder / "outreach.log"
        _wait(lambda: OUTREACH_READY in log_path.read_text(errors="replace"), outreach, "outreach", timeout_s)
        yield


def _child(stack: ExitStack, command: str, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    sink = stack.enter_context(log_path.open("wb"))
    process = spawn([sys.executable, "-m", "tripwatch.cli", command], env, sink)
    stack.callback(stop_process, command, process)
    return process


def _wait(ready: Any, process: subprocess.Popen[bytes], what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up (exit code {process.poll()})")
        time.sleep(0.1)
