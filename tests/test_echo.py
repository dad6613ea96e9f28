"""Relayed echo as a second path per mic (issue 12, `CouplingModel._estimate_echo`): a
candidate's speakers play the others' voices and their mic picks them up 100-500 ms late.
Checked against the generated room's own echo delays, for abstention where there is no
echo, for live (20 ms) and file (1 s) blocks deciding alike, and on one reported session of
the sweep's echo row (seeds 101-103 are never tuned on; the bound comes from the tuning
seeds, 70.7 → 14.9 % there)."""

import pickle
from dataclasses import replace

import numpy as np
import pytest

from analysis.settings import Settings
from benchmarks.sessions import CONDITIONS, HARD, NO_ASR, make, run_offline
from diarize.config import ActivityConfig
from testkit.evaluate import score_session
from testkit.synth import synthesize_session
from tests.activityutil import run_activity

ECHO = CONDITIONS["relayed echo"]


@pytest.fixture(scope="module")
def echoed():
    s = synthesize_session(3, "zh", 36, ECHO, 40.0)
    ids = [p for p, _ in s.participants]
    return s, ids, np.stack([s.tracks[p] for p in ids]).astype(np.float32)


def test_each_mics_echo_delay_is_found(echoed):
    s, ids, x = echoed
    act, _ = run_activity(x, ids, 16000)
    m, room = act.model, s.truth["room"]
    found = 0
    for i, p in enumerate(ids):
        for j, _q in enumerate(ids):
            if i == j or m.echo_db[i, j] <= -90.0:
                continue
            # the echo reaches mic p through p's own speakers: one delay per receiving mic
            true = room["echo_delay_ms"][p] / 10.0
            assert abs(m.echo_lags[i, j] - true) <= 2.0, (p, _q, m.echo_lags[i, j], true)
            # both paths kept, each near the room's level (gain-free, the synth's -12 dB)
            gain = m.gain_db[i] - m.gain_db[j]
            assert abs(m.echo_db[i, j] - gain - room["echo_db"]) <= 4.0
            assert abs(m.coupling_db[i, j] - gain - room["bleed_db"][p][_q]) <= 4.0
            found += 1
    assert found >= len(ids) - 1
    # every mic whose echo trails its direct path by 150 ms or more has one (here A and B;
    # C's, 105 ms, merges with the direct path's own slope: a known limit, docs/design.md)
    for i, p in enumerate(ids):
        if room["echo_delay_ms"][p] >= 150.0:
            assert m.echo_gap[i] > 0, p
    back = pickle.loads(pickle.dumps(m))  # a snapshot keeps the echo paths
    assert np.array_equal(back.echo_lags, m.echo_lags) and back.has_echo


def test_live_and_file_blocks_decide_alike_with_an_echo(echoed):
    _, ids, x = echoed
    _, live = run_activity(x, ids, 320)
    _, offline = run_activity(x, ids, 16000)
    assert live and live == offline


def test_no_echo_no_second_path():
    """Where no speakers play the others back, the echo path abstains: the decisions are
    exactly those of the one-path model."""
    s = synthesize_session(4, "en", 32, HARD, 40.0)
    ids = [p for p, _ in s.participants]
    x = np.stack([s.tracks[p] for p in ids]).astype(np.float32)
    act, on = run_activity(x, ids, 16000)
    _, off = run_activity(x, ids, 16000, ActivityConfig(echo=False))
    assert not act.model.has_echo
    assert on == off


@pytest.fixture(scope="module")
def reported_101():
    """Sweep row "relayed echo", reported session (3 zh, seed 101): speech error with one
    path per pair, then with the echo path."""
    s = make(3, "zh", 101, ECHO)
    one_path = replace(NO_ASR, activity=replace(NO_ASR.activity, echo=False))
    before = score_session(run_offline(s, one_path), s.truth).speech.error
    after = score_session(run_offline(s, Settings(asr=NO_ASR.asr)), s.truth).speech.error
    return before, after


# Bounds set from the tuning seeds before this session was run (70.7 -> 14.9 % there): at
# most half the one-path error, and at most 25 %.
@pytest.mark.slow
def test_echo_row_halves_the_error_on_a_reported_session(reported_101):
    before, after = reported_101
    assert after <= 0.5 * before, (before, after)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="issue 12 echo row not at the bound set from tuning "
                   "before the run: reported session 101, one path 74.9 % -> echo path "
                   "25.6 % speech error (bound 25 %)")
def test_echo_row_under_a_quarter_on_a_reported_session(reported_101):
    # first run (commit 3316054): 74.9 -> 25.6 %, missed by 0.6 point; not loosened
    before, after = reported_101
    assert after <= 0.25, (before, after)
