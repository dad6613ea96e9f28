"""Live rooms with real browsers: server CPU, analysis frame loss, relay rate, latency.

For 4 and 6 simulated candidates (headless Chromium, audio + video), prints:
- server CPU in cores (this process: SFU + analysis; the browsers are other processes),
- analysis frames lost (goal 0) and sender re-anchors,
- relay frames/s per receiver (audio and video, what each browser decoded),
- speech onset → dashboard event latency p50/p95 (goal p95 ≤ 300 ms): the onset is the
  scripted onset on the wall clock (each browser's fake-microphone start + lead-in +
  script time); the event time is when a dashboard WebSocket client received the
  matching SpeechStarted;
- with --asr: utterance end → transcript on the dashboard p50/p95 (ASR worker running next
  to the SFU and the browsers), over every utterance and split as `benchmarks/asr.py live`
  splits it: turn ends (the speaker silent for the hold after it: the issue's "turn end →
  final transcript"), partials (the speaker went on) and short lines (under `short_s`),
  judged on the SpeechEnded stretches the dashboard received.

First, without browsers: the analysis's own decision delay, in audio time, from each scripted
onset to the SpeechStarted the driver emits for it, fed 20 ms blocks as the media thread
ships them (no CPU or transport in it: the floor under the live figure).

With `--pin` (default) the server and its analysis worker (and the ASR process) run on core 0
and the browsers on core 1 (`sched_setaffinity`, as `taskset` does), so five Chromiums
cannot starve the server: the latencies are the server's.

    .venv/bin/python benchmarks/live.py [--candidates 4 6] [--duration 40] [--asr] [--no-pin]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import resource
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import aiohttp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.settings import Settings  # noqa: E402
from lgd.simulate import LEAD_IN_S, start_simulation  # noqa: E402
from testkit.synth import RoomConfig, synthesize_session, write_session  # noqa: E402
from tests.serverutil import running_server  # noqa: E402

ROOM = RoomConfig(bleed_db=(-40.0, -40.0), gain_spread_db=10.0, snr_db=(25.0, 30.0))


def decision_delay(n: int, duration: float, seed: int) -> dict:
    from analysis.driver import Analysis
    from core.events import SpeechStarted
    from core.session import SessionInfo

    session = synthesize_session(n, "en", seed, ROOM, duration)
    ids = [p for p, _ in session.participants]
    env = Settings.from_env()
    a = Analysis(SessionInfo("delay", session.participants, "en", ""),
                 dataclasses.replace(env, asr=dataclasses.replace(env.asr, enabled=False)))
    x = np.stack([session.tracks[p] for p in ids]).astype(np.float32)
    emitted = []
    for k in range(0, x.shape[1], 320):
        emitted += [(ev.who, ev.at, (k + 320) / 16000) for ev in a.feed(x[:, k:k + 320])
                    if isinstance(ev, SpeechStarted)]
    delays = [min(t for w, at, t in emitted if w == p and abs(at - on) < 0.3) - on
              for p, spans in session.truth["speech"].items() for on, _ in spans
              if any(w == p and abs(at - on) < 0.3 for w, at, _ in emitted)]
    return {"candidates": n, "onsets_matched": len(delays),
            "decision_delay_ms_p50": round(1000 * float(np.percentile(delays, 50))),
            "decision_delay_ms_p95": round(1000 * float(np.percentile(delays, 95)))}


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def watch_dashboard(url: str, sid: str, token: str, seen: list, stop: asyncio.Event):
    ws_url = url.replace("http", "ws") + f"/api/sessions/{sid}/live?token={token}"
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url) as ws:
        while not stop.is_set():
            try:
                msg = await asyncio.wait_for(ws.receive(), 0.5)
            except TimeoutError:
                continue
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            ev = json.loads(msg.data)
            if ev["type"] in ("SpeechStarted", "SpeechEnded", "Utterance"):
                seen.append((time.time(), ev["who"], ev.get("at", ev.get("end")), ev["type"],
                             ev.get("start")))


async def one(n: int, duration: float, seed: int, asr: bool, pin: bool) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="lgd-bench-live-"))
    session = synthesize_session(n, "en", seed, ROOM, duration)
    paths = write_session(session, tmp / "tracks")
    settings = Settings.from_env()
    settings = dataclasses.replace(settings, asr=dataclasses.replace(settings.asr, enabled=asr))
    async with running_server(tmp / "data", settings) as run:
        sim = await start_simulation(
            run.http,
            run.url,
            run.server.token("hr"),
            paths,
            dict(session.participants),
            None,
            "en",
            cpus={1} if pin else None,
        )
        seen: list = []
        stop = asyncio.Event()
        watcher = asyncio.ensure_future(
            watch_dashboard(run.url, sim.sid, sim.session["assessor_token"], seen, stop)
        )
        try:
            await asyncio.sleep(max(0.0, sim.start_at + 3.0 - time.time()))
            c0, t0 = cpu_s(), time.monotonic()
            await sim.wait_played()
            c1, t1 = cpu_s(), time.monotonic()
            info = await sim.get(run.http, "")
            stats = info["stats"]
            await sim.end(run.http)
            started = datetime.fromisoformat(info["started_at"]).timestamp()
        finally:
            sim.close()
            stop.set()
            await asyncio.gather(watcher, return_exceptions=True)
    clients = stats["clients"]
    capture = {p: c["capture_started_ms"] / 1000 for p, c in clients.items()}
    # relay rate per receiver: what each browser decoded, over the session
    secs = sim.duration_s
    audio_fps, video_fps = [], []
    for c in clients.values():
        for key, r in c.get("rtp", {}).items():
            (audio_fps if key.startswith("audio") else video_fps).append(
                (r["packets"] if key.startswith("audio") else r["frames"]) / secs
            )
    # onset → dashboard latency, for scripted onsets that the live analysis detected
    lat = []
    for pid, spans in session.truth["speech"].items():
        if pid not in capture:
            continue
        for s, _ in spans:
            onset_wall = capture[pid] + LEAD_IN_S + s
            got = [
                t
                for t, who, _at, kind, _ in seen
                if kind == "SpeechStarted" and who == pid and 0 <= t - onset_wall < 2.0
            ]
            if got:
                lat.append(min(got) - onset_wall)
    # the server's share: from where the analysis placed the onset on the session clock
    # to the dashboard (analysis decision delay + queues + WebSocket)
    server_lat = [t - (started + at) for t, _who, at, kind, _ in seen if kind == "SpeechStarted"]
    # utterance end → transcript: when the dashboard got an Utterance, after its end
    asr_lat = [t - (started + end) for t, _who, end, kind, _ in seen if kind == "Utterance"]
    stretches = [(who, start, end) for _, who, end, kind, start in seen if kind == "SpeechEnded"]
    asr = settings.asr

    def line_kind(who: str, start: float, end: float) -> str:  # as benchmarks/asr.py live
        if end - start < asr.short_s:
            return "short"
        going_on = any(w == who and end + 0.05 < e and s < end + asr.hold_s
                       for w, s, e in stretches)
        return "partial" if going_on else "turn_end"

    by_kind: dict[str, list[float]] = {"turn_end": [], "partial": [], "short": []}
    for t, who, end, kind, start in seen:
        if kind == "Utterance":
            by_kind[line_kind(who, start, end)].append(t - (started + end))
    lost = sum(stats["analysis_frames_lost"].values())
    return {
        "candidates": n,
        "server_cpu_cores": round((c1 - c0) / (t1 - t0), 3),
        "analysis_frames_lost": lost,
        "resyncs": sum(stats["resyncs"].values()),
        # tracks placed by the browsers' capture clocks (RTCP sender reports): the moves
        # and the latest one per candidate (ms; the send pipeline arrival anchoring kept)
        "sender_clock_moves": sum(stats.get("sender_clock_realigns", {}).values()),
        "sender_clock_latest_ms": stats.get("sender_clock_realigned_ms"),
        "audio_frames_in_per_s": round(
            sum(stats["audio_frames_in"].values()) / n / stats["analysed_until_s"], 1
        ),
        "relay_audio_pkts_per_s_per_receiver": round(float(np.median(audio_fps)), 1)
        if audio_fps
        else None,
        "relay_video_fps_per_receiver": round(float(np.median(video_fps)), 1)
        if video_fps
        else None,
        "onset_to_dashboard_ms_p50": round(1000 * float(np.percentile(lat, 50))) if lat else None,
        "onset_to_dashboard_ms_p95": round(1000 * float(np.percentile(lat, 95))) if lat else None,
        "onsets_matched": f"{len(lat)}/{sum(len(v) for v in session.truth['speech'].values())}",
        "detected_onset_to_dashboard_ms_p50_p95": [
            round(1000 * float(v)) for v in np.percentile(server_lat, [50, 95])
        ]
        if server_lat
        else None,
        "loop_stall_max_s": stats["loop_stall_max_s"],
        "audio_arrival_to_analysis_ms": stats["analysis_delay_ms"],
        **(
            {
                "utterances": len(asr_lat),
                "utterance_end_to_dashboard_s_p50": round(float(np.percentile(asr_lat, 50)), 2),
                "utterance_end_to_dashboard_s_p95": round(float(np.percentile(asr_lat, 95)), 2),
                **{
                    f"{k}_to_dashboard_s_n_p50_p95": [len(v), *(
                        round(float(q), 2) for q in np.percentile(v, [50, 95]))]
                    for k, v in by_kind.items() if v
                },
            }
            if asr_lat
            else {}
        ),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--candidates", type=int, nargs="+", default=[4, 6])
    ap.add_argument("--duration", type=float, default=40.0)
    ap.add_argument("--asr", action="store_true", help="transcribe live (faster-whisper base)")
    ap.add_argument("--no-pin", dest="pin", action="store_false")
    args = ap.parse_args()
    if args.pin:  # before the server starts: its worker processes inherit core 0
        os.sched_setaffinity(0, {0})
    print(f"load average at start: {os.getloadavg()[0]:.1f}; pinned: {args.pin}", flush=True)
    for n in args.candidates:
        print(json.dumps(decision_delay(n, args.duration, 20 + n)), flush=True)
    for n in args.candidates:
        print(json.dumps(asyncio.run(one(n, args.duration, 20 + n, args.asr, args.pin))),
              flush=True)


if __name__ == "__main__":
    main()
