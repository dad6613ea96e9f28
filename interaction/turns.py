"""Floor, turns, overlaps, interruptions and backchannels from per-candidate speech.

A plain synchronous stage fed the speech events of diarize/ (`push(event)`). Those
arrive ordered by when they were decided, not by their own times, so it queues them and
acts, in time order, only on what precedes the latest `SpeechHorizon`. Rules (thresholds
in `TurnConfig`, reasons in docs/design.md):

* The floor goes to whoever starts speaking when nobody holds it, and stays with its
  holder through silences until someone else takes it.
* B starting while the holder H speaks opens a *contest*. If B stops first, B's burst
  was a backchannel (shorter than `backchannel_max_s`) or a failed interruption. If H
  stops first and B is still speaking `hold_after_yield_s` later, B takes the floor: a
  successful interruption when H had gone on for `interruption_min_overlap_s` or more
  after B's onset, else an ordinary overlapping turn transition.
* B starting while H pauses takes the floor once B's speech outlasts
  `backchannel_max_s`; a shorter burst is feedback while H's pause is short. A shorter
  burst that starts while another newcomer, who started first, is still speaking is a
  simultaneous start: it yields to the first and is no turn (it was taking the floor
  for 0.2 s, before the first newcomer's earlier turn, so turns came out of order).
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

from core.events import (
    Backchannel,
    Event,
    FloorTaken,
    Interruption,
    Overlap,
    ShareUpdate,
    SpeechEnded,
    SpeechHorizon,
    SpeechStarted,
    Turn,
)
from interaction.config import TurnConfig


@dataclass(slots=True)
class _Contest:
    by: str
    of: str
    at: float
    holder_end: float | None = None  #: when `of` stopped, if it did during the contest
    by_end: float | None = None  #: when `by` last stopped; None while `by` speaks


@dataclass(slots=True)
class _Claim:
    by: str
    at: float
    pause: float  #: how long the holder had been silent at the onset


@dataclass(slots=True)
class _Overlap:
    start: float
    who: set[str] = field(default_factory=set)


def _r(t: float) -> float:
    return round(t, 2)


class TurnTracker:
    def __init__(self, ids: list[str], config: TurnConfig | None = None) -> None:
        self.ids = list(ids)
        self.config = config or TurnConfig()
        self._queue: list[tuple[float, int, int, SpeechStarted | SpeechEnded]] = []
        self._seq = itertools.count()
        self.horizon = 0.0
        self.speaking: dict[str, float] = {}  # who → onset of the current stretch
        self.last_end: dict[str, float] = {}
        self.holder: str | None = None
        self.turn_start = 0.0
        self._contests: dict[str, _Contest] = {}
        self._claims: dict[str, _Claim] = {}
        self._feedback: dict[str, _Claim] = {}  # short bursts in a pause, awaiting who goes on
        self._overlap: _Overlap | None = None
        self.speaking_time = {p: 0.0 for p in self.ids}
        self.turn_counts = {p: 0 for p in self.ids}
        self._next_share = self.config.share_every_s

    # -- input -------------------------------------------------------------------------
    def push(self, event: Event) -> list[Event]:
        if isinstance(event, SpeechStarted):
            heapq.heappush(self._queue, (event.at, 1, next(self._seq), event))
        elif isinstance(event, SpeechEnded):
            # At equal times an end goes first: touching stretches are not an overlap.
            heapq.heappush(self._queue, (event.end, 0, next(self._seq), event))
        elif isinstance(event, SpeechHorizon):
            self.horizon = max(self.horizon, event.until)
            return self._advance(self.horizon)
        return []

    def flush(self) -> list[Event]:
        """End of session: settle everything and close the last turn."""
        out = self._advance(float("inf"))
        for fb in self._feedback.values():
            out.append(Backchannel(fb.by, _r(fb.at), self.holder))
        self._feedback.clear()
        for c in sorted(self._contests.values(), key=lambda c: c.at):
            if c.by_end is not None:
                out += self._resolve_stop(c)
            elif c.holder_end is not None:  # the holder had stopped; the challenger spoke on
                out += self._resolve_yield(c)
        self._contests.clear()
        if self.holder is not None:
            out.append(Turn(self.holder, _r(self.turn_start), _r(self._holder_end())))
        out.append(self._share(self.horizon if self.horizon != float("inf") else 0.0))
        return out

    # -- processing --------------------------------------------------------------------
    def _advance(self, until: float) -> list[Event]:
        out: list[Event] = []
        # strictly before: an event at the horizon itself may still be on its way (the
        # horizon promises only earlier ones), and at equal times an end goes first
        while self._queue and (self._queue[0][0] < until or until == float("inf")):
            t, _, _, ev = heapq.heappop(self._queue)
            out += self._timers(t)
            out += self._shares_until(t)
            out += self._on_start(ev) if isinstance(ev, SpeechStarted) else self._on_end(ev)
        if until != float("inf"):
            out += self._timers(until)
            out += self._shares_until(until)
        return out

    def _on_start(self, ev: SpeechStarted) -> list[Event]:
        who, t = ev.who, ev.at
        self.speaking[who] = t
        out = self._overlap_update(t)
        # A short burst in the holder's pause was feedback if anyone but its speaker goes
        # on next; if its speaker goes on, it was the start of their turn.
        for fb in list(self._feedback.values()):
            del self._feedback[fb.by]
            if fb.by == who:
                return out + self._take_floor(who, fb.at)
            out.append(Backchannel(fb.by, _r(fb.at), self.holder))
        for c in self._contests.values():
            if c.by == who:
                c.by_end = None  # the challenger goes on after a short pause
            elif c.of == who:
                c.holder_end = None  # the holder goes on
        h = self.holder
        if h is None:
            return out + self._take_floor(who, t)
        if h == who or who in self._contests:
            return out
        if h in self.speaking:
            self._contests[who] = _Contest(who, h, t)
        else:
            self._claims[who] = _Claim(who, t, t - self.last_end.get(h, t))
        return out

    def _on_end(self, ev: SpeechEnded) -> list[Event]:
        cfg = self.config
        who = ev.who
        self.speaking.pop(who, None)
        self.last_end[who] = ev.end
        self.speaking_time[who] = self.speaking_time.get(who, 0.0) + (ev.end - ev.start)
        out = self._overlap_update(ev.end)
        c = self._contests.get(who)
        if c is not None:
            c.by_end = ev.end  # settled by _timers once the pause is long enough
        claim = self._claims.pop(who, None)
        if claim is not None:
            short = ev.end - claim.at < cfg.backchannel_max_s
            if short and any(o.at <= claim.at and o.by in self.speaking
                             for o in self._claims.values()):
                pass  # a simultaneous start: it yields to the earlier claimant, no turn
            elif short and claim.pause < cfg.turn_pause_s:
                self._feedback[who] = claim
            else:
                out += self._take_floor(who, claim.at)
        for other in self._contests.values():
            if other.of == who and other.holder_end is None:
                other.holder_end = ev.end
        return out

    def _timers(self, now: float) -> list[Event]:
        """Rules that fire on time passing: an interrupter still speaking after the holder
        stopped; a newcomer still speaking after `backchannel_max_s` in a pause."""
        cfg = self.config
        out: list[Event] = []
        for c in sorted(self._contests.values(), key=lambda c: c.at):
            if c.by_end is None:
                if c.holder_end is not None and now >= c.holder_end + cfg.hold_after_yield_s:
                    del self._contests[c.by]  # the holder gave way; the challenger goes on
                    out += self._resolve_yield(c)
            elif now >= c.by_end + cfg.burst_gap_s:
                del self._contests[c.by]  # the challenger stopped for good
                out += self._resolve_stop(c)
        for cl in sorted(self._claims.values(), key=lambda c: c.at):
            if now >= cl.at + cfg.backchannel_max_s:
                del self._claims[cl.by]
                out += self._take_floor(cl.by, cl.at)
        return out

    def _resolve_stop(self, c: _Contest) -> list[Event]:
        cfg = self.config
        assert c.by_end is not None
        if c.by_end - c.at < cfg.backchannel_max_s:
            return [Backchannel(c.by, _r(c.at), c.of)]
        if c.holder_end is not None and c.by_end >= c.holder_end + cfg.hold_after_yield_s:
            return self._resolve_yield(c)  # both stopped, but the challenger outlasted
        return [Interruption(c.by, c.of, _r(c.at), False)]

    def _resolve_yield(self, c: _Contest) -> list[Event]:
        assert c.holder_end is not None
        out: list[Event] = []
        if c.holder_end - c.at >= self.config.interruption_min_overlap_s:
            out.append(Interruption(c.by, c.of, _r(c.at), True))
        return out + self._take_floor(c.by, c.at)

    def _take_floor(self, who: str, at: float) -> list[Event]:
        prev = self.holder
        if prev == who:
            return []
        out: list[Event] = []
        if prev is not None:
            out.append(Turn(prev, _r(self.turn_start), _r(self._holder_end())))
        self.holder, self.turn_start = who, at
        self.turn_counts[who] = self.turn_counts.get(who, 0) + 1
        out.append(FloorTaken(who, _r(at), prev))
        return out

    def _holder_end(self) -> float:
        h = self.holder
        assert h is not None
        if h in self.speaking:  # still talking while losing the floor: ends at the horizon
            return max(self.speaking[h], min(self.horizon, self.last_end.get(h, self.horizon)))
        return self.last_end.get(h, self.turn_start)

    def _overlap_update(self, t: float) -> list[Event]:
        out: list[Event] = []
        ov = self._overlap
        if len(self.speaking) >= 2:
            if ov is None:
                ov = self._overlap = _Overlap(t)
            ov.who |= set(self.speaking)
        elif ov is not None:
            if t - ov.start >= self.config.min_overlap_s:
                out.append(Overlap(_r(ov.start), _r(t), tuple(sorted(ov.who))))
            self._overlap = None
        return out

    # -- running totals ----------------------------------------------------------------
    def _shares_until(self, t: float) -> list[Event]:
        out: list[Event] = []
        while self._next_share <= t and self._next_share != float("inf"):
            out.append(self._share(self._next_share))
            self._next_share += self.config.share_every_s
        return out

    def _share(self, at: float) -> ShareUpdate:
        times = dict(self.speaking_time)
        for who, onset in self.speaking.items():
            if onset < at:
                times[who] = times.get(who, 0.0) + (at - onset)
        total = sum(times.values())
        return ShareUpdate(
            at=_r(at),
            speaking_time_s={p: round(v, 2) for p, v in times.items()},
            speaking_share={
                p: (round(v / total, 4) if total > 0 else 0.0) for p, v in times.items()
            },
            turns=dict(self.turn_counts),
        )
