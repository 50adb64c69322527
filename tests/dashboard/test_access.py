"""Access over plain HTTP: sign-in, throttling, sessions, CSRF, origin checks, roles."""

from __future__ import annotations

import re

import aiohttp
import orjson
import pytest

from tests.dashboard.conftest import PASSWORD


async def sign_in(board, name: str, password: str = PASSWORD) -> tuple[aiohttp.ClientSession, int, str]:
    """A signed-in HTTP client (as a browser would be), the status of the sign-in, and the CSRF token."""
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[board.url])
    client = aiohttp.ClientSession(base_url=board.url, cookie_jar=jar)
    async with client.get("/login") as page:
        token = re.search(r'name="csrf" value="([^"]+)"', await page.text()).group(1)
    async with client.post(
        "/login", data={"user": name, "password": password, "csrf": token},
        headers={"Origin": board.url}, allow_redirects=False,
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
    redis_client.delete(f"tw:signin-failures:user:{users.admin}", "tw:signin-failures:ip:127.0.0.1")
    client, status, _ = await sign_in(board, users.admin)
    await client.close()
    assert status == 302
    audit = [orjson.loads(raw) for raw in redis_client.lrange("tw:audit", 0, 20)]
    mine = [(a["action"], a["actor"]) for a in audit if a["actor"] == users.admin]
    assert mine[0] == ("signin", users.admin) and mine.count(("signin.refused", users.admin)) == 3


async def test_action_needs_csrf_token_and_same_origin(board, users):
    client, status, csrf = await sign_in(board, users.supervisor)
    async with client:
        url = "/api/silences"
        body = {"kind": "pickup_delay", "city": "nowhere", "minutes": 1}
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
