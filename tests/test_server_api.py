"""REST API against a real server: the happy path, and bad input that must get a clear 4xx
and harm no one else (tokens, unknown sessions, hostile SDP, oversized bodies)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from core.events import SpeechEnded, SpeechHorizon, SpeechStarted
from server import tokens
from server.store import EventLog
from tests.serverutil import bearer, give_consent, running_server, token_of, webhook_receiver


async def test_session_lifecycle_and_links(tmp_path):
    async with running_server(tmp_path, auto_start=False) as run:
        s = await run.create(["p1", "p2", "p3", "p4"], language="zh")
        assert set(s["links"]["join"]) == {"p1", "p2", "p3", "p4"}
        assert s["links"]["dashboard"].startswith(run.url + "/dashboard/" + s["id"])
        cand = token_of(s["links"]["join"]["p2"])
        async with run.http.get(
            f"{run.url}/api/sessions/{s['id']}/join-info", headers=bearer(cand)
        ) as r:
            info = await r.json()
        assert r.status == 200 and info["me"] == "p2" and "分析" in info["notice"]
        async with run.http.get(s["links"]["join"]["p2"]) as r:
            assert r.status == 200 and "join.js" in await r.text()
        async with run.http.get(s["links"]["dashboard"]) as r:
            assert r.status == 200 and "dashboard.js" in await r.text()
        sid, assessor = s["id"], bearer(s["assessor_token"])
        async with run.http.post(f"{run.url}/api/sessions/{sid}/start", headers=assessor) as r:
            assert r.status == 200 and (await r.json())["state"] == "live"
        async with run.http.get(f"{run.url}/api/sessions/{sid}/report", headers=assessor) as r:
            partial = await r.json()
        assert partial["schema"] == "lgd.report/1" and len(partial["participants"]) == 4
        async with run.http.post(f"{run.url}/api/sessions/{sid}/end", headers=assessor) as r:
            final = await r.json()
        assert r.status == 200 and final["schema"] == "lgd.report/1"
        async with run.http.post(f"{run.url}/api/sessions/{sid}/end", headers=assessor) as r:
            assert r.status == 409
        async with run.http.get(f"{run.url}/api/sessions/{sid}/report", headers=run.hr()) as r:
            assert r.status == 200 and (await r.json()) == final
        async with run.http.get(f"{run.url}/api/openapi.json") as r:
            spec = await r.json()
        assert "/api/sessions/{sid}/offer" in spec["paths"]


async def test_tokens_are_checked(tmp_path):
    async with running_server(tmp_path) as run:
        a = await run.create(["x", "y"])
        b = await run.create(["x", "y"])
        url = f"{run.url}/api/sessions/{a['id']}/report"
        secret = run.server.secret
        expired = tokens.issue(secret, tokens.Claims("assessor", a["id"], None, time.time() - 1))
        forged = tokens.issue("not-the-secret", tokens.Claims("hr", None, None, time.time() + 99))
        tampered = a["assessor_token"][:-3] + (
            "AAA" if not a["assessor_token"].endswith("AAA") else "BBB"
        )
        cases = {
            "none": ({}, 401),
            "garbage": (bearer("garbage"), 401),
            "expired": (bearer(expired), 401),
            "forged": (bearer(forged), 401),
            "tampered": (bearer(tampered), 401),
            "other session": (bearer(b["assessor_token"]), 403),
            "candidate role": (bearer(token_of(a["links"]["join"]["x"])), 403),
        }
        for name, (headers, status) in cases.items():
            async with run.http.get(url, headers=headers) as r:
                body = await r.json()
                assert r.status == status, name
                assert body["error"], name
        async with run.http.post(
            f"{run.url}/api/sessions", json={}, headers=bearer(a["assessor_token"])
        ) as r:
            assert r.status == 403  # only HR creates sessions


async def test_bad_requests_get_clear_errors_and_harm_no_one(tmp_path):
    async with running_server(tmp_path, max_body_bytes=64 * 1024) as run:
        s = await run.create(["p1", "p2"])
        sid = s["id"]
        cand = bearer(token_of(s["links"]["join"]["p1"]))
        offer = f"{run.url}/api/sessions/{sid}/offer"
        await give_consent(run, s, "p1")
        async with run.http.get(f"{run.url}/api/sessions/nope/report", headers=run.hr()) as r:
            assert r.status == 404 and "unknown session" in (await r.json())["error"]
        async with run.http.get(f"{run.url}/join/nope") as r:
            assert r.status == 404
        bad_offers = [
            b"not json",
            json.dumps([1, 2]).encode(),
            json.dumps({"type": "answer", "sdp": "v=0"}).encode(),
            json.dumps({"type": "offer", "sdp": "hello"}).encode(),
            json.dumps(
                {"type": "offer", "sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=garbage"}
            ).encode(),
            json.dumps(
                {"type": "offer", "sdp": "v=0\r\n" + "m=audio 9 RTP/AVP 0\r\n" * 50}
            ).encode(),
            json.dumps({"type": "offer", "sdp": "v=0\r\n", "slots": {"0": "zz"}}).encode(),
        ]
        for body in bad_offers:
            async with run.http.post(offer, data=body, headers=cand) as r:
                assert r.status == 400, body[:60]
                assert (await r.json())["error"]
        async with run.http.post(offer, data=b"x" * (65 * 1024), headers=cand) as r:
            assert r.status == 413
        big = {"participants": [{"id": "a" * 65, "name": "x"}, {"id": "b"}]}
        async with run.http.post(f"{run.url}/api/sessions", json=big, headers=run.hr()) as r:
            assert r.status == 400
        many = {"participants": [{"id": f"p{i}"} for i in range(9)]}
        async with run.http.post(f"{run.url}/api/sessions", json=many, headers=run.hr()) as r:
            assert r.status == 400
        dup = {"participants": [{"id": "a"}, {"id": "a"}]}
        async with run.http.post(f"{run.url}/api/sessions", json=dup, headers=run.hr()) as r:
            assert r.status == 400
        # a candidate of the list cannot claim a slot of someone not in it
        beyond = tokens.issue(
            run.server.secret, tokens.Claims("candidate", sid, "p9", time.time() + 60)
        )
        body = {"type": "offer", "sdp": "v=0\r\n", "slots": {}}
        async with run.http.post(offer, json=body, headers=bearer(beyond)) as r:
            assert r.status == 400 and "not a candidate" in (await r.json())["error"]
        # the session is still healthy after all that
        async with run.http.get(f"{run.url}/api/sessions/{sid}", headers=run.hr()) as r:
            assert r.status == 200 and (await r.json())["state"] == "created"


async def test_restart_loses_nothing_already_analysed(tmp_path):
    async with running_server(tmp_path, auto_start=False) as run:
        s = await run.create(["p1", "p2"])
        waiting = await run.create(["q1", "q2"])
        live = run.server.live[s["id"]]
        await live.start()
        # what the analysis had published before the server went away
        live._log.append([SpeechStarted("p1", 1.0), SpeechEnded("p1", 1.0, 3.5)])
        with open(live._log.path, "ab") as f:
            f.write(b"\x85\xa4type")  # a record torn by the crash
        live._log.close()
        await live.stop_media()
        live._t0 = None  # simulate a crash: no orderly end
        run.server.live.clear()
    async with running_server(tmp_path) as run:
        async with run.http.get(f"{run.url}/api/sessions/{s['id']}/report", headers=run.hr()) as r:
            report = await r.json()
        assert r.status == 200
        assert report["speech"]["p1"] == [[1.0, 3.5]] and report["speaking_time_s"]["p1"] == 2.5
        async with run.http.get(f"{run.url}/api/sessions/{waiting['id']}", headers=run.hr()) as r:
            assert (await r.json())["state"] == "created"  # still joinable
        async with run.http.get(f"{run.url}/api/sessions/{s['id']}", headers=run.hr()) as r:
            assert (await r.json())["state"] == "live"  # it goes on (tests/test_restart.py)
    logged = EventLog.read(tmp_path / "sessions" / s["id"] / "events.msgpack")
    # what was appended, once; the torn record is gone (what follows it is the resumed
    # session's own)
    speech = [e for e in logged if isinstance(e, SpeechStarted | SpeechEnded)]
    assert speech == [SpeechStarted("p1", 1.0), SpeechEnded("p1", 1.0, 3.5)]


async def test_hr_export_feedback_release_and_session_end_webhook(tmp_path):
    import csv
    import dataclasses
    import io

    from analysis.settings import Settings, WebhookConfig
    from core.events import Interruption, Turn
    from hr.export import parse_portraits_csv
    from hr.webhooks import verify_signature

    runner, url, got = await webhook_receiver()
    profiles = tmp_path / "profiles"  # HR's own job profile, beside the bundled ones
    profiles.mkdir()
    (profiles / "talker.yaml").write_text(
        "id: talker\nversion: 3\nweights: {participation: 0.6, turn_taking: 0.4}\n"
        "thresholds: {advance: 60, hold: 40}\n")
    settings = dataclasses.replace(Settings.from_env(), hr_profiles=profiles,
                                   webhooks=WebhookConfig(url=url, secret="k"))
    try:
        async with running_server(tmp_path, settings, auto_start=False) as run:
            async with run.http.post(f"{run.url}/api/sessions", headers=run.hr(), json={
                    "participants": [{"id": "p1"}, {"id": "p2"}], "profile": "nosuch"}) as r:
                assert r.status == 400 and "talker" in (await r.json())["error"]
            s = await run.create(["p1", "p2", "p3"], profile="talker")
            assert s["profile"] == "talker"
            sid, assessor = s["id"], bearer(s["assessor_token"])
            live = run.server.live[sid]
            await live.start()
            # what the analysis publishes, through the session's own publisher
            events = [
                SpeechStarted("p1", 0.5),
                SpeechEnded("p1", 0.5, 6.0),
                Turn("p1", 0.5, 6.0),
                SpeechStarted("p2", 5.2),
                Interruption("p2", "p1", 5.2, True),
                SpeechEnded("p2", 5.2, 9.0),
                Turn("p2", 6.0, 9.0),
                SpeechHorizon(12.0),
            ]
            await live.analysed(live.feed_events(events))  # into the report, the log and the bus
            await asyncio.sleep(0.2)
            base = f"{run.url}/api/sessions/{sid}"
            async with run.http.get(f"{base}/export.json", headers=assessor) as r:
                assert r.status == 200
                as_json = json.loads(await r.text())
            async with run.http.get(f"{base}/export.csv", headers=assessor) as r:
                text = await r.text()
            assert r.status == 200 and len(list(csv.reader(io.StringIO(text)))) == 1 + 3 * 12
            parsed = parse_portraits_csv(text)
            for pid, dims in parsed.items():
                for dim, row in dims.items():
                    assert row["score"] == as_json["portraits"][pid]["dimensions"][dim]["score"]
            async with run.http.get(f"{base}/export.html?candidate=p2", headers=assessor) as r:
                assert r.status == 200 and "name-p2" in await r.text()
            async with run.http.get(f"{base}/export.html?candidate=zz", headers=assessor) as r:
                assert r.status == 404
            async with run.http.get(
                f"{base}/export.csv", headers=bearer(token_of(s["links"]["join"]["p1"]))
            ) as r:
                assert r.status == 403  # candidates do not get the portraits
            release = f"{base}/feedback/p1/release"
            async with run.http.post(release, headers=run.hr()) as r:
                assert r.status == 409  # not before the end
            async with run.http.post(f"{base}/end", headers=assessor) as r:
                assert r.status == 200
                final = await r.json()
            fit = final["fit"]["candidates"]["p1"]
            assert fit["profile"] == "talker" and fit["profile_version"] == 3
            assert fit["fit"] is not None and fit["recommendation"] in ("advance", "hold", "reject")
            async with run.http.get(f"{base}/export.csv", headers=run.hr()) as r:
                rows = parse_portraits_csv(await r.text())
            assert rows["p1"]["participation"]["fit"] == fit["fit"]
            async with run.http.get(f"{base}/export.pdf", headers=run.hr()) as r:
                assert r.status == 200 and (await r.read()).startswith(b"%PDF")
            p2_page = f"{run.url}/feedback/{sid}/p2?token={token_of(s['links']['join']['p2'])}"
            async with run.http.get(p2_page) as r:
                assert r.status == 403  # not released
            async with run.http.post(release, headers=run.hr()) as r:
                link = (await r.json())["link"]
            async with run.http.get(link) as r:
                page = await r.text()
            assert r.status == 200 and "name-p1" in page
            other = link.replace("/p1?", "/p2?")  # p1's token on p2's page
            async with run.http.get(other) as r:
                assert r.status == 403
            for _ in range(50):
                if got:
                    break
                await asyncio.sleep(0.1)
    finally:
        await runner.cleanup()
    body, signature = got[0]["body"], got[0]["headers"].get("X-LGD-Signature")
    assert verify_signature(body, "k", signature)
    assert json.loads(body)["session"]["id"] == sid
    sent = json.loads(body)["portraits"]["p1"]["fit"]
    assert sent["fit"] == fit["fit"] and sent["reasons"] == fit["reasons"] and sent["summary"]
    assert (tmp_path / "webhooks.jsonl").exists()


@pytest.mark.parametrize("redis_url", [None, "redis://127.0.0.1:6379/0"])
async def test_live_stream_catches_up_then_follows(tmp_path, redis_url):
    """A dashboard opened mid-session gets every event from the start, then live ones; a
    candidate's stream carries speech events only. Same over the Redis Streams bus."""
    import dataclasses

    from analysis.settings import Settings
    from core.events import Interruption

    settings = dataclasses.replace(Settings.from_env(), redis_url=redis_url)
    async with running_server(tmp_path, settings, auto_start=False) as run:
        s = await run.create(["p1", "p2"])
        live = run.server.live[s["id"]]
        await live.start()
        await live.analysed(live.feed_events([SpeechStarted("p1", 1.0),
                                              SpeechEnded("p1", 1.0, 2.0)]))
        await asyncio.sleep(0.3)
        base = run.url.replace("http", "ws") + f"/api/sessions/{s['id']}/live"

        async def read(ws, n: int) -> list[dict]:
            out: list[dict] = []
            while len(out) < n:
                msg = await asyncio.wait_for(ws.receive_json(), 5)
                # the session's own (silent) analysis publishes horizons and totals too
                if msg["type"] in ("hello", "SpeechStarted", "SpeechEnded", "Interruption"):
                    out.append(msg)
            return out

        async with run.http.ws_connect(f"{base}?token={s['assessor_token']}") as dash:
            async with run.http.ws_connect(
                f"{base}?token={token_of(s['links']['join']['p2'])}"
            ) as cand:
                first = await read(dash, 3)
                assert [m["type"] for m in first] == ["hello", "SpeechStarted", "SpeechEnded"]
                live.feed_events([Interruption("p2", "p1", 3.0, False)])
                assert (await read(dash, 1))[0] == {
                    "type": "Interruption",
                    "by": "p2",
                    "of": "p1",
                    "at": 3.0,
                    "successful": False,
                }
                seen = [m["type"] for m in await read(cand, 3)]
                assert seen == ["hello", "SpeechStarted", "SpeechEnded"]  # no analysis
        import aiohttp

        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await run.http.ws_connect(f"{base}?token=forged.token")
        assert refused.value.status == 401
        # a dashboard watching through the end is told it ended, after every event
        async with run.http.ws_connect(f"{base}?token={s['assessor_token']}") as during:
            assert [m["type"] for m in await read(during, 4)] == [
                "hello", "SpeechStarted", "SpeechEnded", "Interruption"]
            live.feed_events([SpeechStarted("p2", 4.0), SpeechEnded("p2", 4.0, 5.0)])
            await live.end()
            kinds = []
            while not kinds or kinds[-1] != "ended":
                kinds.append((await asyncio.wait_for(during.receive_json(), 5))["type"])
            assert "SpeechStarted" in kinds and kinds.index("SpeechEnded") < len(kinds) - 1
            assert (await during.receive()).type == aiohttp.WSMsgType.CLOSE
        del run.server.live[s["id"]]
        # after the end the stream replays the session's log, then says so
        async with run.http.ws_connect(f"{base}?token={s['assessor_token']}") as after:
            kinds = []
            while not kinds or kinds[-1] != "ended":
                kinds.append((await asyncio.wait_for(after.receive_json(), 5))["type"])
        assert kinds[0] == "hello" and "Interruption" in kinds and "SpeechEnded" in kinds


async def _offer_sdp(audio: str = "sendonly", video: bool = False) -> str:
    """A real offer from aiortc (what a browser's offer looks like to the room)."""
    from aiortc import RTCPeerConnection

    pc = RTCPeerConnection()
    pc.addTransceiver("audio", direction=audio)
    if video:
        pc.addTransceiver("video", direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


def _only_codec(sdp: str, kind: str, codec: str) -> str:
    """The offer with `kind`'s section reduced to one codec (as a PCMU- or H.264-only client)."""
    out, section = [], ""
    for line in sdp.split("\r\n"):
        if line.startswith("m="):
            section = line[2:].split(" ")[0]
        if section == kind and line.startswith("a=rtpmap:") and codec not in line:
            continue
        out.append(line)
    return "\r\n".join(out)


async def test_offers_the_room_cannot_use_are_refused_before_they_touch_anything():
    from media.room import OfferError, check_offer

    good = await _offer_sdp(video=True)
    check_offer(good, {})
    for bad, why in [
        ("v=0\r\n", "no microphone"),
        (await _offer_sdp("recvonly"), "no microphone"),
        (_only_codec(good, "audio", "PCMU"), "no opus"),
        (_only_codec(good, "video", "H264"), "no vp8"),
    ]:
        with pytest.raises(OfferError, match=why):
            check_offer(bad, {})


async def test_strict_inputs(tmp_path):
    async with running_server(tmp_path) as run:
        s = await run.create(["p1", "p2"])
        sid = s["id"]
        cand = bearer(token_of(s["links"]["join"]["p1"]))
        offer = f"{run.url}/api/sessions/{sid}/offer"
        await give_consent(run, s, "p1")
        good = await _offer_sdp()
        for sdp in ("v=0\r\n", _only_codec(good, "audio", "PCMU")):
            async with run.http.post(offer, json={"type": "offer", "sdp": sdp},
                                     headers=cand) as r:
                assert r.status == 400, sdp[:40]
        async with run.http.get(f"{run.url}/api/sessions/{sid}", headers=run.hr()) as r:
            assert (await r.json())["state"] == "created"  # the clock never started
        before = sorted(p.name for p in (tmp_path / "sessions").iterdir())
        for people in ([{"id": "a\n"}, {"id": "b"}], [{"id": "a", "name": "\ud800"}, {"id": "b"}],
                       [{"id": "a", "name": "x\u0007y"}, {"id": "b"}]):
            async with run.http.post(f"{run.url}/api/sessions", headers=run.hr(),
                                     data=json.dumps({"participants": people}),
                                     ) as r:
                assert r.status == 400, people
        assert sorted(p.name for p in (tmp_path / "sessions").iterdir()) == before  # no orphan
        nfc = await run.create(["a", "b"], participants=[{"id": "a", "name": "e\u0301"},
                                                         {"id": "b"}])
        assert nfc["participants"][0]["name"] == "\u00e9"
        weird = tokens.issue(run.server.secret, tokens.Claims("hr", None, None, "soon"))  # type: ignore[arg-type]
        async with run.http.get(f"{run.url}/api/sessions", headers=bearer(weird)) as r:
            assert r.status == 401
        stats = f"{run.url}/api/sessions/{sid}/client-stats"
        async with run.http.post(stats, json={f"k{i}": i for i in range(100)}, headers=cand) as r:
            assert r.status == 400
        async with run.http.post(stats, json={"big": "x" * 10_000}, headers=cand) as r:
            assert r.status == 400
        async with run.http.post(stats, json={"state": "ok", "envelope": {"p2": [[1, 0.1]]}},
                                 headers=cand) as r:
            assert r.status == 200
        async with run.http.get(f"{run.url}/api/sessions/{sid}", headers=run.hr()) as r:
            assert (await r.json())["stats"]["clients"]["p1"]["envelope"] == {"p2": 1}


async def test_no_offer_before_consent_and_the_record_is_kept(tmp_path):
    async with running_server(tmp_path) as run:
        s = await run.create(["p1", "p2"])
        sid = s["id"]
        cand = bearer(token_of(s["links"]["join"]["p1"]))
        base = f"{run.url}/api/sessions/{sid}"
        sdp = await _offer_sdp()
        async with run.http.post(f"{base}/offer", json={"type": "offer", "sdp": sdp},
                                 headers=cand) as r:
            assert r.status == 409 and "notice" in (await r.json())["error"]
        async with run.http.post(f"{base}/consent", headers=cand,
                                 json={"notice_version": "old", "agree": True}) as r:
            assert r.status == 409  # agreed to another text than the one shown now
        entry = await give_consent(run, s, "p1")
        assert entry["given_by"] == "candidate" and entry["policy"] == "off"
        async with run.http.get(f"{base}/join-info", headers=cand) as r:
            info = await r.json()
        assert info["consent"] == entry and info["notice_version"] == entry["notice_version"]
        async with run.http.post(f"{base}/offer", json={"type": "offer", "sdp": sdp},
                                 headers=cand) as r:
            assert r.status == 200
        assert run.server.store.load(sid).options["consent"]["p1"] == entry


async def test_phases_run_on_their_timer_and_when_moved_on(tmp_path):
    async with running_server(tmp_path, auto_start=False) as run:
        s = await run.create(["p1", "p2"], phases=[
            {"name": "reading", "duration_s": 0.3}, {"name": "discussion", "duration_s": 60},
            {"name": "summary", "duration_s": 30}], case={"title": "案例", "text": "某银行…"})
        sid = s["id"]
        cand = bearer(token_of(s["links"]["join"]["p1"]))
        async with run.http.get(f"{run.url}/api/sessions/{sid}/join-info", headers=cand) as r:
            info = await r.json()
        assert info["case"]["title"] == "案例" and len(info["phases"]) == 3
        live = run.server.live[sid]
        await live.start()
        await asyncio.sleep(0.6)  # the reading phase's timer runs out
        assert live.phase is not None and live.phase[0] == 1
        t = live.phase[1]  # in the discussion: p1 speaks first, for 0.2 s
        await live.analysed(live.feed_events([SpeechStarted("p1", t + 0.01),
                                   SpeechEnded("p1", t + 0.01, t + 0.21)]))
        async with run.http.post(f"{run.url}/api/sessions/{sid}/phase/next",
                                 headers=run.hr()) as r:
            assert r.status == 200
        await asyncio.sleep(0.1)
        async with run.http.post(f"{run.url}/api/sessions/{sid}/phase/next",
                                 headers=run.hr()) as r:
            assert r.status == 409  # the summary is the last
        async with run.http.get(f"{run.url}/api/sessions/{sid}", headers=run.hr()) as r:
            assert (await r.json())["stats"]["phase"]["name"] == "summary"
        async with run.http.post(f"{run.url}/api/sessions/{sid}/end", headers=run.hr()) as r:
            report = await r.json()
    phases = report["phases"]
    assert [p["name"] for p in phases] == ["reading", "discussion", "summary"]
    assert phases[1]["start"] >= 0.3 and phases[1]["first_speaker"] == "p1"
    assert phases[1]["speaking_time_s"]["p1"] == 0.2
    assert all(p["end"] >= p["start"] for p in phases)
