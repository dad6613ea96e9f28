"""LiveTimeline: real Opus packets placed on the session clock by RTP time.

Jitter must not move audio, loss leaves silence in place, a late packet is counted as
lost (never shifted), a reconnect continues the same track without counting twice, and a
sender whose clock stalls is re-anchored.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.clock import SAMPLE_RATE
from media.timeline import RESYNC_PACKETS, LiveTimeline
from testkit.opus import FRAME, RATE, opus_packets


def bursts(seconds: float, on: list[tuple[float, float]], f0: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    x = np.zeros_like(t)
    for s, e in on:
        m = (t >= s) & (t < e)
        x[m] = 0.3 * np.sin(2 * np.pi * f0 * t[m])
    return x


def envelope_on(track: np.ndarray, hop_s: float = 0.02) -> np.ndarray:
    hop = int(hop_s * SAMPLE_RATE)
    n = len(track) // hop
    return np.sqrt((track[: n * hop].reshape(n, hop) ** 2).mean(1)) > 0.02


def onsets(mask: np.ndarray, hop_s: float = 0.02) -> list[float]:
    d = np.diff(mask.astype(int))
    return [round((i + 1) * hop_s, 2) for i in np.flatnonzero(d == 1)]


@pytest.fixture(scope="module")
def packets() -> list[bytes]:
    return opus_packets(bursts(4.0, [(0.5, 1.0), (2.0, 3.0)]))


def test_jitter_does_not_move_audio(packets):
    rng = np.random.default_rng(1)
    tl = LiveTimeline(["a"])
    start = 1.0  # the track starts 1 s into the session
    for i, p in enumerate(packets):
        jitter = float(rng.uniform(0, 0.06))
        tl.place("a", 1, 5000 + i * FRAME, p, start + i * 0.02 + jitter)
    block = tl.read(int(6.0 * SAMPLE_RATE))
    got = onsets(envelope_on(block[0]))
    # Opus has ~6.5 ms of codec delay and the resampler a few samples: within one hop.
    assert got == pytest.approx([1.5, 3.0], abs=0.03)
    assert tl.frames_lost["a"] == 0


def test_loss_leaves_silence_in_place(packets):
    tl = LiveTimeline(["a"])
    for i, p in enumerate(packets):
        if 110 <= i < 120:  # 200 ms lost inside the second burst (2.2–2.4 s)
            continue
        tl.place("a", 1, i * FRAME, p, i * 0.02)
    on = envelope_on(tl.read(int(4.0 * SAMPLE_RATE))[0])
    assert onsets(on) == pytest.approx([0.5, 2.0, 2.4], abs=0.03)  # nothing after shifted
    assert not on[112:118].any()


def test_late_packets_are_counted_not_shifted(packets):
    tl = LiveTimeline(["a"])
    for i, p in enumerate(packets[:100]):
        tl.place("a", 1, i * FRAME, p, i * 0.02)
    tl.read(int(2.5 * SAMPLE_RATE))  # analysis has moved on to 2.5 s
    for i, p in enumerate(packets[100:140], start=100):  # 2.0–2.8 s held up, arrive at 2.9 s
        tl.place("a", 1, i * FRAME, p, 2.9)
    for i, p in enumerate(packets[140:], start=140):  # then on time again
        tl.place("a", 1, i * FRAME, p, i * 0.02)
    assert 25 <= tl.frames_lost["a"] <= 26  # 2.0–2.5 s (+ the packet straddling 2.5 s)
    assert tl.resyncs["a"] == 0
    rest = tl.read(int(4.0 * SAMPLE_RATE))[0]  # 2.5–4.0 s: still at their own time
    on = envelope_on(rest)
    assert on[:24].all() and not on[26:].any()  # the burst tail 2.5–3.0 s, in place


def test_reconnect_continues_the_track_without_double_counting(packets):
    tl = LiveTimeline(["a", "b"])
    for i, p in enumerate(packets[:60]):  # first connection: 0–1.2 s
        tl.place("a", 1, 7777 + i * FRAME, p, i * 0.02)
    # The new connection's clock starts elsewhere; its first packet arrives at 1.1 s, so
    # its first 100 ms overlap what the old connection already delivered.
    for i, p in enumerate(packets[:100]):
        tl.place("a", 2, 123 + i * FRAME, p, 1.1 + i * 0.02)
    block = tl.read(int(3.2 * SAMPLE_RATE))
    on = onsets(envelope_on(block[0]))
    assert on == pytest.approx([0.5, 1.6], abs=0.03)  # second burst at 1.1 + 0.5
    assert tl.frames_lost["a"] == 5  # the 100 ms overlap, dropped once
    assert not block[1].any()  # b never joined: silence


def test_stalled_sender_is_reanchored():
    packets = opus_packets(bursts(8.0, [(0.5, 1.0), (2.0, 3.0), (6.0, 7.0)]))
    tl = LiveTimeline(["a"])
    for i, p in enumerate(packets):
        # the sender's capture stalls 1 s at 2.0 s, but its RTP clock carries on as if not
        tl.place("a", 1, i * FRAME, p, i * 0.02 + (1.0 if i >= 100 else 0.0))
    assert tl.resyncs["a"] == 1
    on = onsets(envelope_on(tl.read(int(9.0 * SAMPLE_RATE))[0]))
    # re-anchored after RESYNC_PACKETS late packets: the speech after that sits where it
    # arrived (6.0 s of RTP time → 7.0 s), not pulled 1 s early
    assert on[0] == pytest.approx(0.5, abs=0.03)
    assert on[-1] == pytest.approx(7.0, abs=0.03)
    assert RESYNC_PACKETS * 0.02 < 4.0


def test_a_delay_shared_by_every_track_is_not_a_sender_stall():
    packets = opus_packets(bursts(4.0, [(0.5, 1.0), (2.0, 3.0)]))
    tl = LiveTimeline(["a", "b"])
    for i, p in enumerate(packets):
        late = 1.0 if i >= 50 else 0.0  # the receiving loop stalls: both arrive late
        tl.place("a", 1, i * FRAME, p, i * 0.02 + late)
        tl.place("b", 1, i * FRAME, p, i * 0.02 + late)
    assert tl.resyncs == {"a": 0, "b": 0}


def test_watermark_waits_for_sending_tracks_only(packets):
    tl = LiveTimeline(["a", "b", "c"])
    for i, p in enumerate(packets[:50]):  # a: 0–1.0 s delivered
        tl.place("a", 1, i * FRAME, p, i * 0.02)
    for i, p in enumerate(packets[:40]):  # b: 0–0.8 s delivered (its loop is behind)
        tl.place("b", 1, i * FRAME, p, i * 0.02)
    # c never joined: it does not hold analysis back; b does, up to max_wait
    assert tl.ready(1.0, max_wait_s=1.0) == pytest.approx(0.8 * SAMPLE_RATE, abs=40)
    # no packet from anyone since: a starved receiver, not a quiet b — nothing moves
    assert tl.ready(2.3, max_wait_s=1.0) == pytest.approx(0.8 * SAMPLE_RATE, abs=40)
    for i, p in enumerate(packets[50:116], start=50):  # a goes on to 2.3 s
        tl.place("a", 1, i * FRAME, p, i * 0.02)
    # b went quiet 1.5 s ago while a kept sending: analysis goes on without it
    assert tl.ready(2.3, max_wait_s=1.0) >= int(2.2 * SAMPLE_RATE)
    # nothing heard from anyone for longer than IDLE_S: nobody is sending, the clock rules
    assert tl.ready(9.0, max_wait_s=1.0) == int(9.0 * SAMPLE_RATE)


def test_a_starved_receiver_loses_nothing():
    """The whole process stalls for 3 s (a busy host): every packet waits in the socket and
    then arrives in a burst. The read head must wait for them, not pass over them."""
    packets = opus_packets(bursts(6.0, [(0.5, 1.0), (2.0, 3.0), (4.5, 5.0)]))
    tl = LiveTimeline(["a", "b"])
    got = []

    def poll(now: float) -> None:
        got.append(tl.read(tl.ready(now, max_wait_s=1.0)))

    def arrive(i: int, at: float) -> None:
        tl.place("a", 1, i * FRAME, packets[i], at)
        tl.place("b", 1, i * FRAME, packets[i], at)

    for i in range(50):  # 0–1 s on time
        arrive(i, i * 0.02)
        poll(i * 0.02)
    for now in (1.5, 2.5, 3.5):  # the analysis thread wakes; nothing is read off the socket
        poll(now)
    for i in range(50, 200):  # 1–4 s: the backlog, in one burst at 4.0 s
        arrive(i, 4.0 + (i - 50) * 1e-4)
    for i in range(200, len(packets)):  # on time again
        arrive(i, i * 0.02)
        poll(i * 0.02)
    poll(len(packets) * 0.02)
    assert tl.frames_lost == {"a": 0, "b": 0}
    track = np.concatenate(got, axis=1)[0]
    assert onsets(envelope_on(track)) == pytest.approx([0.5, 2.0, 4.5], abs=0.04)


def test_senders_slow_together_cost_latency_not_audio():
    """Every sender's capture runs at 80 % of real time (browsers starved on a busy
    host): their audio falls further behind arrival each second, beyond the wait. It is
    all on its way, so all of it is analysed, later."""
    packets = opus_packets(bursts(6.0, [(0.5, 1.0), (2.0, 3.0), (4.5, 5.0)]))
    tl = LiveTimeline(["a", "b"])
    got = []
    for i, p in enumerate(packets):
        at = i * 0.02 / 0.8
        tl.place("a", 1, i * FRAME, p, at)
        tl.place("b", 1, i * FRAME, p, at + 0.01)
        got.append(tl.read(tl.ready(at + 0.01, max_wait_s=1.0)))
    got.append(tl.read(tl.ready(len(packets) * 0.02 / 0.8, max_wait_s=1.0)))
    assert tl.frames_lost == {"a": 0, "b": 0}
    track = np.concatenate(got, axis=1)[1]
    assert onsets(envelope_on(track)) == pytest.approx([0.5, 2.0, 4.5], abs=0.04)


def test_unknown_candidate_and_garbage_payload_are_harmless(packets):
    tl = LiveTimeline(["a"])
    tl.place("zz", 1, 0, packets[0], 0.0)
    tl.place("a", 1, 0, b"\xff\x00garbage", 0.0)
    tl.place("a", 1, FRAME, packets[1], 0.02)
    assert tl.read(int(0.1 * SAMPLE_RATE)).shape == (1, 1600)


def test_a_joiner_behind_the_read_head_loses_nothing(packets):
    """`a`'s first packet was delayed 60 ms, so its clock (and the read head) runs 60 ms
    ahead of arrivals; `b` joins later and its first packet lands before the head. It is
    placed at the head instead of being counted lost (the SFU test lost such frames)."""
    tl = LiveTimeline(["a", "b"])
    tl.place("a", 1, 0, packets[0], 0.06)
    for i, p in enumerate(packets[1:60], start=1):
        tl.place("a", 1, i * FRAME, p, i * 0.02)
    tl.read(tl.ready(1.2, 2.0))
    assert tl.read_head > int(1.2 * SAMPLE_RATE)
    for i, p in enumerate(packets[:40]):
        tl.place("b", 1, i * FRAME, p, 1.2 + i * 0.02)
    assert tl.frames_lost == {"a": 0, "b": 0}


# -- sender reports: audio placed by capture time ---------------------------------------


def _onset(track: np.ndarray, level: float = 0.02) -> float:
    """Session time (s) of the first 2.5 ms window above `level`."""
    hop = SAMPLE_RATE // 400
    n = len(track) // hop
    on = np.sqrt((track[: n * hop].reshape(n, hop) ** 2).mean(1)) > level
    return float(np.argmax(on) * hop / SAMPLE_RATE)


def _send(tl: LiveTimeline, who: str, packets: list[bytes], captured, delay: float,
          reports: bool, every: int = 50) -> None:
    """`who` captures packet i at `captured(i)` (its clock = ours) and it arrives `delay`
    later; with `reports`, an RTCP sender report follows every `every` packets."""
    for i, p in enumerate(packets):
        tl.place(who, 1, 7000 + i * FRAME, p, captured(i) + delay)
        if reports and i % every == every - 1:
            tl.sender_clock(who, 1, 7000 + i * FRAME, captured(i), captured(i) + delay + 0.001)


@pytest.mark.parametrize("reports", [False, True], ids=["arrival", "sender-clock"])
def test_a_slow_send_pipeline_does_not_shift_a_track(reports):
    """Both candidates speak at 2.0 s; `a`'s browser (busy) sends every packet 90 ms
    after capture, `b`'s 10 ms after. By arrival `a` is placed 80 ms late (the old way,
    kept as the control); by its sender reports both land where they were captured."""
    packets = opus_packets(bursts(4.0, [(2.0, 2.5)]))
    tl = LiveTimeline(["a", "b"])
    _send(tl, "a", packets, lambda i: 0.3 + i * 0.02, 0.09, reports)
    _send(tl, "b", packets, lambda i: 0.3 + i * 0.02, 0.01, reports)
    block = tl.read(int(5.0 * SAMPLE_RATE))
    a, b = _onset(block[0]), _onset(block[1])
    print(f"onsets a {a:.4f} s, b {b:.4f} s; realigned {tl.realigned_ms}")
    if reports:
        assert abs(a - b) <= 0.003 and abs(b - 2.3) <= 0.01
        assert tl.realigns["a"] >= 1 and tl.clock_refused == {"a": 0, "b": 0}
        # a move earlier drops as much of what comes next (here silence)
        assert tl.realign_dropped_ms == {"a": 90.0, "b": 10.0}
    else:
        assert a - b == pytest.approx(0.08, abs=0.005)


def test_a_sender_clock_a_little_behind_is_judged_against_the_others():
    """Four browsers in one room, each sending 20–40 ms after capture; `c`'s laptop clock
    is 200 ms behind, so its reports imply a 220 ms path: inside the plausible window,
    but 190 ms from the others'. It is refused (its audio stays where it arrived: 20 ms
    late), the others move to their capture times; and nobody moves before every
    sender's clock has been heard."""
    packets = opus_packets(bursts(5.0, [(3.0, 3.5)]))
    tl = LiveTimeline(["a", "b", "c", "d"])
    send = {"a": 0.02, "b": 0.04, "c": 0.02, "d": 0.03}
    for i, p in enumerate(packets):
        for who, delay in send.items():
            tl.place(who, 1, 7000 + i * FRAME, p, 0.3 + i * 0.02 + delay)
        if i % 50 == 49:
            for who, delay in send.items():
                wrong = -0.2 if who == "c" else 0.0  # c's clock
                tl.sender_clock(who, 1, 7000 + i * FRAME, 0.3 + i * 0.02 + wrong,
                                0.3 + i * 0.02 + delay + 0.001)
                if i == 49 and who == "a":  # the first report, before the others'
                    assert tl.realigns["a"] == 0
    block = tl.read(int(6.0 * SAMPLE_RATE))
    on = {who: _onset(block[k]) for k, who in enumerate(send)}
    print(f"onsets {on}; refused {tl.clock_refused}; realigned {tl.realigned_ms}")
    assert tl.clock_refused["c"] >= 2 and tl.realigns["c"] == 0
    assert all(tl.realigns[w] >= 1 and tl.clock_refused[w] == 0 for w in "abd")
    assert all(abs(on[w] - 3.3065) <= 0.004 for w in "abd")  # captured (+ Opus delay)
    assert on["c"] == pytest.approx(3.3265, abs=0.004)  # by arrival


#: the sender-clock case's bound (4 ms, as first set) is missed since the clock cross-check
#: (53d0040) by where the moves fall: `a` is left up to 3 ms (moves under that are not made)
#: plus 2.5 ms of drift between 5 s reports behind its capture time. Fixing it needs the
#: drift rate followed between reports, not a wider bound.
DRIFT_MISS = ("issue 12: a 500 ppm fast clock, followed by its sender reports, lands 4.5 ms "
              "from where it was captured at 59 s (a - b = -25.0 ms, want -29.5 +- 4 ms)")


@pytest.mark.parametrize("reports", [
    False, pytest.param(True, marks=pytest.mark.xfail(strict=True, reason=DRIFT_MISS))],
    ids=["arrival", "sender-clock"])
def test_a_drifting_audio_clock_is_followed(reports):
    """`a`'s sound card runs 500 ppm fast: over 60 s its RTP clock gains 30 ms on the wall
    clock, so by arrival its speech at 59 s lands 30 ms late against `b`'s."""
    packets = opus_packets(bursts(60.0, [(59.0, 59.5)]))
    tl = LiveTimeline(["a", "b"])
    got = []
    for i, p in enumerate(packets):  # live: read as it arrives
        ca, cb = i * 0.02 / 1.0005, i * 0.02
        tl.place("a", 1, i * FRAME, p, ca + 0.02)
        tl.place("b", 1, i * FRAME, p, cb + 0.02)
        if reports and i % 250 == 249:  # a report every 5 s, as browsers send them
            tl.sender_clock("a", 1, i * FRAME, ca, ca + 0.02)
            tl.sender_clock("b", 1, i * FRAME, cb, cb + 0.02)
        got.append(tl.read(tl.ready(cb + 0.02, max_wait_s=1.0)))
    got.append(tl.read(int(61.0 * SAMPLE_RATE)))
    block = np.concatenate(got, axis=1)
    a = _onset(block[0, 50 * SAMPLE_RATE:]) + 50
    b = _onset(block[1, 50 * SAMPLE_RATE:]) + 50
    print(f"onsets a {a:.4f} s, b {b:.4f} s; realigns {tl.realigns}; "
          f"dropped ms {tl.realign_dropped_ms}; lost {tl.frames_lost}")
    assert tl.frames_lost == {"a": 0, "b": 0}
    if reports:
        # the first report moves each 20 ms earlier (its send delay); then `a` in 2 ms steps
        assert tl.realigns["b"] == 1 and tl.realigned_ms["b"] == -20.0
        assert 5 <= tl.realigns["a"] <= 15
        assert a - b == pytest.approx(-59.0 * 0.0005 / 1.0005, abs=0.004)  # where captured
    else:
        assert a - b == pytest.approx(0.0, abs=0.003)


def test_a_sender_clock_far_off_is_not_believed():
    """A laptop whose clock is 8 s ahead: its reports would place its audio 8 s early.
    They are refused, and its audio stays where it arrived."""
    packets = opus_packets(bursts(3.0, [(1.0, 1.5)]))
    tl = LiveTimeline(["a"])
    _send(tl, "a", packets, lambda i: 8.0 + i * 0.02, -7.97, reports=True)
    block = tl.read(int(4.0 * SAMPLE_RATE))
    assert tl.realigns["a"] == 0 and tl.clock_refused["a"] >= 2
    assert _onset(block[0]) == pytest.approx(1.03, abs=0.01)


def test_late_stamped_reports_do_not_make_a_track_wander():
    """aiortc stamps a report with the moment it is made but the timestamp of the last
    packet *sent* (0–20 ms before): each report alone is late by a random amount. The
    track is placed by the least late of the recent ones and does not move back and
    forth with each."""
    rng = np.random.default_rng(3)
    packets = opus_packets(bursts(40.0, [(35.0, 35.5)]))
    tl = LiveTimeline(["a"])
    for i, p in enumerate(packets):
        tl.place("a", 1, i * FRAME, p, i * 0.02 + 0.03)
        if i % 50 == 49:  # about every second, as aiortc sends them
            late = float(rng.uniform(0.0, 0.02))
            tl.sender_clock("a", 1, i * FRAME, i * 0.02 + late, i * 0.02 + late + 0.001)
    block = tl.read(int(41.0 * SAMPLE_RATE))
    onset = _onset(block[0, 30 * SAMPLE_RATE:]) + 30
    print(f"onset {onset:.4f} s; realigns {tl.realigns['a']}; "
          f"dropped {tl.realign_dropped_ms['a']} ms")
    assert onset == pytest.approx(35.0065, abs=0.004)  # Opus's 6.5 ms codec delay
    assert tl.realigns["a"] <= 4


def test_a_replay_with_the_live_anchors_places_audio_exactly_as_live():
    """A re-analysis of the recorded packets, given the live timeline's `anchors`, places
    every sample where the live session did, though it reads at other moments (the
    anchors of a joiner depend on how far analysis had read, the moves on reports it
    no longer has)."""
    rng = np.random.default_rng(7)
    a_packets = opus_packets(bursts(20.0, [(3.0, 4.0), (12.0, 13.5)]))
    b_packets = opus_packets(bursts(16.0, [(1.0, 2.5), (9.0, 9.6)], f0=330.0))
    arrivals = sorted(
        [(0.2 + i * 0.02 / 1.0004 + 0.06 + float(rng.uniform(0, 0.03)), "a", i)
         for i in range(len(a_packets))]
        + [(4.1 + i * 0.02 + 0.02 + float(rng.uniform(0, 0.01)), "b", i)
           for i in range(len(b_packets))])
    packets = {"a": a_packets, "b": b_packets}
    base = {"a": 0.2, "b": 4.1}
    rate = {"a": 1.0004, "b": 1.0}

    def run(tl: LiveTimeline, reads_every: int, reports: bool) -> np.ndarray:
        got = []
        for k, (at, who, i) in enumerate(arrivals):
            tl.place(who, 1, 1000 + i * FRAME, packets[who][i], at)
            if reports and i % 60 == 59:
                captured = base[who] + i * 0.02 / rate[who]
                tl.sender_clock(who, 1, 1000 + i * FRAME, captured, at + 0.001)
            if k % reads_every == 0:
                got.append(tl.read(tl.ready(at, max_wait_s=1.0)))
        got.append(tl.read(int(21.0 * SAMPLE_RATE)))
        return np.concatenate(got, axis=1)

    live = LiveTimeline(["a", "b"])
    heard = run(live, reads_every=7, reports=True)
    assert live.realigns["a"] >= 3 and live.realigns["b"] >= 1  # it did move them
    again = run(LiveTimeline(["a", "b"], anchors=list(live.anchors)), 1, reports=False)
    assert heard.shape == again.shape and np.array_equal(heard, again)
    decided = run(LiveTimeline(["a", "b"]), 1, reports=False)  # without: by arrival
    assert not np.array_equal(heard, decided)
