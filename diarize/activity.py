"""Speech activity per candidate: the stage that says who is audibly speaking when.

A plain synchronous stage: `push(block)` with the next 16 kHz samples of every track
returns the events those samples settle; `flush()` closes the session. It never reads
a clock, so live rooms and `lgd analyze` run exactly this code.

Per 10 ms frame and track: silero VAD says "speech is in this mic"; the crosstalk model
says how much of the mic's power the other mics' voices explain; a frame is the owner's
speech when both agree. Runs of such frames, with short pauses bridged, become
`SpeechStarted` / `SpeechEnded`; `SpeechHorizon` tells downstream stages how far the
decisions are final.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.clock import SAMPLE_RATE
from core.events import Event, SpeechEnded, SpeechHorizon, SpeechStarted
from diarize.config import ActivityConfig
from diarize.crosstalk import CouplingModel
from diarize.identity import UNKNOWN, VoiceIdentity
from diarize.kernels import hop_power, hysteresis, predicted_bleed, to_db
from diarize.tdoa import ArrivalCue
from diarize.vad import CHUNK, SileroVad
from diarize.voiceprint import WINDOW_FRAMES

HOP = 160  #: samples per analysis frame (10 ms): well under the ~200 ms human turn gaps
HOP_S = HOP / SAMPLE_RATE


def _t(frame: int) -> float:
    return round(float(frame) * HOP_S, 2)


class _History:
    """Append-only (n, frames) array addressed by absolute frame index, trimmed at the front."""

    def __init__(self, n: int, dtype: type) -> None:
        self.base = 0
        self._data: np.ndarray = np.zeros((n, 4096), dtype)
        self._len = 0

    # A snapshot (analysis/snapshot.py) holds the filled columns only, not the slack.
    def __getstate__(self) -> dict:
        return {"base": self.base, "_len": self._len, "cap": self._data.shape[1],
                "data": self._data[:, : self._len].copy()}

    def __setstate__(self, state: dict) -> None:
        data = state["data"]
        self.base, self._len = state["base"], state["_len"]
        self._data = np.zeros((data.shape[0], state["cap"]), data.dtype)
        self._data[:, : self._len] = data

    @property
    def end(self) -> int:
        return self.base + self._len

    def append(self, cols: np.ndarray) -> None:
        k = cols.shape[1]
        if self._len + k > self._data.shape[1]:
            grown = np.zeros((self._data.shape[0], 2 * (self._len + k)), self._data.dtype)
            grown[:, : self._len] = self._data[:, : self._len]
            self._data = grown
        self._data[:, self._len : self._len + k] = cols
        self._len += k

    def view(self, start: int, stop: int) -> np.ndarray:
        return self._data[:, start - self.base : stop - self.base]

    def keep_from(self, start: int) -> None:
        drop = start - self.base
        if drop <= 0:
            return
        self._data[:, : self._len - drop] = self._data[:, drop : self._len]
        self._len -= drop
        self.base = start


@dataclass(slots=True)
class _Stretch:
    start: int  #: first active frame
    stop: int  #: one past the last active frame
    confirmed: bool = False


class SpeechActivity:
    """Own-speech detection for n candidate mics on one session clock."""

    def __init__(
        self,
        ids: list[str],
        config: ActivityConfig | None = None,
        vad_model: Path | None = None,
        vad_session=None,
    ) -> None:
        self.ids = list(ids)
        self.config = cfg = config or ActivityConfig()
        n = len(self.ids)
        self.vad = SileroVad(n, vad_model, session=vad_session)
        self.model = CouplingModel(n, cfg, HOP_S)
        self._power = _History(n, np.float64)  # (n, frames) linear hop power
        self._prob = _History(n, np.float32)  # (n, frames) VAD probability per hop
        self._chunk_probs = np.zeros((n, 0), np.float32)
        self._chunk_base = 0
        self._rest = np.zeros((n, 0), np.float32)  # samples short of a whole hop
        self._next = 0  # next frame to decide
        self._gate = np.zeros(n, np.bool_)  # VAD hysteresis state
        self._open: list[_Stretch | None] = [None] * n
        self._run_start: list[int | None] = [None] * n  # active run open at the block end
        self._min_run = int(round(cfg.min_run_s / HOP_S))
        self._last_update = 0
        self._lookahead = int(round(cfg.lookahead_s / HOP_S))
        self._delay = self._lookahead  # decision delay: the largest lead measured
        self._bridge = int(round(cfg.bridge_s / HOP_S))
        self._min_len = int(round(cfg.min_speech_s / HOP_S))
        self._update_every = int(round(cfg.update_every_s / HOP_S))
        self._history = int(round(cfg.history_s / HOP_S))
        self.active_frames = _History(n, np.bool_)  # decisions, for inspection and tests
        self.identity: VoiceIdentity | None = None
        if cfg.identity:
            from diarize.voiceprint import load_voice_encoder

            self.identity = VoiceIdentity(n, cfg, load_voice_encoder(), HOP)
        # (n, frames) int8 voice label per frame: +1 the mic owner's voice, -1 another's,
        # 0 not known (no window scored there)
        self._voice = _History(n, np.int8)
        self._voice_of = np.full(n, UNKNOWN, np.int64)  # label of each mic's latest window
        # Arrival-time direction (tdoa.py): (n, frames) int8, +1 the block's dominant voice
        # reached this mic first, -1 this mic carries another's dominant voice, 0 unknown.
        self.arrival = ArrivalCue(n, cfg, HOP) if cfg.tdoa else None
        self._arrival = _History(n, np.int8)
        # The same at decision time (`tdoa_veto`): blocks ending every lookahead, so a
        # frame's label needs no data past its decision delay (identical for any block size).
        self.arrival_now = (ArrivalCue(n, cfg, HOP, step=self._lookahead)
                            if cfg.tdoa and cfg.tdoa_veto else None)
        self._arrival_now = _History(n, np.int8)
        # Settling (identity on): decisions wait at the session start until every mic's
        # voiceprint exists (at most `identity_settle_s`), then the held seconds are decided
        # with the settled prints and couplings. `_held`: still waiting; `_hold_at`: the next
        # re-estimate frame while held; `_release_at`: prints settled at this frame, waiting
        # only for the data its decisions need.
        self._held = self.identity is not None and cfg.identity_settle_s > 0
        self._settle = int(round(cfg.identity_settle_s / HOP_S))
        self._hold_at = 0
        if self._held and self.identity is not None:
            self.identity.keep(True)
        self._release_at: int | None = None
        self._flushing = False
        # labels and levels of each held re-estimate point's window, relabelled at release
        self._held_labels: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.settled_at: float | None = None  #: session time the held start was decided at

    # -- input -------------------------------------------------------------------------
    def push(self, block: np.ndarray) -> list[Event]:
        """block: (n_tracks, n_samples) float32 at 16 kHz, the next samples of every track."""
        if block.ndim != 2 or block.shape[0] != len(self.ids):
            raise ValueError(f"expected ({len(self.ids)}, n) samples, got {block.shape}")
        # Garbage samples (NaN/inf from a broken decoder) count as silence, not a crash.
        block = np.nan_to_num(
            np.ascontiguousarray(block, np.float32), nan=0.0, posinf=0.0, neginf=0.0
        )
        buf = np.concatenate([self._rest, block], axis=1) if self._rest.size else block
        k = buf.shape[1] // HOP
        self._power.append(hop_power(buf[:, : k * HOP], HOP))
        self._voice.append(np.zeros((len(self.ids), k), np.int8))
        self._arrival.append(np.zeros((len(self.ids), k), np.int8))
        self._arrival_now.append(np.zeros((len(self.ids), k), np.int8))
        if self.arrival is not None:
            self.arrival.push(block)
        if self.arrival_now is not None:
            self.arrival_now.push(block)
        if self.identity is not None:
            self.identity.push(block)
        self._rest = buf[:, k * HOP :].copy()
        self._add_probs(self.vad.push(block))
        # A frame can be decided once its neighbours' power (smoothing), its VAD and the
        # lead (other mics' later copies, `_delay`) are in.
        return self._decide_until(min(self._power.end - 1, self._prob.end))

    def flush(self) -> list[Event]:
        """End of input: decide every remaining frame and close open stretches."""
        events: list[Event] = []
        self._flushing = True  # a session ending while held is decided with what it has
        if self._power.end:
            target = self._power.end  # every frame of real input gets decided
            pad = np.zeros((len(self.ids), CHUNK + (self._delay + 2) * HOP), np.float32)
            events = self.push(pad)
            while self._next < target:  # the delay grew at a re-estimate inside the pad
                events += self.push(np.zeros((len(self.ids), (self._delay + 2) * HOP), np.float32))
        end = self._next
        for i, st in enumerate(self._open):
            if st is not None and st.stop - st.start >= self._min_len:
                if not st.confirmed:
                    events.append(SpeechStarted(self.ids[i], _t(st.start)))
                events.append(SpeechEnded(self.ids[i], _t(st.start), _t(st.stop)))
            self._open[i] = None
        events.append(SpeechHorizon(_t(end)))
        return events

    def _add_probs(self, probs: np.ndarray) -> None:
        """Spread per-chunk (32 ms) probabilities onto 10 ms frames by frame centre."""
        self._chunk_probs = np.concatenate([self._chunk_probs, probs], axis=1)
        done = self.vad.chunks_done * CHUNK  # samples covered by the VAD
        n_frames = max(0, (done - HOP // 2 + HOP - 1) // HOP)
        if n_frames <= self._prob.end:
            return
        frames = np.arange(self._prob.end, n_frames)
        chunks = (frames * HOP + HOP // 2) // CHUNK - self._chunk_base
        self._prob.append(self._chunk_probs[:, chunks])
        first_needed = (n_frames * HOP + HOP // 2) // CHUNK - self._chunk_base
        self._chunk_probs = self._chunk_probs[:, first_needed:]
        self._chunk_base += first_needed

    # -- decisions ---------------------------------------------------------------------
    def _smoothed(self, start: int, stop: int) -> np.ndarray:
        """3-hop (30 ms) mean power over frames [start, stop): tolerant of sub-frame lags."""
        lo, hi = max(start - 1, self._power.base), min(stop + 1, self._power.end)
        p = self._power.view(lo, hi)
        padded = np.concatenate([p[:, :1], p, p[:, -1:]], axis=1)
        sm = (padded[:, :-2] + padded[:, 1:-1] + padded[:, 2:]) / 3.0
        return sm[:, start - lo : start - lo + (stop - start)]

    def _decide_until(self, avail: int) -> list[Event]:
        """Decide frames while the data they need (up to frame + `_delay`) is in; avail:
        frames with power and VAD. The delay changes only at a re-estimate, at fixed frames,
        so what is decided with which delay does not depend on the block size."""
        events: list[Event] = []
        while self._held:
            if self._release_at is None:
                if self._hold_at >= avail - self._lookahead:
                    return events  # nothing decided yet: no horizon to state
                self._hold_step(self._hold_at)
            elif self._release_at + self._delay <= avail:
                events += self._release(self._release_at)
            else:
                return events
        while True:
            if self._next - self._last_update >= self._update_every or self._next == 0:
                if self._next >= avail - self._lookahead:
                    break  # the estimate needs data up to next + lookahead
                self._reestimate()
            stop = min(avail - self._delay, self._last_update + self._update_every)
            if stop <= self._next:
                break
            events += self._decide(self._next, stop)
            self._next = stop
        if events or avail - self._delay > 0:
            events.append(SpeechHorizon(_t(self._horizon())))
        return events

    def _reestimate(self) -> None:
        # Data up to a fixed point past the current frame, never "whatever has arrived":
        # estimates, and so decisions, must not depend on block sizes.
        end = self._next + self._lookahead
        if self.identity is not None:
            self._identify(end)
        self._arrive(end)
        self._estimate(end)
        self._last_update = self._next
        self._delay = self.model.lead
        # History older than the estimation window plus the longest lag is not needed.
        keep = self._next - self._history - self.model.reach - 2
        for h in (self._power, self._prob, self.active_frames, self._voice, self._arrival,
                  self._arrival_now):
            h.keep_from(max(keep, h.base))

    def _estimate(self, end: int) -> None:
        start = max(self._power.base + 1, end - self._history)
        if end - start > 0:
            voice = self._voice.view(start, end) if self.identity is not None else None
            own_db = self.identity.top_db if self.identity is not None else None
            arrival = self._arrival.view(start, end) if self.arrival is not None else None
            self.model.estimate(to_db(self._smoothed(start, end)), self._prob.view(start, end),
                                voice=voice, own_db=own_db, arrival=arrival, origin=start)

    def _arrive(self, end: int) -> None:
        """Arrival-order labels of the whole blocks up to `end` (= next + lookahead)."""
        if self.arrival is None:
            return
        self._label(self.arrival, self._arrival, end)

    def _label(self, cue: ArrivalCue, into: _History, end: int) -> None:
        cue.done = max(cue.done, into.base + cue.shift_frames)
        a = max(cue.done + cue.step - cue.block - cue.shift_frames, self._prob.base)
        start, labels = cue.label(end, self._prob.view(a, end), a)
        # each mic's labels on its own frames (a mic read before the others is labelled
        # before `done`): what this call says, over what earlier calls said
        rows = into.view(start, start + labels.shape[1])
        rows[labels != 0] = labels[labels != 0]

    # -- settling: the session's start decided once the voiceprints exist ---------------
    def _hold_step(self, u: int) -> None:
        """A re-estimate while the start is held: every talking mic's window is embedded
        and kept, so it can be labelled again once the prints have settled."""
        assert self.identity is not None
        self._identify(u + self._lookahead, everyone=True)
        self._arrive(u + self._lookahead)
        self._estimate(u + self._lookahead)
        self._delay = self.model.lead
        if self._flushing or (u > 0 and (self.identity.enrolled.all() or u >= self._settle)):
            # Settled: every label since the start again with the final prints, and the
            # couplings again from those labels; decided once the data they need is in.
            self._relabel(u + self._lookahead)
            self._estimate(u + self._lookahead)
            self._delay = self.model.lead
            self._release_at = u
        else:
            self._hold_at = u + self._update_every

    def _relabel(self, end: int) -> None:
        assert self.identity is not None
        self._voice.view(self._voice.base, end)[:] = 0
        self._held_labels = {}
        for w_end, label, heard in self.identity.relabel_kept():
            self._held_labels[w_end] = (label, heard)
            rows = self._voice.view(w_end - WINDOW_FRAMES, w_end)
            for i, v in enumerate(label):
                if v != UNKNOWN:
                    rows[i] = 1 if v == i else -1

    def _release(self, u: int) -> list[Event]:
        """Decide the held frames [0, u) one re-estimate interval at a time, each with the
        voice labels its own re-estimate point would have had, all with the settled model."""
        assert self.identity is not None
        events: list[Event] = []
        none = (np.full(len(self.ids), UNKNOWN, np.int64), np.full(len(self.ids), -np.inf))
        for a in range(0, u, self._update_every):
            self._voice_of, _heard = self._held_labels.get(a + self._lookahead, none)
            self.identity.heard_db = _heard.copy()
            events += self._decide(a, min(a + self._update_every, u))
        self._voice_of, heard = self._held_labels.get(u + self._lookahead, none)
        self.identity.heard_db = heard.copy()
        self.identity.label = self._voice_of.copy()
        self._held_labels = {}
        self.identity.keep(False)
        self._next = self._last_update = u
        self._held = False
        self.settled_at = _t(u)
        return events

    def _identify(self, end: int, everyone: bool = False) -> None:
        """Voice labels of the 1.6 s window ending at `end` (= next + lookahead)."""
        assert self.identity is not None
        a = end - WINDOW_FRAMES
        if a < max(self._power.base, self._prob.base):
            return
        prob = self._prob.view(a, end)  # (n, 160)
        talk = prob >= self.config.vad_on
        speech = talk.mean(axis=1)
        decided = self.active_frames.view(max(a, self.active_frames.base), self._next)
        own = decided.mean(axis=1) if decided.shape[1] else np.zeros(len(self.ids))
        db = to_db(self._power.view(a, end))
        level = np.array([float(np.median(db[i, talk[i]])) if talk[i].any() else -np.inf
                          for i in range(len(self.ids))])
        self._voice_of = self.identity.update(end, speech, own, level, everyone)
        labels = self._voice.view(a, end)
        for i, v in enumerate(self._voice_of):
            if v != UNKNOWN:
                labels[i] = 1 if v == i else -1

    def _decide(self, a: int, b: int) -> list[Event]:
        cfg = self.config
        lo = max(self._power.base, a - self.model.reach)
        hi = b + self._delay
        sm = self._smoothed(lo, hi)  # (n, hi - lo) linear
        if cfg.gain_track:
            # read at each mic's usual gain, as the couplings and noise floors are
            sm = sm * self.model.gain_factor(lo, hi)
        if self.model.has_echo:  # the others' voices also back through the mics' speakers
            bleed = self.model.relay_power(sm, a - lo, b - lo)
        else:
            bleed = predicted_bleed(sm, self.model.coupling, self.model.lags, a - lo, b - lo)
        p = sm[:, a - lo : b - lo]
        noise = 10.0 ** (self.model.noise_db[:, None] / 10.0)
        own = (p >= (1.0 + 10.0 ** (cfg.own_margin_db / 10.0)) * bleed) & (
            p >= 10.0 ** (cfg.noise_margin_db / 10.0) * noise
        )
        gate = hysteresis(self._prob.view(a, b), cfg.vad_on, cfg.vad_off, self._gate)
        active = own & gate  # (n, b - a) bool
        if self.arrival_now is not None:
            # A mic whose block another mic's voice reached first (clearly, against every
            # mic) carries that voice: not its owner's speech, whatever the levels say.
            # Labels up to b need samples up to the next step boundary, within the delay.
            step = self.arrival_now.step
            self._label(self.arrival_now, self._arrival_now, -(-b // step) * step)
            # ... unless its level stands far above the bleed the couplings predict there
            # (its owner talking over that voice: an overlap, an interruption's onset).
            led = (self._arrival_now.view(a, b) == -1) & (
                p < 10.0 ** (cfg.tdoa_veto_rise_db / 10.0) * bleed)
            if cfg.tdoa_veto_claimed:
                # only where the leading mic itself claims the voice
                lead = self._arrival_now.view(a, b) == 1
                claimed = (active & lead).any(axis=0)
                led &= claimed[None, :]
            active &= ~led
        if self.identity is not None and cfg.identity_veto:
            # A mic last heard carrying voice j is j's bleed while j's own mic has j's
            # own speech (j's mic VAD alone would also fire on this mic owner's bleed) and
            # the mic stays near the level that voice had in it: its owner's own voice is
            # 10-26 dB louder in it (gain-free), so a backchannel or an interruption over j
            # still rises above the bar.
            claimed = active.copy()
            heard = self.identity.heard_db
            for i, j in enumerate(self._voice_of):
                if j != UNKNOWN and j != i:
                    bar = 10.0 ** ((heard[i] + cfg.identity_rise_db) / 10.0)
                    active[i] &= ~(claimed[j] & (p[i] < bar))
        self.active_frames.append(active)
        return self._segment(active, a)

    def _segment(self, active: np.ndarray, a: int) -> list[Event]:
        """Runs of active frames → stretches with pauses < bridge inside.

        Each event is keyed by the frame at which it becomes certain, so the order of
        events is the same whatever the block size (20 ms live frames or 1 s file blocks).
        """
        out: list[tuple[int, int, Event]] = []
        end = a + active.shape[1]
        for i, who in enumerate(self.ids):
            row = active[i]
            edges = np.flatnonzero(np.diff(np.concatenate([[False], row, [False]]).astype(np.int8)))
            st = self._open[i]
            if not row[0]:
                self._run_start[i] = None  # the run carried over ended at the block edge
            for s, e in zip(edges[::2] + a, edges[1::2] + a, strict=True):
                if s == a and self._run_start[i] is not None:
                    s = self._run_start[i]  # a run carried over from the previous block
                self._run_start[i] = s if e == end else None
                if e - s < self._min_run:
                    continue  # a blip (noise, a reverb tail), or a run still too young
                if st is not None and s - st.stop <= self._bridge:
                    st.stop = e
                else:
                    if st is not None:
                        out += self._close(i, st)
                    st = _Stretch(s, e)
                if not st.confirmed and st.stop - st.start >= self._min_len:
                    st.confirmed = True
                    known = max(s + self._min_run, st.start + self._min_len)
                    out.append((known, i, SpeechStarted(who, _t(st.start))))
            # A run still too young at the block end may yet bridge onto this stretch: its
            # fate is known only when it matures or ends, as with one bigger block.
            young = self._run_start[i]
            if (st is not None and end - st.stop > self._bridge
                    and not (young is not None and young - st.stop <= self._bridge)):
                out += self._close(i, st)
                st = None
            self._open[i] = st
        out.sort(key=lambda x: (x[0], x[1]))
        return [e for _, _, e in out]

    def _close(self, i: int, st: _Stretch) -> list[tuple[int, int, Event]]:
        if not st.confirmed:
            return []  # too short to be speech: a click or a breath
        known = st.stop + self._bridge + 1
        return [(known, i, SpeechEnded(self.ids[i], _t(st.start), _t(st.stop)))]

    def _horizon(self) -> int:
        """Frame before which no further speech event can be timed."""
        h = self._next - self._bridge
        for st in self._open:
            if st is not None:
                # unconfirmed: its start is not out yet; open: its end is at least its stop
                # (a stretch held open for a maturing run can stop before next - bridge)
                h = min(h, st.start if not st.confirmed else st.stop)
        return max(h, 0)
