"""A worker killed mid-session loses nothing and counts nothing twice (issue 14, must show).

Real Redis, real processes: two `lgd worker` processes share one consumer group; a
generated discussion (testkit synth, written as WAV files and decoded as `lgd analyze`
does) is shipped frame by frame through the server's own link (`server.workers.RedisLink`).
The worker that took the session is killed with SIGKILL once it has checkpointed; the
other one claims the session (XAUTOCLAIM), loads its latest snapshot (or falls back: the
previous one, or a replay of its frames from the start) and goes on. The events that
come back are compared with an uninterrupted run of the same driver on the same frames.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import pytest
import redis
from scipy.io import wavfile

from analysis.driver import Analysis
from analysis.frames import AudioFrame, EndFrame, Result
from analysis.report import ReportBuilder
from analysis.settings import Settings
from analysis.worker_redis import StreamKeys
from core.clock import SAMPLE_RATE
from core.session import SessionInfo
from media.files import load_tracks
from media.frames import iter_blocks
from server.workers import RedisLink
from testkit.synth import RoomConfig, synthesize_session

pytestmark = pytest.mark.slow

URL = "redis://127.0.0.1:6379/0"
BLOCK_FRAMES = 5  # 100 ms frames, as the server's media thread ships them at most
CLAIM_IDLE_S = 2.0


def _wav_set(tmp: Path) -> tuple[SessionInfo, np.ndarray]:
    session = synthesize_session(4, "zh", 5, RoomConfig(), 36.0)
    paths = {}
    for pid, x in session.tracks.items():
        paths[pid] = tmp / f"{pid}.wav"
        wavfile.write(paths[pid], SAMPLE_RATE, x.astype(np.float32))
    loaded = load_tracks(paths)
    info = SessionInfo("failover", session.participants, "zh", "2026-11-29T09:00:00+00:00")
    return info, loaded.samples  # (4, n) float32 16 kHz


def _worker(name: str, prefix: str, tmp: Path, **more: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **more, "LGD_REDIS_URL": URL, "LGD_WORKER_STREAM_PREFIX": prefix,
           "LGD_WORKER_CLAIM_IDLE_S": str(CLAIM_IDLE_S), "LGD_WORKER_CHECKPOINT_EVERY_S": "4",
           "LGD_ASR_ENABLED": "0"}
    return subprocess.Popen([sys.executable, "-m", "lgd.cli", "worker", "--name", name],
                            env=env, cwd=Path(__file__).resolve().parent.parent,
                            stdout=open(tmp / f"{name}.log", "wb"), stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def wav_set(tmp_path_factory) -> tuple[SessionInfo, np.ndarray]:
    return _wav_set(tmp_path_factory.mktemp("wavs"))


def _new_info(info: SessionInfo) -> SessionInfo:
    return dataclasses.replace(info, id=f"failover-{uuid.uuid4().hex[:8]}")


def _failover(tmp_path: Path, wav_set, damage: str | None = None, stuck: bool = False,
              **env: str) -> tuple[SessionInfo, dict[bytes, bytes], list, list[Result], dict]:
    """Two workers; the one that took the session is killed with SIGKILL once it has
    checkpointed 8 s of audio; the other takes it over. damage: before the survivor claims
    it, "latest" (or "both") of the session's snapshots get a flipped byte. Returns the
    session, the survivor's checkpoint hash, the uninterrupted run's events and report, and
    the results that came back."""
    info, tracks = wav_set
    info = _new_info(info)
    settings = dataclasses.replace(Settings.from_env(), redis_url=URL)
    blocks = [b.copy() for _, b in iter_blocks(tracks, BLOCK_FRAMES)]
    reference: list = []  # an uninterrupted run of the same driver on the same frames
    uninterrupted = Analysis(info, settings, sink=reference.extend)
    for b in blocks:
        uninterrupted.feed(b)
    want = uninterrupted.finish()

    prefix = f"lgdtest-{uuid.uuid4().hex[:12]}:"
    keys = StreamKeys(prefix)
    r = redis.Redis.from_url(URL)
    workers = {n: _worker(n, prefix, tmp_path, **env) for n in ("wA", "wB")}
    results: list[Result] = []
    done = threading.Event()

    def on_result(res: Result) -> None:
        results.append(res)
        if res.final:
            done.set()

    link = RedisLink(redis.Redis.from_url(URL), keys, info, on_result, lambda where, what: None)
    try:
        half = len(blocks) // 2
        for b in blocks[:half]:
            link.send(AudioFrame(b))
        deadline = time.monotonic() + 40.0
        while not (cp := r.hgetall(keys.checkpoint(info.id))) or float(cp[b"analysed_s"]) < 8.0:
            assert time.monotonic() < deadline, "no worker checkpointed the session"
            time.sleep(0.05)
        killed = cp[b"worker"].decode()
        workers[killed].send_signal(signal.SIGKILL)  # mid-session, no goodbye
        workers[killed].wait()
        for key in {"latest": [keys.snapshot(info.id)], None: [],
                    "both": [keys.snapshot(info.id), keys.snapshot_prev(info.id)]}[damage]:
            blob = bytearray(r.get(key) or b"")
            assert blob, f"no {key} to damage"
            blob[len(blob) // 2] ^= 0x01
            r.set(key, bytes(blob))
        for b in blocks[half:]:
            link.send(AudioFrame(b))
        link.send(EndFrame())
        if stuck:  # the survivor cannot resume it: it says so and lets the job be
            other = next(n for n in workers if n != killed)
            deadline = time.monotonic() + 40.0
            while b"cannot be resumed exactly" not in (tmp_path / f"{other}.log").read_bytes():
                assert time.monotonic() < deadline, "the survivor never said why it stopped"
                time.sleep(0.1)
            assert r.xpending(keys.jobs, "analysis-workers")["pending"] == 1  # not acked
            # pending, it is claimed again every claim_idle_s: said once, not each time
            def deliveries() -> int:
                return r.xpending_range(keys.jobs, "analysis-workers", "-", "+", 1)[0][
                    "times_delivered"]
            seen, deadline = deliveries(), time.monotonic() + 8 * CLAIM_IDLE_S
            while deliveries() < seen + 2:
                assert time.monotonic() < deadline, "the stuck job was not claimed again"
                time.sleep(0.2)
            time.sleep(1.0)  # the last claim's thread has loaded and judged the snapshots
            log = (tmp_path / f"{other}.log").read_bytes()
            assert log.count(b"cannot be resumed exactly") == 1, log.decode()[-2000:]
            assert log.count(b"taking over") == 1, log.decode()[-2000:]
            assert not done.is_set()
            return info, r.hgetall(keys.checkpoint(info.id)), reference, results, want
        assert done.wait(50.0), "the session was never finished"
        survivor = r.hgetall(keys.checkpoint(info.id))
        assert survivor[b"worker"].decode() != killed  # the other worker took it over
        first = r.xrange(keys.frames(info.id), "-", "+", count=1)
        survivor[b"first_frame"] = first[0][0] if first else b""
    finally:
        link.close(retire=True)
        for p in workers.values():
            if p.poll() is None:
                p.terminate()
                p.wait(10)
        r.delete(keys.jobs, *keys.session(info.id))
        r.close()
    return info, survivor, reference, results, want


def _equal(info: SessionInfo, reference: list, results: list[Result], want: dict) -> None:
    """The results stream: contiguous event numbers, none twice, none missing; the same
    events in the same order as the uninterrupted run; the same report."""
    seqs = [n for res in results for n in range(res.first_seq, res.next_seq)]
    assert seqs == list(range(len(reference)))
    got = [ev for res in results for ev in res.events]
    assert got == reference  # the same events, in the same order
    fold = ReportBuilder(info, "off")
    for ev in got:
        fold.add(ev)
    report = fold.build()
    assert report["interruptions"] == want["interruptions"] and want["interruptions"]
    for pid in info.ids:
        assert abs(report["speaking_share"][pid] - want["speaking_share"][pid]) <= 0.005  # 0.5 pp
    assert report == want


def _frame_ms(fid: bytes) -> tuple[int, int]:
    ms, seq = fid.split(b"-")
    return int(ms), int(seq)


def test_a_killed_worker_s_session_is_resumed_exactly(tmp_path, wav_set):
    """... from its latest snapshot (taken every 4 s of audio; killed past 8 s): the
    survivor resumed after a frame > 0, and frames before the previous snapshot were
    trimmed from Redis."""
    info, cp, reference, results, want = _failover(tmp_path, wav_set)
    assert cp[b"resumed_how"] == b"snapshot"
    assert _frame_ms(cp[b"resumed_from"]) > (0, 0)
    assert cp[b"trimmed_to"] and _frame_ms(cp[b"first_frame"]) >= _frame_ms(cp[b"trimmed_to"])
    _equal(info, reference, results, want)


def test_a_damaged_latest_snapshot_falls_back_to_the_previous_one(tmp_path, wav_set):
    info, cp, reference, results, want = _failover(tmp_path, wav_set, damage="latest")
    assert cp[b"resumed_how"] == b"previous snapshot"
    assert _frame_ms(cp[b"resumed_from"]) > (0, 0)
    _equal(info, reference, results, want)


def test_damaged_snapshots_fall_back_to_replay_from_the_start(tmp_path, wav_set):
    """Both snapshots damaged, frames kept whole (LGD_WORKER_TRIM_FRAMES=0): the survivor
    replays from the start; with frames trimmed it could not, and would let go."""
    info, cp, reference, results, want = _failover(tmp_path, wav_set, damage="both",
                                                   LGD_WORKER_TRIM_FRAMES="0")
    assert cp[b"resumed_how"] == b"replay" and cp[b"resumed_from"] == b"0-0"
    assert b"trimmed_to" not in cp
    _equal(info, reference, results, want)


def test_trimmed_frames_and_no_loadable_snapshot_is_never_resumed_wrong(tmp_path, wav_set):
    """Both snapshots damaged and the frames before the previous one trimmed: a replay from
    what is left would be wrong, so the survivor logs why and leaves the job pending (a
    worker that can load the snapshots may take it; the server marks the gap if none does).
    """
    _, cp, _, results, _ = _failover(tmp_path, wav_set, damage="both", stuck=True)
    assert cp[b"trimmed_to"]
    assert not any(res.final for res in results)


def test_sigterm_drains_a_worker(tmp_path, wav_set):
    """SIGTERM: the worker takes no new session, finishes the one it hosts, then exits."""
    info, tracks = wav_set
    first, second = _new_info(info), _new_info(info)
    blocks = [b.copy() for _, b in iter_blocks(tracks[:, : 12 * SAMPLE_RATE], BLOCK_FRAMES)]
    prefix = f"lgdtest-{uuid.uuid4().hex[:12]}:"
    keys = StreamKeys(prefix)
    r = redis.Redis.from_url(URL)
    worker = _worker("wD", prefix, tmp_path)
    got: dict[str, list[Result]] = {first.id: [], second.id: []}
    links = []
    try:
        links.append(RedisLink(redis.Redis.from_url(URL), keys, first, got[first.id].append,
                               lambda *_: None))
        for b in blocks[:40]:
            links[0].send(AudioFrame(b))
        deadline = time.monotonic() + 30.0
        while not any(res.analysed_s >= 2.0 for res in got[first.id]):
            assert time.monotonic() < deadline, "the worker never took the session"
            time.sleep(0.1)
        worker.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        links.append(RedisLink(redis.Redis.from_url(URL), keys, second, got[second.id].append,
                               lambda *_: None))
        for b in blocks[40:]:
            links[0].send(AudioFrame(b))
        links[0].send(EndFrame())
        links[1].send(EndFrame())
        assert worker.wait(30.0) == 0  # it exits once its session has ended
        deadline = time.monotonic() + 5.0
        while not got[first.id][-1].final:  # ... which it finished
            assert time.monotonic() < deadline, "the drained session was not finished"
            time.sleep(0.05)
        assert got[second.id] == []  # and it took no new one
        pending = r.xpending(keys.jobs, "analysis-workers")
        assert pending["pending"] == 0 and r.xlen(keys.jobs) == 1  # the second one waits
    finally:
        for link in links:
            link.close(retire=True)
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
        r.delete(keys.jobs, *keys.session(first.id), *keys.session(second.id))
        r.close()


def test_a_session_whose_frames_stop_is_abandoned(tmp_path, wav_set):
    """Its SFU node is gone (a live session ships frames all the time): the worker lets go
    and deletes the job, so it holds no capacity and no other worker takes it up."""
    info, tracks = wav_set
    info = _new_info(info)
    prefix = f"lgdtest-{uuid.uuid4().hex[:12]}:"
    keys = StreamKeys(prefix)
    r = redis.Redis.from_url(URL)
    worker = _worker("wE", prefix, tmp_path, LGD_WORKER_ABANDON_S="1.5")
    got: list[Result] = []
    link = RedisLink(redis.Redis.from_url(URL), keys, info, got.append, lambda *_: None)
    try:
        link.send(AudioFrame(tracks[:, :SAMPLE_RATE].copy()))
        deadline = time.monotonic() + 30.0
        while not got or r.xlen(keys.jobs):
            assert time.monotonic() < deadline, "the silent session's job was kept"
            time.sleep(0.1)
        assert r.xpending(keys.jobs, "analysis-workers")["pending"] == 0
        assert worker.poll() is None  # the worker itself goes on
    finally:
        link.close(retire=True)
        worker.kill()
        worker.wait(10)
        r.delete(keys.jobs, *keys.session(info.id))
        r.close()


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # ppid
            out.append(int(stat.parent.name))
    return out


def test_the_local_worker_does_not_outlive_a_killed_server(tmp_path):
    """`lgd serve` killed with SIGKILL: its analysis worker process exits by itself."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "LGD_ASR_ENABLED": "0", "LGD_SERVER_AUTO_START": "0"}
    env.pop("LGD_REDIS_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "lgd.cli", "serve", "--port", str(port), "--data-dir",
         str(tmp_path / "data")], env=env, cwd=Path(__file__).resolve().parent.parent,
        stdout=open(tmp_path / "serve.log", "wb"), stderr=subprocess.STDOUT)
    workers: list[int] = []
    try:
        token = tmp_path / "data" / "hr-token"
        deadline = time.monotonic() + 30.0
        while not token.exists() or not _answers(port):
            assert time.monotonic() < deadline, "lgd serve did not come up"
            time.sleep(0.2)
        hr = {"Authorization": f"Bearer {token.read_text().strip()}"}
        body = json.dumps({"participants": [{"id": "p1"}, {"id": "p2"}]}).encode()
        sid = _post(port, "/api/sessions", body, hr)["id"]
        _post(port, f"/api/sessions/{sid}/start", b"", hr)
        deadline = time.monotonic() + 60.0
        while b"worker process" not in (tmp_path / "serve.log").read_bytes():  # ... ready
            assert time.monotonic() < deadline, "no worker process was started"
            time.sleep(0.2)
        workers = _children(server.pid)
        server.send_signal(signal.SIGKILL)
        server.wait()
        deadline = time.monotonic() + 15.0
        while any(Path(f"/proc/{w}").exists() and "Z" not in _state(w) for w in workers):
            assert time.monotonic() < deadline, "the worker outlived its server: " + "; ".join(
                f"{w} {_state(w)} {Path(f'/proc/{w}/cmdline').read_bytes()[:200]!r}"
                for w in workers if Path(f"/proc/{w}").exists())
            time.sleep(0.2)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        for w in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(w, signal.SIGKILL)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _post(port: int, path: str, body: bytes, headers: dict[str, str]) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST",
                                 headers={**headers, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=20) as r:
        return json.loads(r.read() or b"{}")
