"""The board's rules page: rules with state, version and fires; workers' versions; refusals; drafts."""

from __future__ import annotations

import html
import re
import time

import aiohttp
import orjson

from core import names
from rules import reload
from rules.loader import load_rules
from rules.reload import RuleReloader
from tests.rules.conftest import PASSWORD

RULES = (
    "macros:\n  night: time.hour >= 22 || time.hour < 5\n"
    "rules:\n"
    "  - id: pickup-delay\n    kind: pickup_delay\n"
    "  - id: sos\n    kind: sos\n    enabled: false\n"
)


async def signed_in(url: str, user: str) -> aiohttp.ClientSession:
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[url])
    client = aiohttp.ClientSession(base_url=url, cookie_jar=jar)
    async with client.get("/login") as page:
        token = re.search(r'name="csrf" value="([^"]+)"', await page.text()).group(1)
    form = {"user": user, "password": PASSWORD, "csrf": token}
    async with client.post("/login", data=form, headers={"Origin": url}, allow_redirects=False) as response:
        assert response.status == 302
    return client


async def page_text(client: aiohttp.ClientSession, url: str, draft: str | None = None) -> str:
    if draft is None:
        async with client.get("/rules") as response:
            assert response.status == 200
            return html.unescape(await response.text())
    text = await page_text(client, url)
    csrf = re.search(r'name="csrf" value="([^"]+)"', text).group(1)
    form = {"csrf": csrf, "name": "pickup.yaml", "draft": draft}
    async with client.post("/rules/check", data=form, headers={"Origin": url}) as response:
        assert response.status == 200
        return html.unescape(await response.text())


async def opened_incident(redis, order_id: str, rule_id: str, at_ms: int) -> None:
    incident = {"incident_id": f"{order_id}:x", "rule_id": rule_id, "kind": "x", "opened_at": at_ms}
    await redis.set(names.incident_key(f"{order_id}:x"), orjson.dumps(incident))
    await redis.zadd(names.INCIDENTS_ALL, {f"{order_id}:x": at_ms})


async def test_every_rule_with_state_version_and_fires_and_each_workers_version(private_redis, rules_board):
    url, user = rules_board
    rule_set = load_rules({"pickup.yaml": RULES})
    worker = RuleReloader(private_redis, rule_set, lambda _: None, worker="host-a:1")
    await worker.start()  # nothing published: this worker publishes its set
    now = int(time.time() * 1000)
    for n, age_ms in enumerate((60_000, 120_000, 2 * 3_600_000)):
        await opened_incident(private_redis, f"o-{n}", "pickup-delay", now - age_ms)
    client = await signed_in(url, user)
    try:
        text = await page_text(client, url)
    finally:
        await client.close()
    assert f'<code id="published-version">{rule_set.version}</code>' in text
    assert f"<td>host-a:1</td><td><code>{rule_set.version}</code></td>" in text
    pickup = re.search(r'<tr data-rule="pickup-delay".*?</tr>', text, re.DOTALL).group(0)
    assert "<td>enabled</td>" in pickup and rule_set.by_id("pickup-delay").version in pickup
    assert '<td class="fires">2</td>' in pickup and "pickup.yaml:4" in pickup
    sos = re.search(r'<tr data-rule="sos".*?</tr>', text, re.DOTALL).group(0)
    assert "<td>disabled</td>" in sos and '<td class="fires">0</td>' in sos


async def test_a_refused_change_is_shown_with_its_problems(private_redis, rules_board):
    url, user = rules_board
    good = load_rules({"pickup.yaml": RULES})
    worker = RuleReloader(private_redis, good, lambda _: None, worker="host-a:1")
    await worker.start()
    await reload.publish(
        private_redis, {"pickup.yaml": RULES.replace("pickup_delay", "pickup_dealy")}, "bad-1"
    )
    await worker.check()
    client = await signed_in(url, user)
    try:
        text = await page_text(client, url)
    finally:
        await client.close()
    refused = re.search(r'<div id="rules-refused">.*?</div>', text, re.DOTALL).group(0)
    assert "<code>bad-1</code>" in refused and f"<code>{good.version}</code> kept running" in refused
    assert "pickup.yaml:5:11: rules.0.kind: unknown kind 'pickup_dealy'" in refused


async def test_a_pasted_draft_is_checked_with_errors_at_their_lines(private_redis, rules_board):
    url, user = rules_board
    await reload.publish_rule_set(private_redis, load_rules({"pickup.yaml": RULES}))
    client = await signed_in(url, user)
    try:
        bad = await page_text(client, url, RULES.replace("kind: sos", "kind: sos\n    when: nigth && true"))
        good = await page_text(client, url, RULES.replace("kind: sos", "kind: sos\n    when: night"))
    finally:
        await client.close()
    assert '<p id="draft-verdict"><strong>Refused.</strong></p>' in bad
    assert (
        '<li value="8" class="has-problem"><code>    when: nigth && true</code>\n'
        "        <br><mark class=\"problem\">line 8, col 11: rules.1.when: unknown macro or list 'nigth' "
        "(did you mean 'night'?)</mark></li>"
    ) in bad
    expected = load_rules({"pickup.yaml": RULES.replace("kind: sos", "kind: sos\n    when: night")}).version
    assert f"Accepted: the set with this draft would be version\n      <code>{expected}</code>" in good


async def test_an_alias_bomb_draft_is_refused_at_its_line(private_redis, rules_board):
    from tests.rules.test_limits import alias_bomb

    url, user = rules_board
    client = await signed_in(url, user)
    try:
        started = time.monotonic()
        text = await page_text(client, url, alias_bomb(9))
    finally:
        await client.close()
    assert time.monotonic() - started < 10
    assert '<p id="draft-verdict"><strong>Refused.</strong></p>' in text
    assert "aliases (*name) are not allowed in rule files" in text


async def test_a_slow_draft_check_leaves_the_loop_free_and_is_cut_off(monkeypatch):
    import asyncio

    from dashboard import rules_views

    def slow_check(files, name, text):
        time.sleep(1.5)
        raise AssertionError("the answer should not wait for this check")

    monkeypatch.setattr(rules_views.overview, "check_draft", slow_check)
    monkeypatch.setattr(rules_views, "DRAFT_CHECK_S", 0.5)
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    running = asyncio.create_task(ticker())
    check = await rules_views.checked_off_loop({}, "d.yaml", "rules: []\n")
    running.cancel()
    assert not check.accepted and check.elsewhere == ["d.yaml: refused: not checked within 0.5 s"]
    assert ticks >= 5  # the loop kept running while the check was busy
