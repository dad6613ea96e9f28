"""One driver: the live path and `lgd analyze` give the same report for the same audio, and
so does a report replayed from the session's event log (restart recovery).

The live path runs as a live session does, on a simulated clock: each candidate's track is
encoded to 20 ms Opus packets that arrive with their own capture offset and jitter, go
through `media.live.LiveSource` (the live timeline and its watermark) and feed `Analysis`.
The audio it handed out ("as played") is written to WAV files and analysed by the CLI.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.io import wavfile

from analysis.driver import Analysis
from analysis.report import replay
from analysis.settings import Settings
from core.clock import SAMPLE_RATE
from core.events import AudioAnalysed, PortraitUpdate, VoiceAttributes
from core.session import SessionInfo
from lgd.cli import main as lgd_main
from media.live import LiveSource
from testkit.opus import opus_packets, to_48k
from testkit.synth import RoomConfig, synthesize_session

NAMES = {"A": "张伟", "B": "王芳", "C": "李娜"}
STARTED = "2026-11-29T09:00:00+00:00"


def live_run(tracks: dict[str, np.ndarray], info: SessionInfo, seed: int = 0):
    """Packets → LiveSource → Analysis on a simulated clock; (report, events, audio)."""
    rng = np.random.default_rng(seed)
    arrivals = []  # (arrival s, who, rtp ts, payload)
    for k, (who, x) in enumerate(tracks.items()):
        start = 0.3 + 0.25 * k  # browsers start capturing at different moments
        for i, payload in enumerate(opus_packets(to_48k(x))):
            jitter = float(rng.uniform(0.0, 0.06))
            arrivals.append((start + 0.02 * i + jitter, who, 960 * i, payload))
    arrivals.sort(key=lambda a: a[0])
    events: list = []
    analysis = Analysis(info, Settings.from_env(), sink=events.extend)  # as the CLI
    source = LiveSource(info.ids, max_wait_s=2.0)
    played = []
    now, k = 0.0, 0
    end = arrivals[-1][0] + 0.5
    while now < end:
        now += 0.02
        while k < len(arrivals) and arrivals[k][0] <= now:
            at, who, ts, payload = arrivals[k]
            source.put(who, 1, ts, payload, at)
            k += 1
        stopping = now >= end
        block = source.poll(now, stopping, wait_s=0)
        if block is not None:
            played.append(block)
            analysis.feed(block)
    return analysis.finish(), events, np.concatenate(played, axis=1)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    session = synthesize_session(3, "zh", 11, RoomConfig(), 40.0)
    ids = [p for p, _ in session.participants]
    info = SessionInfo("same", [(p, NAMES[p]) for p in ids], "zh", STARTED)
    live, events, played = live_run({p: session.tracks[p] for p in ids}, info)
    tmp = tmp_path_factory.mktemp("as-played")
    args = ["analyze", "--language", "zh", "--session-id", "same", "--started-at", STARTED,
            "--out", str(tmp / "report.json")]
    for row, p in enumerate(ids):
        wavfile.write(tmp / f"{p}.wav", SAMPLE_RATE, played[row].astype(np.float32))
        args += ["--track", f"{p}={tmp / f'{p}.wav'}", "--name", f"{p}={NAMES[p]}"]
    assert lgd_main(args) == 0
    offline = json.loads((tmp / "report.json").read_text())
    return live, offline, events


def test_live_and_lgd_analyze_give_the_same_report(runs):
    live, offline, _ = runs
    live = json.loads(json.dumps(live, ensure_ascii=False))  # as written to disk
    assert live["speech"]["A"] and live["interruptions"]  # a discussion, not silence
    assert [p["name"] for p in live["participants"]] == list(NAMES.values())
    assert live["session"]["language"] == "zh"
    assert set(live["fairness"]["attributes"]) == set(NAMES)  # mic levels, as events
    for key in live:
        assert live[key] == offline[key], key


def test_a_report_replayed_from_the_event_log_is_the_same(runs):
    live, _, events = runs
    assert any(isinstance(e, AudioAnalysed) for e in events)
    assert any(isinstance(e, VoiceAttributes) for e in events)
    assert replay(SessionInfo("same", [(p, NAMES[p]) for p in NAMES], "zh", STARTED), "off",
                  events) == live


def test_the_report_shows_the_last_portrait_update(runs):
    live, _, events = runs
    last = [e for e in events if isinstance(e, PortraitUpdate)][-1]
    assert live["portraits"] == last.portraits and live["graph"] == last.graph
    for pid, dims in last.scores.items():
        for dim, score in dims.items():
            assert live["portraits"][pid]["dimensions"][dim]["score"] == score
