"""Digital silence is absence, not a quiet microphone.

Live, a track is exact zeros before its candidate joins and across packet-loss gaps;
browsers open their microphones tenths of a second apart. Neither may change what the
others are heard to say: a mic's noise floor taken from zeros once let an offset of
0.2 s between tracks hide 3 s of another candidate's speech (5.8 pp of share).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from benchmarks.sessions import run_offline
from testkit.evaluate import share_error_pp
from testkit.synth import RoomConfig, Session, synthesize_session

# candidates in their own rooms, as in a live session (browsers cancel the others' echo)
ROOM = RoomConfig(bleed_db=(-40.0, -40.0), gain_spread_db=10.0, snr_db=(25.0, 30.0))


@pytest.fixture(scope="module")
def session() -> Session:
    return synthesize_session(4, "en", 11, ROOM, 45.0)


def _delayed(session: Session, delay_s: dict[str, float]) -> Session:
    tracks = {
        p: np.concatenate([np.zeros(int(delay_s[p] * 16000), np.float32), x])
        for p, x in session.tracks.items()
    }
    n = max(len(x) for x in tracks.values())
    tracks = {p: np.pad(x, (0, n - len(x))) for p, x in tracks.items()}
    return dataclasses.replace(session, tracks=tracks)


def test_tracks_that_start_apart_give_the_same_shares(session):
    aligned = run_offline(session)
    # the browser test's worst case before the fix: the loudest talker's mic opened last
    apart = run_offline(_delayed(session, {"A": 0.217, "B": 0.089, "C": 0.009, "D": 0.0}))
    truth = session.truth["speaking_share"]
    assert share_error_pp(aligned["speaking_share"], truth) <= 1.5
    assert share_error_pp(apart["speaking_share"], truth) <= 1.5
    for p in truth:
        assert apart["speaking_time_s"][p] == pytest.approx(aligned["speaking_time_s"][p], abs=0.5)


def test_a_late_joiner_does_not_hide_the_others(session):
    # D says nothing before 34 s: joining at 20 s changes no truth, only D's mic is absent
    first_d = min(s for s, _ in session.truth["speech"]["D"])
    assert first_d > 25.0
    tracks = dict(session.tracks)
    tracks["D"] = tracks["D"].copy()
    tracks["D"][: 20 * 16000] = 0.0
    late = run_offline(dataclasses.replace(session, tracks=tracks))
    truth = session.truth
    assert share_error_pp(late["speaking_share"], truth["speaking_share"]) <= 1.5
    for p in truth["speaking_time_s"]:
        assert late["speaking_time_s"][p] == pytest.approx(truth["speaking_time_s"][p], abs=0.6)
