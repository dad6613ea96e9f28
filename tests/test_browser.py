"""End to end with real browsers: four headless Chromium candidates in one live room.

Each browser plays one candidate's track of a scripted discussion (espeak-ng, exact
truth) as its fake microphone; the server relays everyone to everyone and analyses the
streams live. Checked: every candidate hears every other (the envelope they receive
follows the source file), the live report's shares are within 3 pp of the script's truth
and its interruptions match, and the assessor dashboard — loaded mid-session in another
headless Chromium — shows every candidate with bars that move (screenshot kept in
``test-artifacts/``).
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks.sessions import CLEAN
from lgd.simulate import LEAD_IN_S, start_simulation
from testkit.asplayed import live_vs_offline, offline_as_played
from testkit.evaluate import interruption_f1, share_error_pp
from testkit.synth import RoomConfig, synthesize_session, write_session
from tests.serverutil import running_server

pytestmark = pytest.mark.slow  # five real Chromiums

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
N, LANGUAGE, SEED, DURATION_S = 4, "en", 11, 45.0
# Candidates join from their own rooms: little bleed between their microphones (browsers
# cancel the echo of the others' voices), different gains and noise.
ROOM = RoomConfig(bleed_db=(-40.0, -40.0), gain_spread_db=10.0, snr_db=(25.0, 30.0))
ENV_HOP_S = 0.05
WINDOW_S = 10.0
MAX_LAG_S = 4.0


@dataclasses.dataclass
class LiveRun:
    session: Any
    report: dict
    offline: dict
    offsets: dict[str, float]
    clients: dict[str, Any]
    dashboard: dict[str, Any]
    capture_s: dict[str, float]


async def _dashboard_check(url: str, shot: Path) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = await browser.new_page(viewport={"width": 1200, "height": 800})
        opened = _now()
        await page.goto(url)
        # caught up: events in, and drawn (the page redraws every 250 ms)
        await page.wait_for_function("window.lgdDashboard && window.lgdDashboard.events > 0 "
                                     "&& document.querySelectorAll('.bar').length > 0")
        caught_up = _now()
        bars = "[...document.querySelectorAll('.bar')].map(b => [b.id, +b.dataset.share])"
        first = await page.evaluate(bars)
        renders0 = await page.evaluate("window.lgdDashboard.renders")
        # follow it live for at least 3 s, until the bars move (or the session ends)
        second, moved_at = first, None
        while _now() - caught_up < 20.0:
            await asyncio.sleep(0.25)
            second = await page.evaluate(bars)
            if moved_at is None and second != first:
                moved_at = _now()
            if moved_at is not None and _now() - caught_up >= 3.0:
                break
            if await page.evaluate("window.lgdDashboard.ended"):
                break
        watched = _now() - caught_up
        state = await page.evaluate(
            "(({clock, events, live, ended}) => ({clock, events, live, ended}))"
            "(window.lgdDashboard)"
        )
        names = await page.evaluate(
            "[...document.querySelectorAll('.bar .name')].map(e => e.textContent)"
        )
        renders = await page.evaluate("window.lgdDashboard.renders") - renders0
        await page.wait_for_function("document.querySelectorAll('#radars svg *').length > 0")
        radars = await page.evaluate("document.querySelectorAll('#radars svg').length")
        graph_items = await page.evaluate("document.querySelectorAll('#igraph *').length")
        shot.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(shot), full_page=True)
        await browser.close()
    print(
        f"dashboard: caught up {caught_up - opened:.1f} s after opening, bars moved after "
        f"{'-' if moved_at is None else f'{moved_at - caught_up:.2f} s'}, watched {watched:.1f} s"
    )
    return {
        "first": dict(first),
        "second": dict(second),
        "moved": moved_at is not None,
        "names": names,
        "renders": renders,
        "watched_s": watched,
        "state": state,
        "radars": radars,
        "graph_items": graph_items,
    }


async def _run(tmp: Path, room: RoomConfig = ROOM, dashboard_too: bool = True) -> LiveRun:
    session = synthesize_session(N, LANGUAGE, SEED, room, DURATION_S)
    paths = write_session(session, tmp / "tracks")
    async with running_server(tmp / "data") as run:
        sim = await start_simulation(
            run.http,
            run.url,
            run.server.token("hr"),
            paths,
            dict(session.participants),
            language=LANGUAGE,
            # five browsers share 2 cores here: cameras off (benchmarks/live.py runs the
            # room with video)
            camera=False,
        )
        try:
            # open the dashboard mid-session: it must catch up and then follow live
            async def dashboard() -> dict[str, Any]:
                await asyncio.sleep(max(0.0, sim.start_at + 0.3 * sim.duration_s - _now()))
                return await _dashboard_check(
                    sim.session["links"]["dashboard"], ARTIFACTS / "dashboard.png"
                )

            dash_task = asyncio.ensure_future(
                dashboard() if dashboard_too else asyncio.sleep(0, {}))
            await sim.wait_played()
            offsets = await sim.file_offsets(run.http)
            stats = (await sim.get(run.http, "?envelopes=1"))["stats"]
            report = await sim.end(run.http)
            dash = await dash_task
        finally:
            sim.close()
    capture = {p: c["capture_started_ms"] / 1000 for p, c in stats["clients"].items()}
    offline = await offline_as_played(session, offsets, LANGUAGE)
    print(
        "server audio frames in",
        stats["audio_frames_in"],
        "lost",
        stats["analysis_frames_lost"],
        "resyncs",
        stats.get("resyncs"),
        "sender clock moves",
        stats.get("sender_clock_realigns"),
        "latest move ms",
        stats.get("sender_clock_realigned_ms"),
        "refused",
        stats.get("sender_clock_refused"),
        "analysed until",
        stats["analysed_until_s"],
        "event-loop stall max",
        stats["loop_stall_max_s"],
        "analysis delay ms",
        stats["analysis_delay_ms"],
    )
    print("offsets", offsets)
    return LiveRun(session, report, offline, offsets, stats["clients"], dash, capture)


def _now() -> float:
    import time

    return time.time()


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> LiveRun:
    return asyncio.run(_run(tmp_path_factory.mktemp("browser")))


@pytest.fixture(scope="module")
def live_one_room(tmp_path_factory) -> LiveRun:
    """The same script in one room: every mic hears the others at -26 dB (the issue's
    clean per-mic tracks, which four browsers once turned into 23 % speech error)."""
    return asyncio.run(_run(tmp_path_factory.mktemp("browser-room"), CLEAN, dashboard_too=False))


def _envelope(x: np.ndarray, rate: int = 16000) -> np.ndarray:
    hop = int(ENV_HOP_S * rate)
    n = len(x) // hop
    return np.sqrt((x[: n * hop].reshape(n, hop) ** 2).mean(1))


def _smooth(x: np.ndarray, k: int = 3) -> np.ndarray:
    return np.convolve(x, np.ones(k) / k, mode="same")


def _envelope_r(points: np.ndarray, track: np.ndarray, t0: float) -> float:
    """How well the level a receiving page measured follows a file's envelope.

    Compared at 250 ms resolution (the page samples its level meter every ~50 ms with a
    busy browser's timer jitter), in 10 s windows each at its own lag in 0–4 s: the
    receiving browser's jitter buffer (NetEq) stretches and shrinks the playout delay as it
    adapts, and a sending browser starved of CPU captures its fake microphone slower than
    real time (seen here: 0.2 s behind the file after 10 s, 2.8 s after 30 s), so one lag
    for the whole session understates a perfect relay on a loaded machine. The other
    files, compared the same way, are the control.
    """
    ref = _smooth(_envelope(track), 5)
    got = _smooth(points[:, 1], 5)
    t_file = points[:, 0] / 1000 - t0  # the file's time on the receiver's wall clock
    xs, ys = [], []
    for w0 in np.arange(0.0, t_file.max(), WINDOW_S):
        inw = (t_file >= w0) & (t_file < w0 + WINDOW_S)
        best, pair = -2.0, None
        for lag in np.arange(0.0, MAX_LAG_S, ENV_HOP_S):  # relay + playout (+ sender lag)
            idx = np.round((t_file[inw] - lag) / ENV_HOP_S).astype(int)
            ok = (idx >= 0) & (idx < len(ref))
            if ok.sum() < 40 or got[inw][ok].std() == 0 or ref[idx[ok]].std() == 0:
                continue
            r = float(np.corrcoef(got[inw][ok], ref[idx[ok]])[0, 1])
            if r > best:
                best, pair = r, (got[inw][ok], ref[idx[ok]])
        if pair is not None:
            xs.append(pair[0])
            ys.append(pair[1])
    if not xs:
        return -1.0
    return float(np.corrcoef(np.concatenate(xs), np.concatenate(ys))[0, 1])


def test_every_candidate_hears_every_other_candidate(live):
    ids = [pid for pid, _ in live.session.participants]
    assert set(live.clients) == set(ids), "every browser joined and reported"
    for receiver in ids:
        env = live.clients[receiver]["envelope"]
        for source in ids:
            if source == receiver:
                continue
            points = np.array(env.get(source, []), dtype=float)  # (n, 2): epoch ms, rms
            assert len(points) > 100, f"{receiver} received nothing from {source}"
            assert points[:, 1].max() > 0.005, f"{receiver} hears {source} as silence"
            t0 = live.capture_s[source] + LEAD_IN_S
            r = _envelope_r(points, live.session.tracks[source], t0)
            # control: the same comparison against the files of the others
            wrong = max(
                _envelope_r(points, live.session.tracks[o], t0) for o in ids if o != source
            )
            print(f"{receiver}←{source}: envelope r = {r:.2f} (other files: {wrong:.2f})")
            assert r > 0.6, f"{receiver}←{source}: envelope r = {r:.2f}"
            assert r > wrong + 0.3, f"{receiver}←{source} matches another file as well"


def test_live_speaking_share_within_3pp_of_truth(live):
    err = share_error_pp(live.report["speaking_share"], live.session.truth["speaking_share"])
    off = share_error_pp(live.offline["speaking_share"], live.session.truth["speaking_share"])
    print(f"live share error {err:.2f} pp; offline {off:.2f} pp")
    assert err <= 3.0


@pytest.mark.parametrize("room", ["live", "live_one_room"])
def test_live_speech_error_within_3_points_of_offline_as_played(room, request):
    """Issue 12, live equals offline: the live report's speech error, against the script as
    each browser played it, is within 3 points of `lgd analyze` on that same audio; at most
    one phantom backchannel (in nobody's script) per candidate-minute."""
    run: LiveRun = request.getfixturevalue(room)
    m = live_vs_offline(run.session, run.report, run.offline, run.offsets)
    print(f"{room}: speech error live {m['speech_error_live']:.1%}, offline as played "
          f"{m['speech_error_offline']:.1%}; share pp live {m['share_error_live_pp']:.2f}, "
          f"offline {m['share_error_offline_pp']:.2f}; phantom backchannels per "
          f"candidate-minute {m['phantom_backchannels_per_candidate_min']:.2f}")
    assert abs(m["speech_error_live"] - m["speech_error_offline"]) <= 0.03
    assert m["phantom_backchannels_per_candidate_min"] <= 1.0


def test_live_interruptions_match(live):
    """Against `lgd analyze` on the audio as the browsers played it (each browser opens its
    microphone a few tens of ms apart, which shifts who overlaps whom against the script;
    the script's own F1 is printed)."""
    origin = live.offline["time_origin"]
    spread = max(live.offsets.values()) - origin
    shifted = [dict(i, at=i["at"] - origin) for i in live.report["interruptions"]]
    truth = live.session.truth["interruptions"]
    vs_offline = interruption_f1(shifted, live.offline["interruptions"])
    vs_truth = interruption_f1(shifted, truth)
    print(
        f"interruptions: live {len(shifted)}, as-played offline "
        f"{len(live.offline['interruptions'])}, script {len(truth)}; F1 vs offline "
        f"{vs_offline.f1:.2f}, vs script {vs_truth.f1:.2f}; start spread {spread:.2f} s"
    )
    assert len(live.offline["interruptions"]) >= 2
    # One interruption may differ (missed, extra, or the same one judged with the other
    # outcome): a sending browser starved of CPU on these shared 2 cores is re-anchored
    # now and then, which moves its audio by a few hundred ms. With 5 events that is the
    # F1 ≥ 0.75 this test used to ask; with 3 it no longer fails on one event.
    missed, extra = vs_offline.n_ref - vs_offline.tp, vs_offline.n_pred - vs_offline.tp
    assert missed <= 1 and extra <= 1, (missed, extra)


def test_dashboard_shows_every_candidate_and_updates(live):
    d = live.dashboard
    names = [name for _, name in live.session.participants]
    assert sorted(d["names"]) == sorted(names)
    assert set(d["first"]) == {f"bar-{pid}" for pid, _ in live.session.participants}
    assert d["moved"], (
        f"the bars did not move in {d['watched_s']:.1f} s of a live discussion: {d['state']}"
    )
    assert d["renders"] >= 2 * int(d["watched_s"])  # redrawn at least every 500 ms
    assert d["radars"] == N and d["graph_items"] > 0  # a live radar each, the graph drawn
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000

