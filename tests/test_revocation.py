"""Revoking tokens: a link, the short-lived grants exchanged for it, or every token of a
session; the list survives a restart and holds no token."""

from __future__ import annotations

import time

from server.audit import token_id
from tests.serverutil import bearer, running_server, token_of


async def test_revoked_links_and_their_grants_stop_working(tmp_path):
    async with running_server(tmp_path, grant_ttl_s=600.0) as run:
        s = await run.create(["a", "b"])
        sid = s["id"]
        info = f"{run.url}/api/sessions/{sid}/join-info"
        link_a, link_b = token_of(s["links"]["join"]["a"]), token_of(s["links"]["join"]["b"])

        async def status(token: str) -> int:
            async with run.http.get(info, headers=bearer(token)) as r:
                return r.status

        async with run.http.post(f"{run.url}/api/grant", headers=bearer(link_a)) as r:
            grant = await r.json()
        assert r.status == 200 and time.time() + 590 < grant["expires"] <= time.time() + 600
        assert await status(grant["token"]) == 200
        async with run.http.post(f"{run.url}/api/tokens/revoke", headers=bearer(link_a),
                                 json={"token_id": token_id(link_a)}) as r:
            assert r.status == 403  # only HR revokes
        async with run.http.post(f"{run.url}/api/tokens/revoke", headers=run.hr(),
                                 json={"token": link_a}) as r:
            assert r.status == 200
        assert await status(link_a) == 401 and await status(grant["token"]) == 401
        assert await status(link_b) == 200  # the other candidate's link still works
        assessor = s["assessor_token"]
        async with run.http.post(f"{run.url}/api/tokens/revoke", headers=run.hr(),
                                 json={"session": sid}) as r:
            assert r.status == 200
        assert await status(link_b) == 401
        async with run.http.get(f"{run.url}/api/sessions/{sid}", headers=bearer(assessor)) as r:
            assert r.status == 401 and "revoked" in (await r.json())["error"]
        fresh = run.server.token("candidate", sid, "b")  # links issued after still work
        assert await status(fresh) == 200
        async with run.http.post(f"{run.url}/api/tokens/revoke", headers=run.hr(),
                                 json={}) as r:
            assert r.status == 400
    async with running_server(tmp_path) as run:  # the list is kept
        async with run.http.get(f"{run.url}/api/sessions/{sid}/join-info",
                                headers=bearer(link_a)) as r:
            assert r.status == 401
    kept = (tmp_path / "revoked.json").read_text()
    assert link_a not in kept and link_a.split(".")[1] not in kept
    assert (tmp_path / "revoked.json").stat().st_mode & 0o777 == 0o600
    audit = (tmp_path / "audit.jsonl").read_text()
    assert audit.count('"token.revoke"') == 2 and link_a not in audit
