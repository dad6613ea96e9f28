"""Assessors as people: their own links, bookmarks and notes on moments, blind ratings on
the 1–5 scale, the wash-up (machine vs people, flags with evidence, agreement) and the lead's
consensus. Tokens: candidates reach none of it; the shared link cannot rate; one assessor
cannot read another's ratings before both submitted."""

from __future__ import annotations

import asyncio

from core.events import Interruption, SpeechEnded, SpeechHorizon, SpeechStarted, Turn
from hr.export import parse_assessment_csv, parse_portraits_csv
from hr.washup import machine_on_scale
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
        for path in ("/notes", "/ratings", "/washup", "/report", "/export.json"):
            async with run.http.get(f"{base}{path}", headers=cand) as r:
                assert r.status == 403, path  # candidates reach no notes and no ratings
        async with run.http.put(f"{base}/ratings", json={"A": {"support": 3}},
                                headers=cand) as r:
            assert r.status == 403
        async with run.http.post(f"{base}/end", headers=run.hr()) as r:
            report = await r.json()
        async with run.http.get(f"{base}/notes", headers=a2) as r:
            assert await r.json() == {"a2": []}  # only their own
        async with run.http.get(f"{base}/report", headers=a2) as r:
            assert (await r.json())["assessment"]["notes"] == {}  # nor through the report
        async with run.http.get(f"{base}/export.json", headers=a1) as r:
            assert len((await r.json())["assessment"]["notes"]["a1"]) == 2
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
        async with run.http.get(f"{base}/ratings", headers=run.hr()) as r:
            every = (await r.json())["all"]  # HR reads all; a2 wrote the same cell as a1
        # each writes only their own cells
        assert every["a1"]["B"]["turn_taking"] == 1 and every["a2"]["B"]["turn_taking"] == 2
        async with run.http.get(f"{base}/notes", headers=run.hr()) as r:
            assert len((await r.json())["a1"]) == 2
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
        async with run.http.get(f"{base}/export.assessment.csv", headers=hr) as r:
            assert r.status == 200 and r.content_type == "text/csv"
            rows = parse_assessment_csv(await r.text())
        assert rows["ratings"] == exported["ratings"]
        assert rows["notes"]["a1"][0]["text"] == "opened"
        async with run.http.get(f"{base}/export.csv", headers=hr) as r:
            cells = parse_portraits_csv(await r.text())
        assert cells["A"]["support"]["ratings"] == {"a1": 4}


async def test_hr_sees_sessions_filtered_and_the_assessors_calibration(tmp_path):
    from analysis.settings import Settings
    from hr.calibration import AssessedSession, calibration
    from tests.serverutil import webhook_receiver

    runner, url, got = await webhook_receiver(0)
    settings = Settings.from_env({"LGD_WEBHOOKS_URL": url})
    try:
        async with running_server(tmp_path, settings, auto_start=False) as run:
            hr = run.hr()
            made = []
            for ids, named in ((["A", "B"], "王"), (["C", "D"], "赵")):
                s = await run.create(ids, assessors=[{"id": "a1", "name": named, "lead": True},
                                                     {"id": "a2", "name": "李"}], phases=[])
                await run.server.live[s["id"]].start()
                async with run.http.post(f"{run.url}/api/sessions/{s['id']}/end",
                                         headers=hr) as r:
                    assert r.status == 200
                made.append(s)
            untouched = await run.create(["E", "F"])  # no assessors, never started
            first, second = made
            base = f"{run.url}/api/sessions/{first['id']}"
            tok = {a: bearer(token_of(first["links"]["assessors"][a])) for a in ("a1", "a2")}
            for a, v in (("a1", 5), ("a2", 2)):
                async with run.http.put(f"{base}/ratings", headers=tok[a], json={
                        "A": {"support": v, "leadership": v}, "B": {"support": 3}}) as r:
                    assert r.status == 200
            for a in ("a1", "a2"):
                async with run.http.post(f"{base}/ratings/submit", headers=tok[a]) as r:
                    assert r.status == 200
            for pid, dim, rating in (("A", "support", 4), ("A", "leadership", 3),
                                     ("B", "support", 3)):
                async with run.http.post(f"{base}/consensus/{pid}", headers=tok["a1"], json={
                        "dimension": dim, "rating": rating, "reason": "agreed"}) as r:
                    assert r.status == 200

            async def listed(query: str) -> list[str]:
                async with run.http.get(f"{run.url}/api/sessions?{query}", headers=hr) as r:
                    assert r.status == 200, await r.text()
                    return sorted(x["id"] for x in await r.json())

            assert await listed("") == sorted([first["id"], second["id"], untouched["id"]])
            assert await listed("state=ended") == sorted([first["id"], second["id"]])
            assert await listed("assessed=1") == [first["id"]]
            assert await listed("assessor=赵") == [second["id"]]
            assert await listed("q=name-e") == [untouched["id"]]
            assert await listed("since=2000-01-01&until=2000-12-31") == []
            for bad in ("since=yesterday", "state=open"):
                async with run.http.get(f"{run.url}/api/sessions?{bad}", headers=hr) as r:
                    assert r.status == 400
            async with run.http.get(f"{run.url}/api/sessions", headers=tok["a1"]) as r:
                assert r.status == 403
            async with run.http.get(f"{run.url}/api/sessions?assessed=1", headers=hr) as r:
                row = (await r.json())[0]["assessment"]
            assert row["everyone_submitted"] and row["consensus"] == 3
            async with run.http.get(f"{run.url}/api/calibration", headers=hr) as r:
                cal = (await r.json())["assessors"]
            async with run.http.get(f"{run.url}/api/calibration", headers=tok["a1"]) as r:
                assert r.status == 403
            report = run.server.store.report(first["id"])
            expected = calibration([AssessedSession(
                first["id"], {"a1": {"name": "王"}, "a2": {"name": "李"}},
                {"a1": {"A": {"support": 5, "leadership": 5}, "B": {"support": 3}},
                 "a2": {"A": {"support": 2, "leadership": 2}, "B": {"support": 3}}},
                {"a1": "t", "a2": "t"},
                {"A": {"support": {"rating": 4}, "leadership": {"rating": 3}},
                 "B": {"support": {"rating": 3}}}, report)])["assessors"]
            assert cal == expected and set(cal) == {"王", "李"}  # 赵's session: not submitted
            assert cal["王"]["leniency"] == round((1 + 2 + 0) / 3, 3)
            async with run.http.get(f"{run.url}/sessions?token={run.server.token('hr')}") as r:
                assert r.status == 200 and "calibration" in await r.text()
            await asyncio.sleep(0.3)  # the webhooks run in the background
    finally:
        await runner.cleanup()
    events = [g["headers"]["X-LGD-Event"] for g in got]
    assert events.count("session.ended") == 2
    assert events.count("assessment.submitted") == 1 and events.count("assessment.final") == 1
