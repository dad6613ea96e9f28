"""Faults are survived and shown, never silent: Redis cut mid-session through a real proxy,
a full or failing event log, an unreadable session file, a damaged event log."""

from __future__ import annotations

import asyncio
import dataclasses

from analysis.settings import Settings
from core.bus import RedisStreamBus
from core.events import SpeechEnded, SpeechHorizon, SpeechStarted
from tests.serverutil import TcpProxy, running_server


def speech(k: int) -> list:
    t = 2.0 * k
    return [SpeechStarted("p1", t), SpeechEnded("p1", t, t + 1.0), SpeechHorizon(t + 1.5)]


async def _until(check, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_redis_cut_mid_session_loses_nothing(tmp_path):
    proxy = TcpProxy(6379)
    await proxy.start()
    url = f"redis://127.0.0.1:{proxy.port}/0"
    settings = dataclasses.replace(Settings.from_env(), redis_url=url)
    async with running_server(tmp_path, settings, auto_start=False) as run:
        s = await run.create(["p1", "p2"])
        live = run.server.live[s["id"]]
        await live.start()
        for k in range(3):
            await live.analysed(live.feed_events(speech(k)))
        await asyncio.sleep(0.3)
        await proxy.cut()  # Redis is gone for a while
        for k in range(3, 6):  # frames wait, in order, until Redis is back
            live.feed_events(speech(k))
        await _until(lambda: "analysis" in live.stats()["faults"])
        async with run.http.get(f"{run.url}/api/sessions/{s['id']}", headers=run.hr()) as r:
            shown = (await r.json())["stats"]
        assert "cannot send frames" in shown["faults"]["analysis"]  # the dashboard shows it
        logged = run.server.store.events(s["id"])
        assert sum(isinstance(e, SpeechEnded) for e in logged) == 3  # nothing invented
        await proxy.start()  # back, on the same port
        await _until(lambda: not live.stats()["faults"], 20.0)
        async with run.http.post(f"{run.url}/api/sessions/{s['id']}/end",
                                 headers=run.hr()) as r:
            report = await r.json()
        assert r.status == 200 and report["complete"] and report["gaps"] == []
        assert len(report["speech"]["p1"]) == 6
        topic = f"{s['id']}.events"
    bus = RedisStreamBus("redis://127.0.0.1:6379/0")  # straight to Redis: what was published
    try:
        published = await bus.events(topic)
    finally:
        await bus.close()
    ends = [e for e in published if isinstance(e, SpeechEnded)]
    assert [e.start for e in ends] == [2.0 * k for k in range(6)]  # all of them, in order
    await proxy.cut()


async def test_a_failing_event_log_is_retried_and_reported(tmp_path, monkeypatch):
    async with running_server(tmp_path, auto_start=False) as run:
        s = await run.create(["p1", "p2"])
        live = run.server.live[s["id"]]
        await live.start()
        assert live._log is not None
        real = live._log.append
        failing = {"on": True}

        def append(events):
            if failing["on"]:
                raise OSError(28, "No space left on device")
            real(events)

        monkeypatch.setattr(live._log, "append", append)
        await live.analysed(live.feed_events(speech(0)))
        await _until(lambda: "event_log" in live.stats()["faults"])
        assert "No space left" in live.stats()["faults"]["event_log"]
        failing["on"] = False  # space again
        await _until(lambda: not live.stats()["faults"])
        assert sum(isinstance(e, SpeechEnded) for e in run.server.store.events(s["id"])) == 1


def _log_of(path, n: int):
    from server.store import EventLog

    log = EventLog(path)
    events = [ev for k in range(n) for ev in speech(k)]
    log.append(events)
    log.close()
    return events


def test_damage_in_the_event_log_loses_only_the_damaged_record(tmp_path):
    import msgpack

    from server.store import EventLog

    path = tmp_path / "events.msgpack"
    events = _log_of(path, 40)
    data = bytearray(path.read_bytes())
    assert EventLog.read(path) == events
    # a flipped byte inside one record's payload: that record fails its checksum
    k = data.index(b"SpeechEnded", len(data) // 2)
    data[k + 2] ^= 0xFF
    path.write_bytes(bytes(data))
    got = EventLog.read(path)
    assert len(got) == len(events) - 1 and got[-1] == events[-1]
    # a damaged header (the array marker of a record): the reader finds the next record
    data = bytearray(_log_bytes(tmp_path, 40))
    records = _offsets(bytes(data))
    data[records[60]] = 0xC1  # never used by msgpack
    path.write_bytes(bytes(data))
    got = EventLog.read(path)
    assert got == events[:60] + events[61:]
    # a torn tail: everything before it
    path.write_bytes(_log_bytes(tmp_path, 40)[:-5])
    assert EventLog.read(path) == events[:-1]
    # the unframed format of earlier versions still reads
    from core import codec

    path.write_bytes(b"".join(msgpack.packb(codec.to_dict(e)) for e in events[:9]))
    assert EventLog.read(path) == events[:9]


def _log_bytes(tmp_path, n: int) -> bytes:
    p = tmp_path / "clean.msgpack"
    p.unlink(missing_ok=True)
    _log_of(p, n)
    return p.read_bytes()


def _offsets(data: bytes) -> list[int]:
    import msgpack

    u = msgpack.Unpacker(raw=False)
    u.feed(data)
    out, pos = [], 0
    for _ in u:
        out.append(pos)
        pos = u.tell()
    return out


def test_a_full_disk_is_survived_and_nothing_is_written_twice(tmp_path):
    """A real full file system: a 256 KiB tmpfs filled up, then freed."""
    import os
    import subprocess

    import pytest

    from server.store import EventLog

    mnt = tmp_path / "tiny"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    log = None
    try:
        log = EventLog(mnt / "events.msgpack")
        first = [ev for k in range(20) for ev in speech(k)]
        log.append(first)
        filler = mnt / "filler"
        with open(filler, "wb", buffering=0) as f:  # fill the disk to the last byte
            try:
                while True:
                    f.write(b"\0" * 4096)
                    f.flush()
            except OSError:
                pass
        size = os.path.getsize(mnt / "events.msgpack")
        more = [ev for k in range(20, 400) for ev in speech(k)]
        with pytest.raises(OSError):
            log.append(more)
        assert os.path.getsize(mnt / "events.msgpack") == size  # cut back: no torn record
        filler.unlink()  # space again: the retry writes the batch whole, once
        log.append(more)
        assert EventLog.read(mnt / "events.msgpack") == first + more
    finally:
        if log is not None:
            log.close()
        subprocess.run(["umount", "-l", str(mnt)], check=False)


async def test_readiness_follows_redis_and_a_bad_session_file_stops_nothing(tmp_path):
    bad = tmp_path / "sessions" / "broken"
    bad.mkdir(parents=True)
    (bad / "session.json").write_text('{"id": "broken", "participa')  # torn by a crash
    proxy = TcpProxy(6379)
    await proxy.start()
    settings = dataclasses.replace(Settings.from_env(),
                                   redis_url=f"redis://127.0.0.1:{proxy.port}/0")
    async with running_server(tmp_path, settings) as run:  # it starts all the same
        async with run.http.get(f"{run.url}/readyz") as r:
            body = await r.json()
        assert r.status == 200 and "broken" in body["quarantined"][0]
        assert not (bad / "session.json").exists() and list(bad.glob("session.json.unreadable-*"))
        await proxy.cut()
        async with run.http.get(f"{run.url}/readyz") as r:
            assert r.status == 503 and "bus" in (await r.json())["problems"]
        async with run.http.get(f"{run.url}/healthz") as r:
            assert r.status == 200  # alive, not ready
        await proxy.start()
        for _ in range(50):
            async with run.http.get(f"{run.url}/readyz") as r:
                if r.status == 200:
                    break
            await asyncio.sleep(0.2)
        assert r.status == 200
    await proxy.cut()


async def test_a_session_nobody_is_connected_to_ends_by_itself(tmp_path):
    async with running_server(tmp_path, auto_start=False, idle_end_s=1.0) as run:
        s = await run.create(["p1", "p2"])
        await run.server.live[s["id"]].start()
        await _until(lambda: s["id"] not in run.server.live, 10.0)
        report = run.server.store.report(s["id"])
        assert report is not None and not report["complete"]
        assert report["gaps"][0]["what"] == "ended idle"
        assert run.server.store.load(s["id"]).state == "ended"


async def test_a_dead_local_worker_is_shown_and_the_report_says_so(tmp_path):
    """Embedded: the analysis worker process killed mid-session; the server goes on, shows
    the fault and ends the session with what arrived, marked with the gap."""
    import os
    import signal

    async with running_server(tmp_path, auto_start=False) as run:
        s = await run.create(["p1", "p2"])
        live = run.server.live[s["id"]]
        await live.start()
        await live.analysed(live.feed_events(speech(0)))
        proc = run.server.workers._proc  # type: ignore[attr-defined]
        assert proc is not None and proc.pid != os.getpid()  # analysis is not in the server
        os.kill(proc.pid, signal.SIGKILL)
        await _until(lambda: "analysis" in live.stats()["faults"])
        async with run.http.post(f"{run.url}/api/sessions/{s['id']}/end",
                                 headers=run.hr()) as r:
            report = await r.json()
        assert r.status == 200 and not report["complete"]
        assert report["gaps"][0]["what"] == "analysis stopped"
        assert "died" in report["gaps"][0]["detail"]
        assert len(report["speech"]["p1"]) == 1  # what it had analysed is kept


async def test_a_worker_working_through_its_backlog_is_waited_for_at_the_end(tmp_path):
    """The end waits for the worker while it makes progress (a busy machine leaves it a
    backlog), however long past `end_wait_s` that takes; only a worker that stops
    progressing is cut off (test_a_dead_local_worker_is_shown_and_the_report_says_so)."""
    import os
    import signal

    env = Settings.from_env()
    settings = dataclasses.replace(env, worker=dataclasses.replace(env.worker, end_wait_s=1.0))
    async with running_server(tmp_path, settings, auto_start=False) as run:
        s = await run.create(["p1", "p2"])
        live = run.server.live[s["id"]]
        await live.start()
        await live.analysed(live.feed_events(speech(0)))
        pid = run.server.workers._proc.pid  # type: ignore[attr-defined]
        os.kill(pid, signal.SIGSTOP)  # starved while a backlog builds up
        try:
            for k in range(1, BACKLOG):
                live.feed_events(speech(k))
        finally:
            os.kill(pid, signal.SIGCONT)
        report = await live.end()  # the backlog takes seconds: longer than end_wait_s
        assert report["complete"], report["gaps"]
        assert len(report["speech"]["p1"]) == BACKLOG  # all of it, analysed


BACKLOG = 6000
