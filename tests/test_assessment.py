"""Assessors as people: their own links, bookmarks and notes on moments, blind ratings on
the 1–5 scale, the wash-up (machine vs people, flags with evidence, agreement) and the lead's
consensus. Tokens: candidates reach none of it; the shared link cannot rate; one assessor
cannot read another's ratings before both submitted."""

from __future__ import annotations

import asyncio

from core.events import Interruption, SpeechEnded, SpeechHorizon, SpeechStarted, Turn
from server.assessment import machine_on_scale
from tests.serverutil import bearer, running_server, token_of


async def test_the_assessor_workflow(tmp_path):
    async with running_server(tmp_path, auto_start=False) as run:
        s = await run.create(["A", "B", "C", "D"], assessors=[
            {"id": "a1", "name": "李评委", "lead": True}, {"id": "a2", "candidates": ["A", "B"]}])
        sid = s["id"]
        a1, a2 = (bearer(token_of(s["links"]["assessors"][a])) for a in ("a1", "a2"))
        shared = bearer(s["assessor_token"])
        cand = bearer(token_of(s["links"]["join"]["A"]))
        base = f"{run.url}/api/sessions/{sid}"
        live = run.server.live[sid]
        await live.start()
        await live.analysed(live.feed_events([
            SpeechStarted("A", 0.5), SpeechEnded("A", 0.5, 6.0), Turn("A", 0.5, 6.0),
            SpeechStarted("B", 5.0), Interruption("B", "A", 5.0, True), SpeechEnded("B", 5.0, 11),
            Turn("B", 6.0, 11.0), SpeechHorizon(14.0)]))
        await asyncio.sleep(0.2)
        async with run.http.post(f"{base}/notes", json={"kind": "bookmark"}, headers=a1) as r:
            mark = await r.json()
        assert r.status == 201 and mark["at"] >= 0  # one key: the current moment
        note = {"candidate": "B", "dimension": "turn_taking", "at": 5.0,
                "text": "cut in on A and held the floor"}
        async with run.http.post(f"{base}/notes", json=note, headers=a1) as r:
            assert r.status == 201
        async with run.http.post(f"{base}/notes", json={"candidate": "C"}, headers=a2) as r:
            assert r.status == 400  # not one of a2's candidates
        async with run.http.post(f"{base}/notes", json={"kind": "bookmark"}, headers=shared) as r:
            assert r.status == 403  # the shared dashboard link is nobody in particular
        async with run.http.get(f"{base}/notes", headers=cand) as r:
            assert r.status == 403  # candidates reach no notes
        async with run.http.post(f"{base}/end", headers=run.hr()) as r:
            report = await r.json()
        async with run.http.get(f"{base}/notes", headers=a2) as r:
            assert await r.json() == {"a2": []}  # only their own
        mine = {p: {"turn_taking": 1 if p == "B" else 4, "participation": 3} for p in "ABCD"}
        async with run.http.put(f"{base}/ratings", json=mine, headers=a1) as r:
            assert r.status == 200
        async with run.http.put(f"{base}/ratings", json={"A": {"support": 9}}, headers=a2) as r:
            assert r.status == 400
        async with run.http.put(f"{base}/ratings", json={
                "A": {"turn_taking": 5, "participation": 3},
                "B": {"turn_taking": 2, "participation": 4}}, headers=a2) as r:
            assert r.status == 200
        async with run.http.post(f"{base}/ratings/submit", headers=a1) as r:
            assert (await r.json())["everyone"] is False
        async with run.http.get(f"{base}/ratings", headers=a1) as r:
            seen = await r.json()
        assert seen["mine"]["B"]["turn_taking"] == 1 and seen["all"] is None  # blind
        async with run.http.get(f"{base}/washup", headers=a1) as r:
            assert r.status == 409
        async with run.http.put(f"{base}/ratings", json={"A": {"turn_taking": 1}},
                                headers=a1) as r:
            assert r.status == 409  # submitted is final
        async with run.http.post(f"{base}/ratings/submit", headers=a2) as r:
            assert (await r.json())["everyone"] is True
        async with run.http.get(f"{base}/ratings", headers=a2) as r:
            assert set((await r.json())["all"]) == {"a1", "a2"}
        async with run.http.get(f"{base}/washup", headers=a2) as r:
            wash = await r.json()
        b = wash["candidates"]["B"]["turn_taking"]
        assert b["ratings"] == {"a1": 1, "a2": 2} and b["mean"] == 1.5
        score = report["portraits"]["B"]["dimensions"]["turn_taking"]["score"]
        assert b["machine"] == machine_on_scale(score) and b["machine_score"] == score
        assert b["flag"] == (abs(b["machine"] - 1.5) >= 1.5)
        if b["flag"]:
            assert b["evidence"] == report["portraits"]["B"]["dimensions"]["turn_taking"][
                "evidence"]
        assert wash["agreement"]["turn_taking"]["n"] == 2  # A and B: rated by both
        async with run.http.post(f"{base}/consensus/B", headers=a2, json={
                "dimension": "turn_taking", "rating": 2, "reason": "agreed"}) as r:
            assert r.status == 403  # the lead records it
        async with run.http.post(f"{base}/consensus/B", headers=a1, json={
                "dimension": "turn_taking", "rating": 2, "reason": "interrupted A once"}) as r:
            assert r.status == 200
        async with run.http.get(f"{base}/washup", headers=run.hr()) as r:
            final = (await r.json())["candidates"]["B"]["turn_taking"]["consensus"]
        assert final["rating"] == 2 and final["by"] == "a1"
    assert machine_on_scale(0) == 1 and machine_on_scale(50) == 3 and machine_on_scale(100) == 5


async def test_the_assessment_is_in_the_report_and_the_export(tmp_path):
    async with running_server(tmp_path, auto_start=False) as run:
        s = await run.create(["A", "B"], assessors=[{"id": "a1", "lead": True}], phases=[])
        sid, hr = s["id"], run.hr()
        a1 = bearer(token_of(s["links"]["assessors"]["a1"]))
        base = f"{run.url}/api/sessions/{sid}"
        await run.server.live[sid].start()
        async with run.http.post(f"{base}/end", headers=hr) as r:
            assert r.status == 200
        async with run.http.post(f"{base}/notes", json={"candidate": "A", "at": 1.0,
                                                        "text": "opened"}, headers=a1) as r:
            assert r.status == 201
        async with run.http.get(f"{base}/report", headers=hr) as r:
            section = (await r.json())["assessment"]
        assert section["ratings"] is None and section["notes"]["a1"][0]["text"] == "opened"
        async with run.http.put(f"{base}/ratings", json={"A": {"support": 4}}, headers=a1) as r:
            assert r.status == 200
        async with run.http.post(f"{base}/ratings/submit", headers=a1) as r:
            assert r.status == 200
        async with run.http.get(f"{base}/export.json", headers=hr) as r:
            exported = (await r.json())["assessment"]
        assert exported["ratings"] == {"a1": {"A": {"support": 4}}} and "agreement" in exported
