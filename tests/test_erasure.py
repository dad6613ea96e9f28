"""Erasing one candidate: their name (also where others said it), their words, measures and
portrait leave every file of the data dir; the others' reports keep the group's timing
under an anonymous id and every field of the schema."""

from __future__ import annotations

import asyncio

from core.events import (
    Act,
    Interruption,
    SpeechEnded,
    SpeechHorizon,
    SpeechStarted,
    Turn,
    Utterance,
)
from tests.serverutil import running_server

NAME = "Zebrafish李"
SECRET = "我的秘密计划是先收购"
SCHEMA_FIELDS = {"schema", "session", "participants", "speech", "speaking_time_s",
                 "speaking_share", "turns", "overlaps", "interruptions", "backchannels",
                 "transcript", "acts", "graph", "portraits"}


async def test_erasing_a_candidate_leaves_no_trace(tmp_path):
    async with running_server(tmp_path, auto_start=False) as run:
        s = await run.create(["zb", "B", "C"], participants=[
            {"id": "zb", "name": NAME}, {"id": "B", "name": "王芳"}, {"id": "C", "name": "李娜"}],
            assessors=[{"id": "a1", "lead": True}])
        sid, hr = s["id"], run.hr()
        live = run.server.live[sid]
        await live.start()
        await live.analysed(live.feed_events([
            SpeechStarted("zb", 0.5), SpeechEnded("zb", 0.5, 4.0), Turn("zb", 0.5, 4.0),
            Utterance("zb", 0.5, 4.0, SECRET, (), "zh"),
            SpeechStarted("B", 3.5), Interruption("B", "zb", 3.5, True),
            SpeechEnded("B", 3.5, 8.0), Turn("B", 4.0, 8.0),
            Utterance("B", 3.5, 8.0, f"我同意{NAME}的看法", (), "zh"),
            Act("support", "B", "zb", 3.5, f"我同意{NAME}的看法", "rule", 1.0),
            SpeechStarted("C", 8.5), SpeechEnded("C", 8.5, 12.0), Turn("C", 8.5, 12.0),
            SpeechHorizon(14.0)]))
        await asyncio.sleep(0.3)
        base = f"{run.url}/api/sessions/{sid}"
        async with run.http.post(f"{base}/end", headers=hr) as r:
            before = await r.json()
        a1 = {"Authorization": f"Bearer {s['links']['assessors']['a1'].split('token=')[1]}"}
        async with run.http.post(f"{base}/notes", headers=a1, json={
                "candidate": "zb", "at": 1.0, "text": f"{NAME} opened well"}) as r:
            assert r.status == 201
        async with run.http.put(f"{base}/groups/zb", headers=hr, json={"gender": "f"}) as r:
            assert r.status == 200
        async with run.http.post(f"{base}/decisions/zb", headers=hr,
                                 json={"decision": "hold", "by": "HR"}) as r:
            assert r.status == 200
        async with run.http.delete(f"{base}/candidates/zb", headers=hr) as r:
            anon = (await r.json())["erased_as"]
        assert r.status == 200 and anon == "erased-1"
        async with run.http.get(f"{base}/report", headers=hr) as r:
            after = await r.json()
        stored_events = run.server.store.events(sid)
    for f in tmp_path.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            for needle in (NAME, "Zebrafish", SECRET, "秘密计划"):
                assert needle.encode() not in data, (f, needle)
    assert SCHEMA_FIELDS <= set(after)
    assert [p["id"] for p in after["participants"]] == [anon, "B", "C"]
    assert set(after["portraits"]) == {"B", "C"} and anon not in after["nonverbal"]
    assert after["speech"][anon] == before["speech"]["zb"]  # the group's timing stays
    assert after["speaking_share"] == {(anon if p == "zb" else p): v
                                       for p, v in before["speaking_share"].items()}
    assert after["interruptions"] == [{"by": "B", "of": anon, "at": 3.5, "successful": True}]
    assert [u["who"] for u in after["transcript"]] == ["B"]
    assert after["transcript"][0]["text"] == "我同意[erased]的看法"
    assert after["portraits"]["B"]["dimensions"] == {
        k: {**d, "evidence": [
            {**e, "detail": e["detail"].replace("zb", anon).replace(NAME, "[erased]")}
            for e in d["evidence"]]}
        for k, d in before["portraits"]["B"]["dimensions"].items()}
    assert not any(getattr(e, "who", None) == "zb" or getattr(e, "by", None) == "zb"
                   for e in stored_events)
    assert after["erased"] == [anon]
