"""The worker's /metrics: served by prometheus_client on its own port."""

from __future__ import annotations

import aiohttp

from core.incidents import IncidentChange, transition
from core.ports import free_port
from monitor import metrics


async def test_worker_metrics_are_served_and_count():
    port = free_port()
    metrics.serve("127.0.0.1", port)
    before = _value("tripwatch_incident_changes_total", kind="sos", severity="critical", status="open")
    fast_before = _value("tripwatch_detection_latency_seconds_bucket", le="0.25")
    incident = transition(None, IncidentChange(action="open", kind="sos", order_id="m-1", severity="critical",
                                               trigger_ts=1_000), 1_250)  # fmt: skip
    metrics.observe_incident(incident, 1_250)
    metrics.EVENTS.labels("trip-events").inc(3)
    async with aiohttp.ClientSession() as client, client.get(f"http://127.0.0.1:{port}/metrics") as response:
        text = await response.text()
    assert 'tripwatch_incident_changes_total{kind="sos",severity="critical",status="open"}' in text
    assert 'tripwatch_events_total{topic="trip-events"}' in text
    assert "tripwatch_consumer_lag" in text and "tripwatch_provider_failures" in text
    assert (
        _value("tripwatch_incident_changes_total", kind="sos", severity="critical", status="open")
        == before + 1
    )
    assert _value("tripwatch_detection_latency_seconds_bucket", le="0.25") == fast_before + 1  # 250 ms


def _value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


async def test_the_same_port_serves_healthz_when_given_one():
    port = free_port()
    answers = iter([(200, b'{"status":"ok"}'), (503, b'{"status":"down"}')])
    metrics.serve("127.0.0.1", port, lambda: next(answers))
    async with aiohttp.ClientSession() as client:
        for status, body in ((200, {"status": "ok"}), (503, {"status": "down"})):
            async with client.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert response.status == status
                assert response.content_type == "application/json"
                assert await response.json() == body
        async with client.get(f"http://127.0.0.1:{port}/metrics") as response:
            assert response.status == 200 and "tripwatch_events_total" in await response.text()
