"""Short-lived TURN credentials per candidate (TURN REST API / coturn use-auth-secret)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from tests.serverutil import bearer, running_server, token_of

SECRET = "shared-with-coturn"


def coturn_accepts(username: str, credential: str, now: float) -> bool:
    """What coturn does with `use-auth-secret`: the password is the username's HMAC-SHA1
    under the shared secret, and the username's timestamp must not have passed."""
    mac = base64.b64encode(hmac.new(SECRET.encode(), username.encode(), hashlib.sha1).digest())
    return hmac.compare_digest(mac.decode(), credential) and int(username.split(":")[0]) > now


async def test_each_candidate_gets_their_own_expiring_turn_credentials(tmp_path):
    static = [{"urls": "stun:stun.example.com:3478"}]
    async with running_server(tmp_path, ice_servers=json.dumps(static), turn_secret=SECRET,
                              turn_urls='["turn:turn.example.com:3478"]',
                              turn_ttl_s=3600.0) as run:
        s = await run.create(["a", "b"])
        got = {}
        for who in ("a", "b"):
            async with run.http.get(f"{run.url}/api/sessions/{s['id']}/join-info",
                                    headers=bearer(token_of(s["links"]["join"][who]))) as r:
                got[who] = (await r.json())["ice_servers"]
    now = time.time()
    for who, servers in got.items():
        assert servers[0] == static[0]  # the static ones stay
        turn = servers[1]
        assert turn["urls"] == ["turn:turn.example.com:3478"]
        assert turn["username"].endswith(f":{s['id']}.{who}")
        assert coturn_accepts(turn["username"], turn["credential"], now)
        assert not coturn_accepts(turn["username"], turn["credential"], now + 3700)  # expired
        assert now + 3500 < int(turn["username"].split(":")[0]) <= now + 3600
    assert got["a"][1]["credential"] != got["b"][1]["credential"]
    forged = got["a"][1]["username"].replace(".a", ".b")  # a's password for b's name
    assert not coturn_accepts(forged, got["a"][1]["credential"], now)
