"""Every read and export of personal data leaves an audit line: who (role, scope, a token
fingerprint), what, when; no names and no tokens in it."""

from __future__ import annotations

from server.audit import token_id
from tests.serverutil import running_server


async def test_reads_and_exports_are_audited(tmp_path):
    async with running_server(tmp_path, auto_start=False) as run:
        s = await run.create(["p1", "p2"], participants=[{"id": "p1", "name": "Wombat张"},
                                                        {"id": "p2", "name": "王芳"}])
        sid, hr = s["id"], run.hr()
        await run.server.live[sid].start()
        async with run.http.post(f"{run.url}/api/sessions/{sid}/end", headers=hr) as r:
            assert r.status == 200
        base = f"{run.url}/api/sessions/{sid}"
        for path in ("/report", "/export.csv", "/export.json?candidate=p1"):
            async with run.http.get(base + path, headers=hr) as r:
                assert r.status == 200
        async with run.http.post(f"{base}/feedback/p1/release", headers=hr) as r:
            link = (await r.json())["link"]
        async with run.http.get(link) as r:
            assert r.status == 200
        token = run.server.token("hr")
        async with run.http.get(f"{run.url}/api/campaign?token={token}&role=x") as r:
            assert r.status == 200
        entries = run.server.audit_log.read()
    actions = [e["action"] for e in entries]
    for want in ("report.read", "export.csv", "export.json", "feedback.release",
                 "feedback.read", "campaign.read"):
        assert want in actions, (want, actions)
    feedback = next(e for e in entries if e["action"] == "feedback.read")
    assert feedback["who"]["role"] == "candidate" and feedback["who"]["who"] == "p1"
    assert feedback["session"] == sid and feedback["candidate"] == "p1"
    assert feedback["who"]["token"] == token_id(link.split("token=")[1])
    campaign = next(e for e in entries if e["action"] == "campaign.read")
    assert campaign["query"] == {"role": "x"}  # filters kept, the token not
    text = (tmp_path / "audit.jsonl").read_text()
    assert "Wombat" not in text and token not in text and "token=" not in text
    assert (tmp_path / "audit.jsonl").stat().st_mode & 0o777 == 0o600


async def test_retention_deletes_exactly_what_has_expired(tmp_path):
    import asyncio
    import dataclasses
    import json
    import time
    from datetime import UTC, datetime

    from analysis.settings import Settings
    from server.store import SessionRecord, SessionStore

    settings = dataclasses.replace(Settings.from_env(), retention_days=7.0)
    now = time.time()
    store = SessionStore(tmp_path)
    for sid, days_ago in (("old", 10.0), ("mid", 5.0), ("new", 1.0)):
        ended = datetime.fromtimestamp(now - days_ago * 86400, UTC).isoformat()
        store.save(SessionRecord(sid, [("a", "A"), ("b", "B")], "zh", ended, "ended",
                                 ended_at=ended))
        store.save_report(sid, {"session": {"id": sid}})
        (tmp_path / "groups").mkdir(exist_ok=True)
        (tmp_path / "groups" / f"{sid}.json").write_text(json.dumps({"a": {"gender": "f"}}))
    async with running_server(tmp_path, settings) as run:  # sweeps at start-up
        for _ in range(100):
            if not (tmp_path / "sessions" / "old").exists():
                break
            await asyncio.sleep(0.05)
        live = await run.create(["x", "y"])  # not ended: never swept
        store = run.server.store
        assert sorted(r.id for r in store.all()) == sorted(["mid", "new", live["id"]])
        assert not (tmp_path / "groups" / "old.json").exists()
        assert run.server.sweep(now + 3 * 86400) == ["mid"]  # the clock moved on 3 days
        assert run.server.sweep(now + 3 * 86400) == []
        entries = [e for e in run.server.audit_log.read() if e["action"] == "retention.delete"]
        assert [e["session"] for e in entries] == ["old", "mid"]
