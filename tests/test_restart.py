"""Rooms outlive a restart (issue 14): `lgd serve` killed with SIGKILL mid-session and
started again on the same data dir and port; the candidates' clients reconnect by themselves
(a re-offer with their token) and the session goes on, on its own clock, to a report that
covers the whole session with the gap marked. SIGTERM drains; one server per data dir."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import shutil
import signal
import threading
import time
from collections import Counter

import aiohttp
import pytest

from analysis.settings import Settings
from core.events import PhaseStarted, SpeechEnded, SpeechHorizon, SpeechStarted
from server.store import SessionStore
from testkit.opus import opus_packets, to_48k
from testkit.peers import consent, join_token
from testkit.synth import RoomConfig, synthesize_session
from tests.restartutil import Candidate, Serve, free_port
from tests.serverutil import running_server

SCRIPT_S = 48.0
KILL_AT_S = 14.0  #: script time of the SIGKILL
END_AT_S = 44.0  #: script time HR ends the session
OPENING_S = 22.0  #: the first phase's planned length: its end falls after the restart


def _overlap(a: list[list[float]], b: list[list[float]]) -> float:
    return sum(max(0.0, min(e, f) - max(s, g)) for s, e in a for g, f in b)


def _clip(ivs: list[list[float]], lo: float, hi: float) -> list[list[float]]:
    return [[max(s, lo), min(e, hi)] for s, e in ivs if min(e, hi) > max(s, lo)]


def _total(ivs: list[list[float]]) -> float:
    return sum(e - s for s, e in ivs)


async def _create(srv: Serve, http: aiohttp.ClientSession, ids: list[str],
                  **extra: object) -> dict:
    body = {"participants": [{"id": p, "name": f"name-{p}"} for p in ids], "language": "en",
            **extra}
    async with http.post(f"{srv.url}/api/sessions", json=body, headers=srv.hr()) as r:
        assert r.status == 201, await r.text()
        return await r.json()


async def _started(srv: Serve, http: aiohttp.ClientSession) -> tuple[dict, str]:
    """A live session of two candidates (no phases), started by HR: (session, its API url)."""
    s = await _create(srv, http, ["a", "b"], phases=[])
    base = f"{srv.url}/api/sessions/{s['id']}"
    async with http.post(f"{base}/start", headers=srv.hr()) as r:
        assert r.status == 200, await r.text()
    return s, base


OWN_ROOMS = RoomConfig(bleed_db=(-40.0, -40.0), gain_spread_db=10.0, snr_db=(25.0, 30.0))

@pytest.mark.slow
async def test_kill9_restart_resumes_the_session_on_its_clock(tmp_path):
    # candidates in their own rooms (as in test_browser): this test is about the restart,
    # not attribution under heavy bleed in a session's first seconds (a CI run lost 6 s of
    # C's opening speech before the crash in the hard room)
    sess = synthesize_session(3, "en", 7, OWN_ROOMS, SCRIPT_S)
    ids = [p for p, _ in sess.participants]
    packets = {p: opus_packets(to_48k(sess.tracks[p])) for p in ids}
    data, port = tmp_path / "data", free_port()
    first = Serve(data, port)
    first.start()
    second = Serve(data, port)
    clients: list[Candidate] = []
    try:
        await first.ready()
        async with aiohttp.ClientSession() as http:
            s = await _create(first, http, ids, phases=[
                {"name": "opening", "duration_s": OPENING_S},
                {"name": "discussion", "duration_s": 600}])
            sid = s["id"]
            for p in ids:
                await consent(http, first.url, s, p)
            tokens = {p: join_token(s, p) for p in ids}
            start = time.time() + 1.0  # every script starts at this wall time
            clients = [Candidate(first.url, sid, p, [o for o in ids if o != p], tokens[p],
                                 packets[p], start) for p in ids]
            for c in clients:
                c.run()
            await asyncio.sleep(start + KILL_AT_S - time.time())
            killed = time.time()
            first.kill9()  # mid-session: no shutdown, no report
            await asyncio.sleep(1.0)
            restarted = time.time()
            second.start()  # the same data dir and port
            await second.ready()
            up = time.time()
            await asyncio.sleep(start + END_AT_S - time.time())
            offers = [(c.offers, c.attempts) for c in clients]
            async with http.get(f"{second.url}/api/sessions/{sid}", headers=second.hr()) as r:
                stats = (await r.json())["stats"]
            async with http.post(f"{second.url}/api/sessions/{sid}/end",
                                 headers=second.hr()) as r:
                assert r.status == 200, await r.text()
                report = await r.json()
    finally:
        for c in clients:
            await c.close()
        first.stop()
        second.stop()
    rec = json.loads((data / "sessions" / sid / "session.json").read_text())
    from datetime import datetime

    # script time -> session time: the clock's zero is the session's start
    offset = datetime.fromisoformat(rec["started_at"]).timestamp() - start
    kill_t, up_t = killed - start - offset, up - start - offset
    restart_t = restarted - start - offset
    print(f"killed at {kill_t:.2f} s of session time, restarted at {restart_t:.2f} s, "
          f"serving again at {up_t:.2f} s; (answered, tried) offers per client {offers}")
    gaps = [g for g in report["gaps"] if g["what"] == "server restart"]
    print("gaps", report["gaps"], "stats", {k: stats[k] for k in (
        "audio_frames_in", "analysis_frames_lost", "duplicate_events_dropped")})
    assert all(answered >= 2 for answered, _ in offers)  # each one reconnected
    assert report["complete"] is False and len(gaps) == 1
    gap = gaps[0]
    # the gap: from the last time the log vouches for (before the kill) to the first audio
    # heard after the restart (once the new process listened: soon after its health answered)
    assert kill_t - 3.0 < gap["from_s"] <= kill_t + 0.1, (gap, kill_t)
    assert restart_t < gap["to_s"] < up_t + 8.0, (gap, restart_t, up_t)
    assert report["session"]["duration_s"] > END_AT_S - offset - 2.0

    truth = {p: [[a - offset, b - offset] for a, b in sess.truth["speech"][p]] for p in ids}
    got = report["speech"]
    pre_true = {p: _clip(truth[p], 0.0, gap["from_s"]) for p in ids}
    after = (gap["to_s"] + 1.0, END_AT_S - offset - 2.0)  # reconnected, before the end
    post_true = {p: _clip(truth[p], *after) for p in ids}
    pre_got = {p: _clip(got[p], 0.0, gap["from_s"]) for p in ids}
    post_got = {p: _clip(got[p], *after) for p in ids}
    # nothing in the gap (but a speech onset the VAD places a little early)
    assert not any(_clip(got[p], gap["from_s"], gap["to_s"] - 0.3) for p in ids), got
    for p in ids:
        print(p, "truth pre/post", round(_total(pre_true[p]), 2), round(_total(post_true[p]), 2),
              "detected pre/post", round(_total(pre_got[p]), 2),
              round(_total(post_got[p]), 2))
    # speech before and after the crash, both found, each on its own candidate, at the
    # right session time (a clock off by a second would miss the truth)
    for part, part_true, part_got in (("before", pre_true, pre_got),
                                      ("after", post_true, post_got)):
        said = sum(_total(v) for v in part_true.values())
        found = sum(_overlap(part_got[p], part_true[p]) for p in ids)
        detected = sum(_total(v) for v in part_got.values())
        print(f"{part} the crash: said {said:.2f} s, detected {detected:.2f} s, of which on "
              f"the truth of who said it {found:.2f} s")
        assert said > 3.0
        assert found >= 0.7 * said, (found, said)
        assert found >= 0.8 * detected, (found, detected)  # attributed to who said it
    # nothing counted twice: every stretch once, none overlapping its candidate's others
    store = SessionStore(data)
    ends = [(e.who, e.start, e.end) for e in store.events(sid) if isinstance(e, SpeechEnded)]
    assert not [k for k, n in Counter(ends).items() if n > 1]
    for p in ids:
        ivs = sorted(got[p])
        assert all(b[0] >= a[1] for a, b in zip(ivs, ivs[1:], strict=False)), ivs
    # the exercise's timer went on: the second phase began on time, on the session clock
    phases = [e for e in store.events(sid) if isinstance(e, PhaseStarted)]
    assert [(ph.name, ph.index) for ph in phases] == [("opening", 0), ("discussion", 1)]
    assert abs(phases[1].at - OPENING_S) < 1.0, phases
    assert rec["state"] == "ended"


async def test_sigterm_drains_then_ends_with_the_gap(tmp_path):
    data, port = tmp_path / "data", free_port()
    srv = Serve(data, port, LGD_SERVER_DRAIN_S="4")
    srv.start()
    try:
        await srv.ready()
        async with aiohttp.ClientSession() as http:
            s, base = await _started(srv, http)
            waiting = await _create(srv, http, ["c", "d"], phases=[])  # created, not started
            assert srv.proc is not None
            srv.proc.send_signal(signal.SIGTERM)
            sent = time.monotonic()
            await asyncio.sleep(0.5)
            async with http.get(f"{srv.url}/readyz") as r:
                ready = await r.json()
                assert r.status == 503 and "draining" in ready["problems"], ready
            body = {"participants": [{"id": "x"}, {"id": "y"}]}
            async with http.post(f"{srv.url}/api/sessions", json=body,
                                 headers=srv.hr()) as r:
                assert r.status == 503, await r.text()
                assert "shutting down" in (await r.json())["error"]
            async with http.post(f"{srv.url}/api/sessions/{waiting['id']}/start",
                                 headers=srv.hr()) as r:
                assert r.status == 503  # starting a session is taking a new one
            async with http.get(base, headers=srv.hr()) as r:
                assert (await r.json())["state"] == "live"  # the live one goes on
        srv.proc.wait(60)
        took = time.monotonic() - sent
    finally:
        srv.stop()
    print(f"SIGTERM to exit: {took:.1f} s (drain 4 s)")
    assert srv.proc.returncode == 0, srv.output()
    assert 3.5 < took < 30.0
    report = json.loads((data / "sessions" / s["id"] / "report.json").read_text())
    assert report["complete"] is False
    assert [g["what"] for g in report["gaps"]] == ["server shutdown"]
    rec = json.loads((data / "sessions" / waiting["id"] / "session.json").read_text())
    assert rec["state"] == "created"  # kept for the next start


async def test_sigterm_drain_ends_early_when_the_sessions_end(tmp_path):
    data, port = tmp_path / "data", free_port()
    srv = Serve(data, port, LGD_SERVER_DRAIN_S="600")
    srv.start()
    try:
        await srv.ready()
        async with aiohttp.ClientSession() as http:
            s, base = await _started(srv, http)
            assert srv.proc is not None
            srv.proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(1.0)
            assert srv.proc.poll() is None  # still draining: the session is live
            async with http.post(f"{base}/end", headers=srv.hr()) as r:
                assert r.status == 200  # the assessors end it as usual
                report = await r.json()
        srv.proc.wait(30)  # and the server stops, long before its drain deadline
    finally:
        srv.stop()
    assert srv.proc.returncode == 0
    assert report["gaps"] == [] and report["complete"] is True


async def test_a_second_server_on_the_same_data_dir_is_refused(tmp_path):
    data = tmp_path / "data"
    first, second = Serve(data, free_port()), Serve(data, free_port())
    first.start()
    try:
        await first.ready()
        async with aiohttp.ClientSession() as http:
            s, base = await _started(first, http)
            proc = second.start()
            assert proc.wait(60) == 2
            assert "in use by another lgd serve" in second.output(), second.output()
            async with http.get(base, headers=first.hr()) as r:
                assert (await r.json())["state"] == "live"  # untouched
        rec = json.loads((data / "sessions" / s["id"] / "session.json").read_text())
        assert rec["state"] == "live" and "restarts" not in rec.get("options", {})
    finally:
        first.stop()
        second.stop()


def _speech(who: str, t: float) -> list:
    return [SpeechStarted(who, t), SpeechEnded(who, t, t + 1.0), SpeechHorizon(t + 1.5)]


async def _until(check, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("redis", [False, True], ids=["embedded", "redis"])
async def test_a_live_session_resumes_from_its_log(tmp_path, redis):
    """The data dir of a live session, as a SIGKILL leaves it (copied while live), served
    again: the session goes on; its driver is rebuilt from the log (the portraits count the
    speech from before), speech open at the crash is closed where the log stops vouching,
    nothing is counted twice, and the report lists the gap. With Redis: the resumed session
    is a new job for the workers, and the bus (which kept the events) gets none twice."""
    settings = Settings.from_env()
    if redis:
        settings = dataclasses.replace(settings, redis_url="redis://127.0.0.1:6379/0")
    async with running_server(tmp_path / "a", settings, auto_start=False) as run:
        s = await run.create(["p1", "p2"], phases=[])
        sid = s["id"]
        live = run.server.live[sid]
        await live.start()
        for k in range(3):
            await live.analysed(live.feed_events(_speech("p1", 2.0 * k)))
        # p2 starts speaking and has not stopped when the server dies
        await live.analysed(live.feed_events([SpeechStarted("p2", 5.6), SpeechHorizon(6.5)]))
        await _until(lambda: any(isinstance(e, SpeechHorizon) and e.until == 6.5
                                 for e in run.server.store.events(sid)))
        # a SIGKILL: nothing more happens to the session here (no end, no events) ...
        run.server.live.pop(sid)
        assert live._publisher is not None
        live._publisher.cancel()
        await live.stop_media()
        shutil.copytree(tmp_path / "a", tmp_path / "b")  # ... and the disk stays as it is
        before = await run.server.bus.events(f"{sid}.events")
    async with running_server(tmp_path / "b", settings, auto_start=False) as run:
        live = run.server.live[sid]
        assert live.live and live.now() >= 6.5  # on its own clock
        republished = await run.server.bus.events(f"{sid}.events")
        assert republished[:len(before)] == before or not redis
        restart = run.server.store.load(sid).options["restarts"][0]
        async with run.http.get(f"{run.url}/api/sessions/{sid}", headers=run.hr()) as r:
            shown = (await r.json())["stats"]["restarts"]  # the dashboard marks the gap
        assert [g["from_s"] for g in shown] == [restart["from_s"]]
        t = restart["resumed_at_s"] + 1.0
        await live.analysed(live.feed_events(_speech("p1", t)))
        async with run.http.post(f"{run.url}/api/sessions/{sid}/end", headers=run.hr()) as r:
            assert r.status == 200, await r.text()
            report = await r.json()
        events = run.server.store.events(sid)
        if redis:  # the bus has every logged event once, in order
            assert await run.server.bus.events(f"{sid}.events") == events
    horizon = restart["from_s"]
    assert horizon >= 6.5
    assert report["speech"]["p1"] == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0],
                                      [round(t, 2), round(t + 1.0, 2)]]
    assert report["speech"]["p2"] == [[5.6, horizon]]  # closed where the log stops
    ends = [(e.who, e.start, e.end) for e in events if isinstance(e, SpeechEnded)]
    assert len(ends) == len(set(ends)) == 5
    # the portrait model was rebuilt from the log: it counts the speech from before too
    for p in ("p1", "p2"):
        assert report["portraits"][p]["metrics"]["speaking_time_s"] == pytest.approx(
            report["speaking_time_s"][p], abs=0.02)
    assert report["complete"] is False
    assert [(g["what"], g["from_s"]) for g in report["gaps"]] == [("server restart", horizon)]


async def test_shutdown_joins_every_media_thread(tmp_path):
    """Even a session whose `end` was cut short (cancelled midway) has its media thread
    stopped and joined when the server shuts down: none is left sending frames to a
    stopped worker."""
    async with running_server(tmp_path, auto_start=False) as run:
        a = await run.create(["p1", "p2"], phases=[])
        b = await run.create(["p1", "p2"], phases=[])
        for s in (a, b):
            await run.server.live[s["id"]].start()
        room = run.server.live[a["id"]].room
        closing = room.close

        async def slow_close() -> None:  # peers' transports take a while to close
            await asyncio.sleep(0.5)
            await closing()

        room.close = slow_close  # type: ignore[method-assign]
        ending = asyncio.ensure_future(run.server.live[a["id"]].end())
        await asyncio.sleep(0.1)
        ending.cancel()  # e.g. the idle-ending loop cancelled by the shutdown
        with contextlib.suppress(asyncio.CancelledError):
            await ending
        threads = [run.server.live[s["id"]]._thread for s in (a, b)]
        assert all(t is not None and t.is_alive() for t in threads)
    assert not any(t is not None and t.is_alive() for t in threads)
    names = {f"media-{s['id']}" for s in (a, b)}
    assert not [t.name for t in threading.enumerate() if t.name in names]


@pytest.mark.slow
async def test_chromium_candidates_rejoin_a_restarted_server_by_themselves(tmp_path):
    """The real join page: two headless Chromium candidates (fake microphones playing espeak
    speech); `lgd serve` killed with SIGKILL and started again; join.js notices the drop and
    re-offers until the new server answers, and the session ends with speech of both before
    and after the gap."""
    from lgd.simulate import start_simulation, write_fake_wav

    sess = synthesize_session(3, "en", 5, duration_s=60.0)
    wavs = {}
    for p in ("A", "B"):
        wavs[p] = tmp_path / f"{p}.wav"
        write_fake_wav(sess.tracks[p], wavs[p])
    data, port = tmp_path / "data", free_port()
    first, second = Serve(data, port), Serve(data, port)
    first.start()

    async def connected(srv: Serve, http: aiohttp.ClientSession, sid: str) -> list[str]:
        try:
            async with http.get(f"{srv.url}/api/sessions/{sid}", headers=srv.hr()) as r:
                return (await r.json()).get("stats", {}).get("room", {}).get("connected", [])
        except aiohttp.ClientError:
            return []

    sim = None
    try:
        await first.ready()
        async with aiohttp.ClientSession() as http:
            token = (data / "hr-token").read_text().strip()
            sim = await start_simulation(http, first.url, token, wavs, language="en",
                                         camera=False)
            sid = sim.sid
            deadline = time.monotonic() + 60
            while await connected(first, http, sid) != ["A", "B"]:
                assert time.monotonic() < deadline, first.output()
                await asyncio.sleep(0.5)
            await asyncio.sleep(12.0)
            first.kill9()
            killed = time.monotonic()
            await asyncio.sleep(1.0)
            second.start()
            await second.ready()
            while await connected(second, http, sid) != ["A", "B"]:
                assert time.monotonic() < killed + 60, second.output()
                await asyncio.sleep(0.5)
            rejoined = time.monotonic() - killed
            await asyncio.sleep(12.0)
            async with http.post(f"{second.url}/api/sessions/{sid}/end",
                                 headers=second.hr()) as r:
                assert r.status == 200, await r.text()
                report = await r.json()
    finally:
        if sim is not None:
            sim.close()
        first.stop()
        second.stop()
    gap = next(g for g in report["gaps"] if g["what"] == "server restart")
    print(f"both browsers connected again {rejoined:.1f} s after the SIGKILL; gap {gap}")
    for p in ("A", "B"):
        before = _total(_clip(report["speech"][p], 0.0, gap["from_s"]))
        after = _total(_clip(report["speech"][p], gap["to_s"], 1e9))
        print(p, f"speech before {before:.2f} s, after {after:.2f} s")
        assert before > 1.0 and after > 1.0, report["speech"]
    assert report["complete"] is False


async def test_a_session_down_longer_than_the_idle_end_is_closed_not_resumed(tmp_path):
    """Down longer than LGD_SERVER_IDLE_END_S: nobody waited; the session is closed with
    the report of what it logged (marked), instead of being brought back."""
    async with running_server(tmp_path / "a", auto_start=False) as run:
        s = await run.create(["p1", "p2"], phases=[])
        sid = s["id"]
        live = run.server.live[sid]
        await live.start()
        await live.analysed(live.feed_events(_speech("p1", 1.0)))
        await _until(lambda: any(isinstance(e, SpeechEnded)
                                 for e in run.server.store.events(sid)))
        run.server.live.pop(sid)
        assert live._publisher is not None
        live._publisher.cancel()
        await live.stop_media()
        shutil.copytree(tmp_path / "a", tmp_path / "b")
    path = tmp_path / "b" / "sessions" / sid / "session.json"
    rec = json.loads(path.read_text())
    rec["started_at"] = "2026-01-01T00:00:00.000+00:00"  # months ago
    path.write_text(json.dumps(rec))
    async with running_server(tmp_path / "b", auto_start=False) as run:
        assert sid not in run.server.live
        async with run.http.get(f"{run.url}/api/sessions/{sid}/report", headers=run.hr()) as r:
            report = await r.json()
    assert report["speech"]["p1"] == [[1.0, 2.0]] and report["complete"] is False
    assert "longer than LGD_SERVER_IDLE_END_S" in report["gaps"][0]["detail"]


@pytest.mark.parametrize("after_s", [0.3, 3.0], ids=["while-children-start", "running"])
@pytest.mark.parametrize("redis", [False, True], ids=["embedded", "redis"])
async def test_ctrl_c_ends_live_sessions_with_whole_reports(tmp_path, redis, after_s):
    """A terminal's Ctrl-C reaches the server and the analysis children it started. The
    server ends its live sessions at once with their reports; the children must live to
    make them (one that took the SIGINT died, and the report said "analysis stopped")."""
    env = {"LGD_REDIS_URL": "redis://127.0.0.1:6379/0",
           "LGD_WORKER_STREAM_PREFIX": f"lgd-test-{time.time_ns()}:"} if redis else {}
    data = tmp_path / "data"
    srv = Serve(data, free_port(), **env)
    srv.start(own_group=True)
    try:
        await srv.ready()
        async with aiohttp.ClientSession() as http:
            s, _ = await _started(srv, http)
        await asyncio.sleep(after_s)
        srv.ctrl_c()
        assert srv.proc is not None
        srv.proc.wait(60)
    finally:
        srv.stop()
    out = srv.output()
    assert srv.proc.returncode == 0, out
    assert "KeyboardInterrupt" not in out and "Traceback" not in out, out
    report = json.loads((data / "sessions" / s["id"] / "report.json").read_text())
    assert report["gaps"] == [] and report["complete"] is True, report["gaps"]
