"""Live audio onto one session clock: Opus packets in, (n_tracks, n) 16 kHz blocks out.

Each candidate's connection (a *generation*: a reconnect starts a new one) is anchored
at the arrival of its first packet; every later packet is placed by its RTP timestamp
from that anchor, so network jitter never moves audio and packet loss leaves silence in
place. Once the sender's RTCP reports say when it captured a timestamp (on its own wall
clock: `sender_clock`), the anchor moves there: browsers start capturing at different
moments, their first packets wait different times in their send pipelines (far longer
in a starved one), and their audio clocks drift from the wall clock (±200 ppm is
0.7 s an hour); arrival anchoring keeps all of that, capture time none of it. A sender
clock is believed only while the delays it implies are plausible (see CLOCK_AHEAD_S).

Tracks start whenever their candidate joins. A packet that lands before the read head
(arrived later than the read delay allows) or on samples already written (a reconnect
overlapping the old connection's tail) is not analysed and is counted in `frames_lost` —
nothing is counted twice.

A plain synchronous class: it is given arrival times and "now" and never reads a clock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import av
import numpy as np

from core.clock import FRAME_SAMPLES, SAMPLE_RATE

RTP_RATE = 48000
#: A sender whose RTP clock falls behind the arrival clock for this many packets in a row
#: (by at least RESYNC_S: a paused tab, a starved capture thread) is re-anchored: the
#: pause becomes silence instead of pulling later speech earlier. A network delay burst
#: does not trigger it: the packets after the burst arrive on time again.
RESYNC_PACKETS = 100
RESYNC_S = 0.3
DECIMATION = RTP_RATE // SAMPLE_RATE  # 3
#: A sender report is believed while the least one-way delay its recent reports imply
#: (arrival here − capture on the sender's clock) lies in [−CLOCK_AHEAD_S, CLOCK_BEHIND_S]:
#: a sender clock further ahead of ours, or behind (or a network that slow), would place
#: its audio against the others' worse than arrival times do. Browsers on NTP-kept clocks
#: sit well inside; a laptop clock minutes off is refused and arrival anchoring stays.
CLOCK_AHEAD_S = 0.02
CLOCK_BEHIND_S = 0.3
CLOCK_REPORTS = 5  #: the reports whose least delay judges a sender's clock
#: ...and is refused when that delay is this far from the other senders' median (a clock
#: wrong by more, or a path that much slower: its audio stays placed by arrival)
CLOCK_SPREAD_S = 0.1
#: a sender's reports wait this long at most for every other sender's first report
CLOCK_WAIT_S = 10.0
#: the reports (of the last this many seconds of capture) whose earliest placement is used
CLOCK_WINDOW_S = 15.0
#: smaller corrections are left alone (3 ms: a sender drifting 200 ppm gets one in 15 s)
REALIGN_MIN = 48
#: Nothing heard from any candidate for this long: nobody is sending (all disconnected),
#: not a starved receiver — analysis follows the wall clock again.
IDLE_S = 5.0


@dataclass
class _Source:
    generation: int
    anchor: int  #: session sample of RTP timestamp `ts0`
    ts0: int
    decoder: av.AudioCodecContext
    resampler: av.AudioResampler
    write: int  #: next session sample this source writes
    floor: int  #: samples before this belong to the previous connection: never overwritten
    last_at: float = 0.0  #: arrival (session s) of its latest packet
    pending: int = 0  #: a move (samples, + later) for its next packet
    skip: int = 0  #: samples of its next audio to drop (a move earlier)
    lags: deque[int] = field(default_factory=lambda: deque(maxlen=RESYNC_PACKETS))
    #: one-way delays (s) the latest sender reports imply
    report_delays: deque[float] = field(default_factory=lambda: deque(maxlen=CLOCK_REPORTS))
    first_report_at: float | None = None  #: arrival (session s) of its first sender report
    #: where the recent sender reports would put its anchor: (capture session s, sample)
    report_anchors: deque[tuple[float, int]] = field(default_factory=deque)


class LiveTimeline:
    def __init__(self, ids: list[str], capacity_s: float = 10.0,
                 anchors: list[tuple[str, int, int, int]] | None = None) -> None:
        """anchors: a live session's `anchors`, to place its recorded packets exactly as
        it did (a re-analysis): the timeline then takes no placement decision of its own."""
        self.ids = list(ids)
        self._row = {pid: i for i, pid in enumerate(self.ids)}
        self._cap = int(capacity_s * SAMPLE_RATE)
        self._ring = np.zeros((len(self.ids), self._cap), np.float32)  # (n_tracks, cap) 16 kHz
        self._sources: dict[str, _Source] = {}
        self.read_head = 0  #: session sample up to which blocks were handed out
        self.frames_in = {pid: 0 for pid in self.ids}
        self.frames_lost = {pid: 0 for pid in self.ids}  #: 20 ms frames not analysed
        self.decode_errors = {pid: 0 for pid in self.ids}
        self.resyncs = {pid: 0 for pid in self.ids}  #: a stalled sender re-anchored
        self.realigns = {pid: 0 for pid in self.ids}  #: moved to the capture time reported
        self.realigned_ms = {pid: 0.0 for pid in self.ids}  #: the latest such move (+ later)
        self.clock_reports = {pid: 0 for pid in self.ids}  #: sender reports received
        self.clock_refused = {pid: 0 for pid in self.ids}  #: sender reports not believed
        #: audio (ms) dropped by moves earlier, not analysed: a sender clock running fast
        #: makes more samples than real time, so this is also how its surplus goes (and a
        #: slow one's shortfall becomes silence)
        self.realign_dropped_ms = {pid: 0.0 for pid in self.ids}
        #: every anchor set, by arrival (first packet), stall (resync) or sender clock:
        #: (who, generation, RTP timestamp of the packet it took effect at, anchor)
        self.anchors: list[tuple[str, int, int, int]] = []
        self._plan = None if anchors is None else {(w, g, t): a for w, g, t, a in anchors}

    def place(self, who: str, generation: int, timestamp: int, payload: bytes, at_s: float) -> None:
        """One Opus packet of `who`, which arrived at session time `at_s`."""
        if who not in self._row:
            return
        self.frames_in[who] += 1
        src = self._sources.get(who)
        planned = None if self._plan is None else self._plan.get((who, generation, timestamp))
        if src is None or src.generation != generation:
            # Never before the read head: the other tracks' clocks were anchored at their own
            # first arrival, which jitter may have delayed, so the head can lead this arrival
            # by a few tens of ms; a joiner's first frames would otherwise be lost.
            anchor = max(int(round(at_s * SAMPLE_RATE)), self.read_head)
            if planned is not None:
                anchor, planned = planned, None
            old_write = src.write if src is not None else 0
            src = _Source(
                generation,
                anchor,
                timestamp,
                _opus_decoder(),
                av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE),
                anchor,
                old_write,
            )
            self._sources[who] = src
            self.anchors.append((who, generation, timestamp, anchor))
        if planned is not None:
            src.pending = planned - src.anchor
        src.last_at = at_s
        if src.pending:
            self._realign(who, src, timestamp)
        target = src.anchor + (timestamp - src.ts0) // DECIMATION
        src.lags.append(int(at_s * SAMPLE_RATE) - target)
        # a delay every source shares is on the receiving side (a busy event loop), not a
        # stalled sender: only this source's lag beyond the others' counts
        common = min(
            (  # the latest lag of every other source still sending
                o.lags[-1]
                for o in self._sources.values()
                if o is not src and o.lags and at_s - o.last_at < 1.0
            ),
            default=0,
        )
        if (
            self._plan is None
            and len(src.lags) == RESYNC_PACKETS
            and min(src.lags) - max(common, 0) > RESYNC_S * SAMPLE_RATE
        ):
            src.pending = min(src.lags)
            self._realign(who, src, timestamp)
            target = src.anchor + (timestamp - src.ts0) // DECIMATION
            self.resyncs[who] += 1
        try:
            packet = av.Packet(payload)
            pcm = [
                out.to_ndarray().reshape(-1)
                for frame in src.decoder.decode(packet)
                for out in src.resampler.resample(frame)
            ]
        except av.FFmpegError:
            self.decode_errors[who] += 1
            return
        samples = np.concatenate(pcm) if pcm else np.zeros(0, np.float32)  # (n,) 16 kHz
        if src.skip:  # a move earlier: what would overlap the audio written is dropped
            cut = min(src.skip, samples.size)
            samples, src.skip = samples[cut:], src.skip - cut
            target += cut
            self.realign_dropped_ms[who] += cut * 1000 / SAMPLE_RATE
        if target > src.write + FRAME_SAMPLES // 2:
            src.write = target  # packets were lost: their span stays silent
        start = src.write
        src.write += samples.size
        floor = max(self.read_head, src.floor)
        if start < floor:  # too late for analysis, or overlaps the previous connection
            late = min(samples.size, floor - start)
            self.frames_lost[who] += int(np.ceil(late / FRAME_SAMPLES))
            samples, start = samples[late:], start + late
        if samples.size == 0:
            return
        if start + samples.size > self.read_head + self._cap:
            self._grow(start + samples.size - self.read_head)
        idx = np.arange(start, start + samples.size) % self._cap
        self._ring[self._row[who], idx] = samples

    def sender_clock(self, who: str, generation: int, timestamp: int, captured_s: float,
                     at_s: float) -> None:
        """`who`'s RTCP sender report, which arrived at session time `at_s`: RTP timestamp
        `timestamp` was captured at session time `captured_s` by the sender's clock."""
        src = self._sources.get(who)
        if src is None or src.generation != generation or self._plan is not None:
            return  # before its first packet (or an old connection's): the next one will do
        self.clock_reports[who] += 1
        if src.first_report_at is None:
            src.first_report_at = at_s
        src.report_delays.append(at_s - captured_s)
        delay = min(src.report_delays)
        if not -CLOCK_AHEAD_S <= delay <= CLOCK_BEHIND_S:
            self.clock_refused[who] += 1
            return
        # A clock behind ours by a few hundred ms passes the window (it looks like a slow
        # network): judge it against the other senders' (one room: similar paths). Wait
        # for theirs first, so no track moves on a clock that is then found off.
        sending = [o for o in self._sources.values() if o is not src and at_s - o.last_at < 1.0]
        if (any(not o.report_delays for o in sending)
                and at_s - src.first_report_at < CLOCK_WAIT_S):
            return
        others = [min(o.report_delays) for o in sending if o.report_delays]
        if others and abs(delay - float(np.median(others))) > CLOCK_SPREAD_S:
            self.clock_refused[who] += 1
            return
        # A report stamps a timestamp with the moment it was made, never before its
        # capture (aiortc stamps the last packet *sent*; Chrome extrapolates to the
        # moment): of the recent reports, the earliest placement is the least late.
        anchors = src.report_anchors
        anchors.append((captured_s, int(round(captured_s * SAMPLE_RATE))
                        - (timestamp - src.ts0) // DECIMATION))
        while anchors[0][0] < captured_s - CLOCK_WINDOW_S:
            anchors.popleft()
        shift = min(a for _, a in anchors) - src.anchor
        if abs(shift) >= REALIGN_MIN:
            src.pending = shift
            self.realigns[who] += 1
            self.realigned_ms[who] = round(shift * 1000 / SAMPLE_RATE, 1)

    def _realign(self, who: str, src: _Source, timestamp: int) -> None:
        """Move the anchor by `src.pending` at this packet: a move later leaves silence, a
        move earlier drops as much of what comes next. What was written stays, so the
        result depends only on the packet it is applied at, not on how far analysis had
        read: a re-analysis given the same `anchors` places the audio exactly as the live
        session did."""
        shift, src.pending = src.pending, 0
        src.anchor += shift
        if shift > 0:
            src.write += shift
        else:
            src.skip += -shift
        self.anchors.append((who, src.generation, timestamp, src.anchor))
        src.lags.clear()

    def ready(self, now_s: float, max_wait_s: float) -> int:
        """The session sample up to which every sending track is complete: a watermark.

        Analysis waits for each sending track to deliver (so a jitter burst costs latency,
        not audio), but a track more than `max_wait_s` behind the most advanced one, or
        silent that long (a dropped connection, a frozen tab), no longer holds it back; one
        that has not joined never does. Both are judged against the other tracks, never
        the wall clock: when this whole process is starved (a busy host), every packet
        waits in the socket; when every sender is slow at once, their audio still comes —
        either way the read head waits instead of passing over audio that is on its way,
        and the lag shows as latency (`AnalysisLag`). Only when nothing at all has been
        heard for IDLE_S does the wall clock take over.
        """
        heard = max((s.last_at for s in self._sources.values()), default=-IDLE_S)
        if now_s - heard >= IDLE_S:  # nobody is sending
            return max(int(now_s * SAMPLE_RATE), self.read_head)
        sending = [s.write for s in self._sources.values() if heard - s.last_at < max_wait_s]
        return max(max(sending) - int(max_wait_s * SAMPLE_RATE), min(sending), self.read_head)

    def _grow(self, needed: int) -> None:
        """Analysis fell behind its buffer: grow it rather than drop audio (never dropped)."""
        cap = max(2 * self._cap, needed)
        old = np.arange(self.read_head, self.read_head + self._cap)
        ring = np.zeros((len(self.ids), cap), np.float32)
        ring[:, old % cap] = self._ring[:, old % self._cap]
        self._ring, self._cap = ring, cap

    def read(self, until: int) -> np.ndarray:
        """Hand out every whole frame before session sample `until`: (n_tracks, k*320)."""
        n = (until - self.read_head) // FRAME_SAMPLES * FRAME_SAMPLES
        if n <= 0:
            return np.zeros((len(self.ids), 0), np.float32)
        idx = np.arange(self.read_head, self.read_head + n) % self._cap
        block = self._ring[:, idx]  # (n_tracks, n) float32 copy
        self._ring[:, idx] = 0.0  # the ring's next lap starts silent
        self.read_head += n
        return block


def _opus_decoder() -> av.AudioCodecContext:
    ctx = av.CodecContext.create("libopus", "r")
    ctx.format = "s16"
    ctx.layout = "stereo"
    ctx.sample_rate = RTP_RATE
    return ctx  # type: ignore[return-value]
