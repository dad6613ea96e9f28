"""Live equals offline (issue 12): real headless Chromiums play a scripted room through
`lgd simulate`; for each room and capture-clock setting it prints the live report's speech
error and that of `lgd analyze` on the audio as the browsers played it (each against the
script moved as played), both share errors, phantom backchannels per candidate-minute, and
the capture-clock moves (media/timeline.py). The issue's bound: live within 3 points of
offline, at most 1 phantom backchannel per candidate-minute.

A benchmark, not a test: the live figure moves with CPU load (a starved browser captures
late and unevenly), so it is measured with the load printed. `--pin` puts the browsers on
core 1 and the server on core 0.

    .venv/bin/python benchmarks/live_accuracy.py [--rooms own clean hard] [--candidates 4]
        [--duration 45] [--seed 11] [--sender-clock on off] [--pin]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.settings import Settings  # noqa: E402
from benchmarks.sessions import CLEAN, ISSUE_HARD  # noqa: E402
from lgd.simulate import start_simulation  # noqa: E402
from testkit.asplayed import live_vs_offline, offline_as_played  # noqa: E402
from testkit.synth import RoomConfig, synthesize_session, write_session  # noqa: E402
from tests.serverutil import running_server  # noqa: E402

ROOMS = {
    # candidates in their own rooms (browsers cancel the others' echo), as tests/test_browser
    "own": RoomConfig(bleed_db=(-40.0, -40.0), gain_spread_db=10.0, snr_db=(25.0, 30.0)),
    "clean": CLEAN,  # one room, per-mic bleed -26 dB (the issue's first row)
    "hard": ISSUE_HARD,  # -12 dB reverberant bleed, uneven gains, noise after the gain
}


async def one(room: str, n: int, duration: float, seed: int, sender_clock: bool,
              pin: bool) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="lgd-bench-liveacc-"))
    session = synthesize_session(n, "en", seed, ROOMS[room], duration)
    paths = write_session(session, tmp / "tracks")
    settings = Settings.from_env()
    settings = dataclasses.replace(
        settings, asr=dataclasses.replace(settings.asr, enabled=False),
        server=dataclasses.replace(settings.server, sender_clock=sender_clock))
    load0 = os.getloadavg()[0]
    async with running_server(tmp / "data", settings) as run:
        sim = await start_simulation(run.http, run.url, run.server.token("hr"), paths,
                                     dict(session.participants), None, "en", camera=False,
                                     cpus={1} if pin else None)
        try:
            await sim.wait_played()
            offsets = await sim.file_offsets(run.http)
            stats = (await sim.get(run.http, ""))["stats"]
            live = await sim.end(run.http)
        finally:
            sim.close()
    offline = await offline_as_played(session, offsets, "en")
    return {"room": room, "sender_clock": sender_clock, "load": round(load0, 1),
            **live_vs_offline(session, live, offline, offsets),
            "moves_ms": stats.get("sender_clock_realigned_ms"),
            "lost": sum(stats["analysis_frames_lost"].values())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rooms", nargs="+", default=["own", "clean", "hard"], choices=ROOMS)
    ap.add_argument("--candidates", type=int, default=4)
    ap.add_argument("--duration", type=float, default=45.0)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--sender-clock", nargs="+", default=["on", "off"], choices=["on", "off"])
    ap.add_argument("--pin", action="store_true")
    a = ap.parse_args()
    if a.pin:
        os.sched_setaffinity(0, {0})
    print(f"{'room':<7}{'clock':>6}{'load':>6}{'live err':>10}{'offline':>9}{'share pp':>10}"
          f"{'offl pp':>9}{'phantom/min':>12}  latest move ms per candidate")
    for room in a.rooms:
        for clock in a.sender_clock:
            r = asyncio.run(one(room, a.candidates, a.duration, a.seed, clock == "on", a.pin))
            print(f"{room:<7}{clock:>6}{r['load']:>6}{r['speech_error_live']:>10.1%}"
                  f"{r['speech_error_offline']:>9.1%}{r['share_error_live_pp']:>10.2f}"
                  f"{r['share_error_offline_pp']:>9.2f}"
                  f"{r['phantom_backchannels_per_candidate_min']:>12.2f}  {r['moves_ms']}",
                  flush=True)


if __name__ == "__main__":
    main()
