"""Access over plain HTTP: sign-in, throttling, sessions, CSRF, origin checks, roles."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import orjson
import pytest

from tests.dashboard.conftest import PASSWORD


async def sign_in(
    board, name: str, password: str = PASSWORD, address: str | None = None
) -> tuple[aiohttp.ClientSession, int, str]:
    """A signed-in HTTP client (as a browser would be), the status of the sign-in, and the CSRF token.

    `address`: another loopback address (127.0.0.x) to come from, as a different machine would.
    """
    url = board.url.replace("localhost", "127.0.0.1") if address else board.url
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[url])
    connector = aiohttp.TCPConnector(local_addr=(address, 0)) if address else None
    client = aiohttp.ClientSession(base_url=url, cookie_jar=jar, connector=connector)
    async with client.get("/login") as page:
        token = re.search(r'name="csrf" value="([^"]+)"', await page.text()).group(1)
    async with client.post(
        "/login", data={"user": name, "password": password, "csrf": token},
        headers={"Origin": url}, allow_redirects=False,
    ) as response:  # fmt: skip
        status = response.status
    csrf = ""
    if status == 302:
        async with client.get("/") as page:
            csrf = re.search(r'name="csrf-token" content="([^"]+)"', await page.text()).group(1)
    return client, status, csrf


async def test_board_requires_sign_in(board):
    async with aiohttp.ClientSession() as client:
        async with client.get(board.url + "/", allow_redirects=False) as response:
            assert response.status == 302 and response.headers["Location"].startswith("/login")
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        async with client.get(board.url + "/login") as response:
            assert response.headers["X-Frame-Options"] == "DENY"
            assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
        async with client.get(board.url + "/api/board") as response:
            assert response.status == 401


async def test_session_cookie_is_secure_http_only_same_site(board, users):
    client, status, _ = await sign_in(board, users.viewer)
    async with client:
        assert status == 302
        cookie = next(c for c in client.cookie_jar if c.key == "tw_session")
        assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Strict"


async def test_wrong_password_then_throttled(board, users, redis_client):
    for _ in range(3):  # board_settings: 3 failures per window
        client, status, _ = await sign_in(board, users.admin, "wrong password!")
        await client.close()
        assert status == 401
    client, status, _ = await sign_in(board, users.admin)  # right password, but blocked now
    await client.close()
    assert status == 429
    redis_client.delete(f"tw:signin-failures:user:{users.admin}@127.0.0.1", "tw:signin-failures:ip:127.0.0.1")
    client, status, _ = await sign_in(board, users.admin)
    await client.close()
    assert status == 302
    audit = [orjson.loads(raw) for raw in redis_client.lrange("tw:audit", 0, 20)]
    mine = [(a["action"], a["actor"]) for a in audit if a["actor"] == users.admin]
    assert mine[0] == ("signin", users.admin) and mine.count(("signin.refused", users.admin)) == 3


async def test_concurrent_wrong_passwords_are_refused_with_429(board, users, redis_client):
    """20 guesses at once from one address: the count is atomic, so only the first few reach the hash."""
    address = "127.0.0.3"

    async def guess() -> int:
        client, status, _ = await sign_in(board, users.second, "wrong password!", address=address)
        await client.close()
        return status

    statuses = await asyncio.gather(*(guess() for _ in range(20)))
    redis_client.delete(
        f"tw:signin-failures:user:{users.second}@{address}", f"tw:signin-failures:ip:{address}"
    )
    assert statuses.count(429) >= 15, statuses
    assert statuses.count(429) + statuses.count(401) == 20


async def test_a_stranger_cannot_lock_a_supervisor_out(board, users, redis_client):
    stranger = "127.0.0.4"
    for _ in range(5):
        client, _, _ = await sign_in(board, users.supervisor, "wrong password!", address=stranger)
        await client.close()
    client, status, _ = await sign_in(board, users.supervisor, address=stranger)
    await client.close()
    assert status == 429  # the stranger's address is held back for this name
    client, status, _ = await sign_in(board, users.supervisor)  # the supervisor, from their own machine
    await client.close()
    redis_client.delete(
        f"tw:signin-failures:user:{users.supervisor}@{stranger}", f"tw:signin-failures:ip:{stranger}"
    )
    assert status == 302


async def test_action_needs_csrf_token_and_same_origin(board, users):
    client, status, csrf = await sign_in(board, users.supervisor)
    async with client:
        url = "/api/silences"
        body = {"kind": "pickup_delay", "minutes": 1}
        async with client.post(url, json=body, headers={"Origin": board.url}) as response:
            assert response.status == 403 and "CSRF" in await response.text()
        headers = {"Origin": "http://evil.example", "X-CSRF-Token": csrf}
        async with client.post(url, json=body, headers=headers) as response:
            assert response.status == 403
        headers = {"Origin": board.url, "X-CSRF-Token": csrf}
        async with client.post(url, json=body, headers=headers) as response:
            assert response.status == 200
            silence_id = (await response.json())["silence_id"]
        async with client.delete(f"{url}/{silence_id}", headers=headers) as response:
            assert response.status == 200


async def test_viewer_cannot_act(board, users):
    client, status, csrf = await sign_in(board, users.viewer)
    async with client:
        headers = {"Origin": board.url, "X-CSRF-Token": csrf}
        async with client.post("/api/silences", json={"minutes": 5}, headers=headers) as response:
            assert response.status == 403
        async with client.post("/api/incidents/x:y/acknowledge", json={}, headers=headers) as response:
            assert response.status == 403


@pytest.mark.parametrize("origin", ["http://evil.example", None])
async def test_websocket_refuses_other_origins(board, users, origin):
    client, _, _ = await sign_in(board, users.viewer)
    async with client:
        headers = {"Origin": origin} if origin else {}
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect("/ws", headers=headers)
        assert refused.value.status == 403


async def test_websocket_refuses_strangers(board):
    async with aiohttp.ClientSession() as client:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(board.url + "/ws", headers={"Origin": board.url})
        assert refused.value.status == 401


async def test_sign_out_ends_the_session(board, users):
    client, _, csrf = await sign_in(board, users.viewer)
    async with client:
        async with client.post("/logout", data={"csrf": csrf}, headers={"Origin": board.url}) as response:
            assert response.status == 200  # followed to the sign-in page
        async with client.get("/api/board") as response:
            assert response.status == 401


async def test_metrics_endpoint(board):
    async with aiohttp.ClientSession() as client:
        async with client.get(board.url + "/metrics") as response:
            text = await response.text()
    assert "tripwatch_board_clients" in text and "tripwatch_board_signins_total" in text


async def test_removed_user_is_signed_out(board, users):
    from dashboard.keys import USERS

    store = board.app[USERS]
    await store.add("gone-" + users.viewer, PASSWORD, "supervisor")
    client, status, _ = await sign_in(board, "gone-" + users.viewer)
    async with client:
        async with client.get("/api/board") as response:
            assert response.status == 200
        await store.remove("gone-" + users.viewer)
        async with client.get("/api/board") as response:
            assert response.status == 401


async def test_no_server_version_and_hsts_only_when_tls_ends_in_front(board, board_settings):
    from aiohttp import web

    from core.ports import free_port
    from dashboard.main import init_app

    async with aiohttp.ClientSession() as client:
        async with client.get(board.url + "/login") as response:
            assert response.headers["Server"] == "Tripwatch"
            assert "Strict-Transport-Security" not in response.headers
        async with client.get(board.url + "/static/board.css") as response:
            assert response.headers["Server"] == "Tripwatch"
    runner = web.AppRunner(init_app(board_settings.replace(tls_terminated_in_front=True)))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with (
            aiohttp.ClientSession() as client,
            client.get(f"http://127.0.0.1:{port}/login") as response,
        ):
            assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    finally:
        await runner.cleanup()


def test_the_map_tiles_host_and_no_other_may_serve_images():
    from dashboard.middlewares import content_policy

    assert "img-src 'self' data: https://tile.openstreetmap.org;" in content_policy(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    )
    assert "img-src 'self' data:;" in content_policy("")
