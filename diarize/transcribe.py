"""The transcription stage: each candidate's own audio, per speech stretch, to `Utterance`s.

`Transcriber.push(block, events)` keeps a bounded per-track audio history, follows the
speech events the activity stage produced for the same block, and cuts each candidate's
speech into ASR jobs:
- stretches of one candidate closer than `hold_s` are sent together (more context);
- pending speech is sent once it reaches `chunk_s`, and a stretch with no pause is cut at
  its quietest 20 ms after `max_stretch_s`, so text shows while the candidate still talks.
Jobs run in the ASR worker process; `push` only collects what has finished, in job order,
so the event order is the same on every run. `flush()` sends the rest and waits for all.
A short line (under `short_s`: a backchannel, a cut-off interjection) waits until the other
candidates' speech that was already going when it began (its possible source, as bleed) is
transcribed too, and is dropped when it echoes a longer such line (`asr_guard.drop_echo`).
Turns go out at once.
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
        self.jobs: dict[int, AsrJob] = {}
        self.held: list[Utterance] = []  # short lines awaiting their possible sources
        self.recent: list[Utterance] = []  # lines given out, for the echo check
        self.next_id = 0
        self.audio_s = 0.0  # audio sent to ASR, for the real-time factor
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
        return self._collect(self.worker.poll())

    def flush(self) -> list[Event]:
        for pid, sp in self.speakers.items():
            if sp.open_since is not None and self.now - sp.open_since >= self.cfg.min_speech_s:
                sp.pending.append((sp.open_since, self.now))
            sp.open_since = None
            self._send(pid, sp)
        return self._collect(self.worker.wait_all()) + self._release(final=True)

    def close(self) -> None:
        self.worker.close()

    # --- cutting ----------------------------------------------------------------------
    def _schedule(self, pid: str, sp: _Speaker) -> None:
        c = self.cfg
        if sp.open_since is not None and self.now - sp.open_since > c.max_stretch_s + 1.0:
            cut = self._quietest(pid, sp.open_since + c.max_stretch_s, self.now - 0.3)
            sp.pending.append((sp.open_since, cut))
            sp.open_since = cut
            self._send(pid, sp)
            return
        if not sp.pending:
            return
        length = sum(b - a for a, b in sp.pending)
        if sp.open_since is not None:  # the speaker resumed: the closed part goes at chunk_s
            length += self.now - sp.open_since
        silent = sp.open_since is None and self.now - sp.pending[-1][1] >= c.hold_s
        if silent or length >= c.chunk_s:
            self._send(pid, sp)

    def _quietest(self, pid: str, a: float, b: float) -> float:
        """Session time of the quietest 20 ms frame in [a, b] of pid's track."""
        x = self.history.read(self.track[pid], int(a * SR), int(b * SR))
        hop = SR // 50
        n = len(x) // hop
        if n < 2:
            return b
        rms = np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1))  # (n,) 20 ms RMS
        return a + (int(np.argmin(rms)) + 0.5) * hop / SR

    def _send(self, pid: str, sp: _Speaker) -> None:
        if not sp.pending:
            return
        a, b = sp.pending[0][0], sp.pending[-1][1]
        sp.pending = []
        lo = max(a - self.cfg.pad_s, 0.0)
        audio = self.history.read(self.track[pid], int(lo * SR), int((b + self.cfg.pad_s) * SR))
        offset = max(lo, (self.history.total - self.history.cap) / SR)
        job = AsrJob(self.next_id, pid, offset, audio, self.language, (a, b))
        self.next_id += 1
        self.jobs[job.id] = job
        self.audio_s += len(audio) / SR
        self.worker.submit(job)

    def _collect(self, results: list[AsrResult]) -> list[Event]:
        out: list[Event] = []
        for r in results:
            job = self.jobs.pop(r.id)
            self.compute_s += r.compute_s
            self.cpu_s += r.cpu_s
            if r.error:
                a, b = job.span
                self.errors.append(f"{job.who} {a:.2f}-{b:.2f} s: {r.error}")
            prompt = self.cfg.prompt_zh if self.language == "zh" else self.cfg.prompt_en
            a, b = job.span
            kept = [s for s in r.segments if keep_segment(s, b - a, self.cfg)]
            text = normalize_text("".join(s.text for s in kept), self.language, prompt)
            if not text or not fits_duration(text, b - a, self.language, self.cfg):
                continue
            words = tuple(
                (w.strip(), round(job.offset + s, 2), round(job.offset + e, 2))
                for seg in kept
                for w, s, e, _ in seg.words
                if w.strip()
            )
            u = Utterance(job.who, round(a, 2), round(b, 2), text, words, self.language,
                          confidence(kept))
            if b - a < self.cfg.short_s:  # a short token: may be another's bleed (below)
                self.held.append(u)
            else:  # a turn goes out at once (holding turns cost live text seconds)
                out.append(u)
                self.recent.append(u)
        return out + self._release()

    # --- echoes of other mics ---------------------------------------------------------
    def _sources(self, u: Utterance, start: float, end: float) -> bool:
        """Whether another candidate's speech [start, end] could be the source of `u` as
        bleed: it overlaps u and was already going when u began (bleed starts with its
        source). Speech that began later in u (the next speaker's overlapping start, an
        interruption of u) is not waited for: live, that would hold a turn's text until
        the next turn was transcribed, seconds later."""
        return start < u.start + self.cfg.echo_margin_s and end > u.start

    def _busy_around(self, u: Utterance) -> bool:
        """Whether speech that could be u's source is not transcribed yet."""
        for pid, sp in self.speakers.items():
            if pid == u.who:
                continue
            if sp.open_since is not None and self._sources(u, sp.open_since, self.now):
                return True
            if any(self._sources(u, s, e) for s, e in sp.pending):
                return True
        return any(j.who != u.who and self._sources(u, *j.span) for j in self.jobs.values())

    def _release(self, final: bool = False) -> list[Event]:
        """The held short lines whose possible sources are known, without their echoes."""
        out: list[Event] = []
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
