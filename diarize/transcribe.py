"""The transcription stage: each candidate's own audio, per speech stretch, to `Utterance`s.

`Transcriber.push(block, events)` keeps a bounded per-track audio history, follows the
speech events the activity stage produced for the same block, and cuts each candidate's
speech into ASR jobs:
- stretches of one candidate closer than `hold_s` are sent together (more context);
- pending speech is sent once it reaches `chunk_s`, and a stretch with no pause is cut at
  its quietest 20 ms after `max_stretch_s`, so text shows while the candidate still talks.
Jobs run in the ASR worker process; `push` only collects what has finished and returns
the lines to show now, as they are decoded (live, a turn's last text is decoded before
other candidates' partials). `ordered()` gives the same lines in job order, for the act
tagger (novelty reads the lines in order; live and offline must tag alike). `flush()` sends
the rest and waits for all.
Live, a stretch is sent as soon as its end is known (`speculate`) and withdrawn if its
speaker goes on within the hold; its line goes out only once the hold has passed.
A short line (under `short_s`: a backchannel, a cut-off interjection) waits until the other
candidates' speech that was already going when it began (its possible source, as bleed) is
transcribed too, and is dropped when it echoes a longer such line (`asr_guard.drop_echo`);
live, its job goes to the worker only once that speech has been sent. Turns go out at once.
Every decision is taken on the session clock (samples pushed), never the wall clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from core.clock import SAMPLE_RATE as SR
from core.events import Event, SpeechEnded, SpeechStarted, Utterance
from diarize.asr_guard import (
    confidence,
    drop_echo,
    drop_loops,
    fits_duration,
    keep_segment,
    sounds,
)
from diarize.asr_model import resolve_model_dir
from diarize.asr_worker import AsrJob, AsrResult, AsrWorker
from diarize.config import AsrConfig


class AudioHistory:
    """The last `seconds` of every track, in a ring buffer; read by absolute sample index."""

    def __init__(self, n_tracks: int, seconds: float) -> None:
        self.cap = int(seconds * SR)
        self.buf = np.zeros((n_tracks, self.cap), np.float32)  # (n_tracks, cap) float32
        self.total = 0  # samples written per track so far

    def append(self, block: np.ndarray) -> None:
        n = block.shape[1]
        if n > self.cap:  # only the newest `cap` samples can be held
            self.total += n - self.cap
            block, n = block[:, -self.cap :], self.cap
        k = self.total % self.cap
        first = min(n, self.cap - k)
        self.buf[:, k : k + first] = block[:, :first]
        self.buf[:, : n - first] = block[:, first:]
        self.total += n

    def read(self, track: int, a: int, b: int) -> np.ndarray:
        """Samples [a, b) of one track, clipped to what is still held. (n,) float32"""
        a, b = max(a, self.total - self.cap, 0), min(b, self.total)
        if b <= a:
            return np.zeros(0, np.float32)
        idx = np.arange(a, b) % self.cap
        return self.buf[track, idx].copy()


@dataclass
class _Speaker:
    pending: list[tuple[float, float]] = field(default_factory=list)  # closed stretches
    open_since: float | None = None  # start of the stretch in progress (or of its rest)
    spec: int | None = None  # a job sent for `pending` before the hold ran out (speculate)


class Transcriber:
    def __init__(
        self, ids: list[str], language: str, cfg: AsrConfig | None = None,
        data_dir: Path = Path(), live: bool = False,
    ) -> None:
        self.ids, self.language = list(ids), language
        self.cfg = cfg or AsrConfig()
        self.track = {pid: k for k, pid in enumerate(self.ids)}
        self.history = AudioHistory(len(self.ids), self.cfg.history_s)
        self.speakers = {pid: _Speaker() for pid in self.ids}
        worker_cfg = (self.cfg if not live or self.cfg.pack_live
                      else replace(self.cfg, pack_s=0.0))
        self.worker = AsrWorker(resolve_model_dir(self.cfg.model, Path(data_dir)), worker_cfg,
                                fill=not live)
        self.live = live
        self.speculate = live and self.cfg.speculate
        self.jobs: dict[int, AsrJob] = {}  # sent, not decided yet
        self.early: dict[int, AsrResult] = {}  # answers to speculative jobs, hold not over
        self.order: list[int] = []  # jobs of turns (not short lines) in job order, untagged
        self.fate: dict[int, Utterance | None] = {}  # their lines (None: no text), decided
        self.to_tag: list[Utterance] = []  # what `ordered()` gives next
        self.shown: list[Event] = []  # turns decided, not returned yet
        self.withdrawn = 0  # speculative jobs withdrawn (their speaker went on)
        self.held: list[Utterance] = []  # short lines awaiting their possible sources
        self.deferred: list[AsrJob] = []  # live: short jobs not sent while sources speak
        self.recent: list[Utterance] = []  # lines given out, for the echo check
        self.next_id = 0
        self.audio_s = 0.0  # audio of the jobs kept (not withdrawn), for the real-time factor
        self.compute_s = 0.0  # worker wall time spent on it
        self.cpu_s = 0.0  # worker CPU time (all threads) spent on it
        self.errors: list[str] = []  # chunks the model failed on (kept, never silent)

    @property
    def now(self) -> float:
        return self.history.total / SR

    def push(self, block: np.ndarray, events: list[Event]) -> list[Event]:
        """block: (n_tracks, n_samples) float32 16 kHz; events: what the activity stage
        emitted for it. Returns the utterances finished since the last call."""
        self.history.append(block)
        for ev in events:
            if isinstance(ev, SpeechStarted) and ev.who in self.speakers:
                self.speakers[ev.who].open_since = ev.at
            elif isinstance(ev, SpeechEnded) and ev.who in self.speakers:
                sp = self.speakers[ev.who]
                start = max(ev.start, sp.open_since) if sp.open_since is not None else ev.start
                sp.open_since = None
                if ev.end - start >= self.cfg.min_speech_s:
                    sp.pending.append((start, ev.end))
        for pid, sp in self.speakers.items():
            self._schedule(pid, sp)
        if self.deferred:
            self._submit_deferred()
        return self._collect(self.worker.poll(ordered=False))

    def ordered(self) -> list[Utterance]:
        """The lines given out so far, for the act tagger: turns in job order (each once
        every earlier turn's text is known), short lines as they are released."""
        out, self.to_tag = self.to_tag, []
        return out

    def flush(self) -> list[Event]:
        for pid, sp in self.speakers.items():
            if sp.open_since is not None and self.now - sp.open_since >= self.cfg.min_speech_s:
                sp.pending.append((sp.open_since, self.now))
            sp.open_since = None
            self._send(pid, sp, urgent=True)
        for job in self.deferred:
            self.worker.submit(job)
        self.deferred = []
        out = self._collect(self.worker.wait_all(ordered=False))
        last = self._release(final=True)
        self.to_tag += last
        return out + last

    def close(self) -> None:
        self.worker.close()

    # --- cutting ----------------------------------------------------------------------
    def _schedule(self, pid: str, sp: _Speaker) -> None:
        c = self.cfg
        if sp.spec is not None and (sp.open_since is not None
                                    or self.jobs[sp.spec].span != _span(sp.pending)):
            self._withdraw(sp)  # the speaker went on within the hold: not the turn's end
        if sp.open_since is not None and self.now - sp.open_since > c.max_stretch_s + 1.0:
            cut = self._quietest(pid, sp.open_since + c.max_stretch_s, self.now - 0.3)
            sp.pending.append((sp.open_since, cut))
            sp.open_since = cut
            self._send(pid, sp, urgent=False)
            return
        if not sp.pending:
            return
        length = sum(b - a for a, b in sp.pending)
        if sp.open_since is not None:  # the speaker resumed: the closed part goes at chunk_s
            length += self.now - sp.open_since
        silent = sp.open_since is None and self.now - sp.pending[-1][1] >= c.hold_s
        if silent or length >= c.chunk_s:
            # a turn's end goes before partials, and before short lines: they wait for
            # their sources anyway, and their full-window decoding is the longest
            # (benchmarks/asr.py live: a turn end waited 1.5 s behind a 0.3 s one)
            self._send(pid, sp, urgent=sp.open_since is None and length >= c.short_s)
        elif (self.speculate and sp.spec is None and sp.open_since is None
              and self.now >= sp.pending[-1][1] + c.pad_s and length >= c.short_s):
            # the end is known and its audio is in: decode while the hold runs; the line
            # is only given out once the hold has passed (`_send` keeps the job). Not for
            # a short line: it waits for its possible sources anyway, and its decoding on
            # the full window costs the most when wasted
            sp.spec = self._submit(pid, (sp.pending[0][0], sp.pending[-1][1]), True).id

    def _quietest(self, pid: str, a: float, b: float) -> float:
        """Session time of the quietest 20 ms frame in [a, b] of pid's track."""
        x = self.history.read(self.track[pid], int(a * SR), int(b * SR))
        hop = SR // 50
        n = len(x) // hop
        if n < 2:
            return b
        rms = np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1))  # (n,) 20 ms RMS
        return a + (int(np.argmin(rms)) + 0.5) * hop / SR

    def _send(self, pid: str, sp: _Speaker, urgent: bool) -> None:
        """The pending speech becomes a job for good: the speculative one, when it stands
        for the same speech (its audio is the same), else a new one."""
        if not sp.pending:
            return
        span = (sp.pending[0][0], sp.pending[-1][1])
        sp.pending = []
        if sp.spec is not None and self.jobs[sp.spec].span == span:
            job = self.jobs[sp.spec]
            sp.spec = None
        else:
            if sp.spec is not None:
                self._withdraw(sp)
            job = self._submit(pid, span, urgent)
        self.audio_s += len(job.audio) / SR
        if span[1] - span[0] >= self.cfg.short_s:
            self.order.append(job.id)
        if (r := self.early.pop(job.id, None)) is not None:
            self._decide(r)

    def _submit(self, pid: str, span: tuple[float, float], urgent: bool) -> AsrJob:
        a, b = span
        lo = max(a - self.cfg.pad_s, 0.0)
        audio = self.history.read(self.track[pid], int(lo * SR), int((b + self.cfg.pad_s) * SR))
        offset = max(lo, (self.history.total - self.history.cap) / SR)
        job = AsrJob(self.next_id, pid, offset, audio, self.language, (a, b), urgent)
        self.next_id += 1
        self.jobs[job.id] = job
        if self.live and b - a < self.cfg.short_s:
            # live, a short line goes to the worker once its possible sources have gone:
            # its line waits for them anyway, and decoded first (on the full window, the
            # longest job) it held a turn's end back 1.5 s (benchmarks/asr.py live).
            # Offline, the order of jobs makes the packs: nothing is deferred there.
            self.deferred.append(job)
            self._submit_deferred()
        else:
            self.worker.submit(job)
        return job

    def _submit_deferred(self) -> None:
        still = []
        for job in self.deferred:
            u = Utterance(job.who, *job.span, "", (), self.language)
            if self._speaking_around(u):
                still.append(job)
            else:
                self.worker.submit(job)
        self.deferred = still

    def _withdraw(self, sp: _Speaker) -> None:
        assert sp.spec is not None
        self.worker.cancel(sp.spec)
        self.jobs.pop(sp.spec)
        self.early.pop(sp.spec, None)
        sp.spec = None
        self.withdrawn += 1

    def _collect(self, results: list[AsrResult]) -> list[Event]:
        """The lines to show now: turns as soon as decoded, short lines once released."""
        speculative = {sp.spec for sp in self.speakers.values()}
        for r in results:
            self.compute_s += r.compute_s
            self.cpu_s += r.cpu_s
            if r.id in speculative:  # the hold is not over: kept until `_send`
                self.early[r.id] = r
            else:
                self._decide(r)
        out, self.shown = self.shown, []
        while self.order and self.order[0] in self.fate:
            if (u := self.fate.pop(self.order.pop(0))) is not None:
                self.to_tag.append(u)
        shorts = self._release()
        self.to_tag += shorts
        return out + shorts

    def _decide(self, r: AsrResult) -> None:
        """The line of a job for good (its hold is over): a turn's, to show now (`shown`),
        or a short one's, held for the echo check."""
        job = self.jobs.pop(r.id)
        a, b = job.span
        if r.error:
            self.errors.append(f"{job.who} {a:.2f}-{b:.2f} s: {r.error}")
        prompt = self.cfg.prompt_zh if self.language == "zh" else self.cfg.prompt_en
        kept = [s for s in r.segments if keep_segment(s, b - a, self.cfg)]
        text = normalize_text("".join(s.text for s in kept), self.language, prompt)
        u = None
        if text and fits_duration(text, b - a, self.language, self.cfg):
            words = tuple(
                (w.strip(), round(job.offset + s, 2), round(job.offset + e, 2))
                for seg in kept
                for w, s, e, _ in seg.words
                if w.strip()
            )
            u = Utterance(job.who, round(a, 2), round(b, 2), text, words, self.language,
                          confidence(kept))
        if b - a < self.cfg.short_s:  # a short token: may be another's bleed (below)
            if u is not None:
                self.held.append(u)
            return
        self.fate[job.id] = u
        if u is not None:  # a turn goes out at once (holding turns cost live text seconds)
            self.shown.append(u)
            self.recent.append(u)

    # --- echoes of other mics ---------------------------------------------------------
    def _sources(self, u: Utterance, start: float, end: float) -> bool:
        """Whether another candidate's speech [start, end] could be the source of `u` as
        bleed: it overlaps u and was already going when u began (bleed starts with its
        source). Speech that began later in u (the next speaker's overlapping start, an
        interruption of u) is not waited for: live, that would hold a turn's text until
        the next turn was transcribed, seconds later."""
        return start < u.start + self.cfg.echo_margin_s and end > u.start

    def _speaking_around(self, u: Utterance) -> bool:
        """Whether speech that could be u's source is not sent to the worker yet."""
        for pid, sp in self.speakers.items():
            if pid == u.who:
                continue
            if sp.open_since is not None and self._sources(u, sp.open_since, self.now):
                return True
            if any(self._sources(u, s, e) for s, e in sp.pending):
                return True
        return False

    def _busy_around(self, u: Utterance) -> bool:
        """Whether speech that could be u's source is not transcribed yet."""
        return self._speaking_around(u) or any(
            j.who != u.who and self._sources(u, *j.span) for j in self.jobs.values())

    def _release(self, final: bool = False) -> list[Utterance]:
        """The held short lines whose possible sources are known, without their echoes."""
        out: list[Utterance] = []
        still = []
        m = self.cfg.echo_margin_s
        for u in self.held:
            if not final and self._busy_around(u):
                still.append(u)
                continue
            # the words other candidates said around u in longer stretches than u's: bleed
            # is a fragment of its source (mic gains differ, so levels cannot tell), and the
            # source is never dropped as an echo of its own fragment
            others: set[str] = set()
            for o in self.recent + self.held:
                # only lines that could be its source, all of them known by now (the same
                # set whatever the ASR's timing: live and offline decide alike)
                if (o.who != u.who and o.end - o.start > u.end - u.start
                        and self._sources(u, o.start, o.end)):
                    for w, s, e in o.words:
                        if s < u.end + m and e > u.start - m:
                            others |= sounds(w, self.language)
            if drop_echo(u.text, others, True, self.language):
                out.append(u)
                self.recent.append(u)
        self.held = still
        horizon = self.now - self.cfg.history_s
        self.recent = [o for o in self.recent if o.end > horizon]
        return out


def _span(pending: list[tuple[float, float]]) -> tuple[float, float] | None:
    return (pending[0][0], pending[-1][1]) if pending else None


_LOOP = re.compile(r"(.{1,6}?)(?:[ ,，]*\1){4,}")


def normalize_text(text: str, language: str, prompt: str = "") -> str:
    """Whisper's text, tidied: Simplified characters for zh, the initial prompt removed where
    the model echoed it (base does on unclear audio), runaway repetition ("处处处处…",
    "这些这些") collapsed to one copy and echoed clauses dropped (asr_guard.drop_loops)."""
    text = text.strip()
    if language == "zh":
        from diarize.zh_text import to_simplified

        text = to_simplified(text)
    core = prompt.strip().rstrip("。.")
    # the whole prompt, then any tail of it of 4+ characters (a partial echo)
    for k in range(len(core) - 4 + 1 if core else 0):
        text = text.replace(core[k:] + "。", "").replace(core[k:], "")
    text = drop_loops(_LOOP.sub(r"\1", text), language)
    return text.strip(" ,，。")
