"""The one analysis driver, shared by live rooms, `lgd analyze`, restart recovery, benchmarks
and tests: nothing else drives the stages.

    analysis = Analysis(info, settings, sink=publish)
    analysis.feed(block)                  # (n_tracks, n) float32 16 kHz: the next samples
    analysis.feed_video(who, at, frame)   # (H, W, 3) uint8 RGB of one candidate
    analysis.feed_events(events)          # events from outside the media (lag reports,
                                          # an external content stage, a script's truth)
    report = analysis.finish()            # flush every stage: the `lgd.report/1` document

It chains the synchronous stages in data-path order: speech activity and voice levels →
turn-taking; the content stages (ASR → discourse acts, when `asr.enabled`); the nonverbal
stages (voice prosody, face cues → reactions, when the affect policy allows); the portrait
model, which reads everything they emit. Every call returns the events it produced, in
order, and hands them to `sink`; the report is the fold of exactly those events
(`ReportBuilder`), so a log of them replays into the same report. `analyze()` drives it off
the event loop from any async source of blocks. Live and offline differ only in where the
blocks come from.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis.report import ReportBuilder
from analysis.settings import ServerConfig, Settings, WebhookConfig
from core import policy
from core.bus import Bus
from core.clock import FRAME_SAMPLES, SAMPLE_RATE
from core.events import (
    AnalysisLag,
    AudioAnalysed,
    Event,
    PhaseStarted,
    PortraitUpdate,
    ProsodyTurn,
    SpeechEnded,
    SpeechHorizon,
    SpeechStarted,
    VoiceAttributes,
)
from core.session import SessionInfo
from diarize.activity import SpeechActivity
from diarize.levels import VoiceLevels
from interaction.portraits import PortraitModel
from interaction.turns import TurnTracker
from media.frames import iter_blocks

if TYPE_CHECKING:
    from diarize.face import FaceAnalyzer
    from diarize.prosody import ProsodyTracker
    from diarize.transcribe import Transcriber
    from interaction.acts import ActTagger
    from interaction.reactions import ReactionTracker

__all__ = ["Analysis", "SessionInfo", "analyze"]

#: how often (session seconds of audio) progress and voice attributes are stated, so a
#: report folded from a log cut short (a crash) still knows them
PROGRESS_EVERY_S = 10.0
#: what the driver states about the analysis itself: the portrait model does not count it
_ABOUT_ANALYSIS = (AnalysisLag, AudioAnalysed, VoiceAttributes, PortraitUpdate, PhaseStarted)

Sink = Callable[[list[Event]], None]


class Analysis:
    """media blocks in, typed events out, in one direction; the report folded from them."""

    def __init__(
        self,
        info: SessionInfo,
        settings: Settings | None = None,
        sink: Sink | None = None,
        vad_session: Any = None,
        live: bool = False,
    ) -> None:
        """settings: default `Settings.from_env()`; `info.affect`: the session's affect
        policy, else the deployment's; `info.language`: else the deployment's;
        `info.participants` (id, display name): so acts can tell who is addressed.
        live: audio comes in real time, so the transcript must keep up (ASR packs whatever
        waits) rather than be the same on every run (ASR fills each pack)."""
        self.settings = s = settings or Settings.from_env()
        self.info = info
        self.ids = info.ids
        self.language = info.language or s.language
        self.sink = sink
        self.policy = policy.resolve(s.affect_analysis, info.affect)
        self.report = ReportBuilder(info, self.policy)
        self._vad_session = vad_session
        self._activity: SpeechActivity | None = None  # built on the first audio block
        self.levels = VoiceLevels(self.ids)
        self.turns = TurnTracker(self.ids, s.turns)
        self.transcriber: Transcriber | None = None
        self.acts: ActTagger | None = None
        if s.asr.enabled:
            from diarize.transcribe import Transcriber
            from interaction.acts import ActTagger

            self.transcriber = Transcriber(self.ids, self.language, s.asr, s.data_dir,
                                           live=live)
            self.acts = ActTagger(info.participants, self.language, s.acts)
        # Policy "off": the nonverbal stages are never built, so nothing of theirs can run.
        self.prosody: ProsodyTracker | None = None
        self.reactions: ReactionTracker | None = None
        if policy.computes_affect(self.policy):
            from diarize.prosody import ProsodyTracker
            from interaction.reactions import ReactionTracker

            self.prosody = ProsodyTracker(self.ids, s.prosody)
            self.reactions = ReactionTracker(self.ids, s.reactions)
        self.face: FaceAnalyzer | None = None  # built on the first video frame (~1 s)
        cfg = dataclasses.replace(s.portraits, affect_policy=self.policy)
        self.portraits = PortraitModel(self.ids, self.language, cfg)
        self._lock = threading.RLock()  # audio, video and readers may be on different threads
        self.samples = 0  #: audio fed so far, per track
        self._next_progress = PROGRESS_EVERY_S
        self.finished = False
        self._emit(self.portraits.flush())  # the portraits before any data: null, with why

    # A snapshot of the whole analysis state (analysis/snapshot.py) is this object pickled:
    # every stage's state, the report fold and the event numbering. Runtime resources are
    # left out and made again: the lock here, and in the stages the VAD's onnxruntime
    # session, the voice encoder, the face meshes and the ASR process (its jobs in flight
    # are carried and sent again). The sink is the host's, set again by it.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]
        state["sink"] = state["_vad_session"] = None
        # no secret leaves in a snapshot: the stages read none of these
        state["settings"] = dataclasses.replace(
            self.settings, kek=None, kek_file=None, redis_url=None, server=ServerConfig(),
            webhooks=WebhookConfig())
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    @property
    def activity(self) -> SpeechActivity:
        if self._activity is None:
            s = self.settings
            self._activity = SpeechActivity(self.ids, s.activity, s.vad_model,
                                            vad_session=self._vad_session)
        return self._activity

    @property
    def duration_s(self) -> float:
        return self.samples / SAMPLE_RATE

    # -- media in ------------------------------------------------------------------------

    def feed(self, block: np.ndarray) -> list[Event]:
        """block: (n_tracks, n_samples) float32, 16 kHz, the next samples of every track."""
        with self._lock:
            speech = self.activity.push(block)
            self.samples += block.shape[1]
            self.levels.push(block)
            voice = self.prosody.push(block, speech) if self.prosody is not None else []
            out = voice + self._chain(speech)
            if self.transcriber is not None:
                out += self._transcript(self.transcriber.push(block, speech))
            if self.face is not None:
                out += self.face.check_silence(self.duration_s)
            out = self._portraits(out + self._react(out))
            if self.duration_s >= self._next_progress:
                self._next_progress += PROGRESS_EVERY_S
                out += self._progress()
            return self._emit(out)

    def resume(self, logged: list[Event], at_s: float, until_s: float) -> list[Event]:
        """A live session resumed after its server restarted, before any audio: `logged` are
        the events published before (its event log), `until_s` the last session time the log
        vouches for, `at_s` where the resumed audio starts (>= until_s).

        The stages are brought to `at_s` on silence, their output dropped: that span was
        analysed before (its events are in `logged`) or not heard at all (the restart's gap).
        The folds that span the whole session — turn-taking's running totals, the portrait
        model, the report — are rebuilt from `logged`, their output dropped too (published
        already). Speech still open at `until_s` is closed there: those events are new, and
        returned (with the portraits as they now stand) like any call's."""
        with self._lock:
            if self.samples:
                raise RuntimeError("resume() comes before any audio")
            sink, self.sink = self.sink, None
            silence = np.zeros((len(self.ids), FRAME_SAMPLES * 500), np.float32)
            target = int(at_s * SAMPLE_RATE) // FRAME_SAMPLES * FRAME_SAMPLES
            while self.samples < target:  # (n_tracks, <= 10 s) of zeros
                self.feed(silence[:, :min(silence.shape[1], target - self.samples)])
            s = self.settings
            self.turns = TurnTracker(self.ids, s.turns)
            cfg = dataclasses.replace(s.portraits, affect_policy=self.policy)
            self.portraits = PortraitModel(self.ids, self.language, cfg)
            self.report = ReportBuilder(self.info, self.policy)
            open_: dict[str, float] = {}
            for ev in logged:
                self.report.add(ev)
                if isinstance(ev, SpeechStarted | SpeechEnded | SpeechHorizon):
                    self.turns.push(ev)
                if isinstance(ev, SpeechStarted):
                    open_[ev.who] = ev.at
                elif isinstance(ev, SpeechEnded):
                    open_.pop(ev.who, None)
                if not isinstance(ev, _ABOUT_ANALYSIS):
                    self.portraits.push(ev)
            self.sink = sink
            ends = [SpeechEnded(who, at, round(until_s, 2))
                    for who, at in sorted(open_.items(), key=lambda kv: kv[1]) if until_s > at]
            out = self._portraits(self._chain([*ends, SpeechHorizon(round(until_s, 2))]))
            return self._emit(out + self.portraits.flush())

    def feed_video(self, who: str, at: float, frame: np.ndarray) -> list[Event]:
        """One video frame (H, W, 3) uint8 RGB of candidate `who` at session time `at`; the
        caller samples 2-5 fps (`settings.face.fps`). Nothing runs under policy off."""
        if not policy.computes_affect(self.policy):
            return []
        with self._lock:
            if self.face is None:
                from diarize.face import FaceAnalyzer

                self.face = FaceAnalyzer(self.ids, self.settings.face)
            out: list[Event] = list(self.face.push_frame(who, at, frame))
            return self._emit(self._portraits(out + self._react(out)))

    def enrol_voice(self, who: str, clip: np.ndarray) -> bool:
        """A clip of candidate `who`'s voice alone (a device check before the discussion):
        (samples,) float32 16 kHz, >= 1.6 s. Enrols their voiceprint for voice identity at
        once instead of after they have spoken in the session. False when identity is off."""
        if who not in self.ids:
            raise ValueError(f"unknown candidate {who!r}")
        with self._lock:
            identity = self.activity.identity
            if identity is None:
                return False
            identity.enrol_clip(self.ids.index(who), np.asarray(clip, np.float32))
            return True

    def feed_events(self, events: list[Event]) -> list[Event]:
        """Events produced outside the analysed media join the stream, with what they give
        rise to: an operator's lag report; a script's or an external stage's turns,
        utterances and acts (a challenge addressed to a candidate is a reaction trigger)."""
        with self._lock:
            return self._emit(self._portraits(list(events) + self._react(events)))

    def finish(self) -> dict[str, Any]:
        """Flush every stage (stops the ASR worker) and return the final report."""
        with self._lock:
            if not self.finished:
                self._emit(self._flush())
                self.finished = True
            return self.report.build()

    def run(self, tracks: np.ndarray, block_frames: int = 50) -> dict[str, Any]:
        """Feed a whole recording, (n_tracks, n_samples) float32 16 kHz, in the blocks
        `lgd analyze` uses (`media.frames.iter_blocks`), then finish: the report."""
        for _, block in iter_blocks(tracks, block_frames):
            self.feed(block)
        return self.finish()

    def partial_report(self) -> dict[str, Any]:
        """The report of everything produced so far (live sessions)."""
        with self._lock:
            return self.report.build(self.duration_s)

    def close(self) -> None:
        """Stop the ASR worker (finish does it too); for a session abandoned midway."""
        if self.transcriber is not None:
            self.transcriber.close()

    # -- the stages ----------------------------------------------------------------------

    def _flush(self) -> list[Event]:
        speech = self.activity.flush() if self._activity is not None else []
        voice = (
            self.prosody.push(np.zeros((len(self.ids), 0), np.float32), speech)
            + self.prosody.flush()
            if self.prosody is not None
            else []
        )
        out = voice + self._chain(speech) + self._content(self.turns.flush())
        if self.transcriber is not None:
            tail = np.zeros((len(self.ids), 0), np.float32)
            out += self._transcript(self.transcriber.push(tail, speech))
            out += self._transcript(self.transcriber.flush())
            self.transcriber.close()
        if self.face is not None:
            out += self.face.flush()
        out += self._react(out)
        if self.reactions is not None:
            out += self.reactions.flush()
        return self._portraits(out) + self.portraits.flush() + self._progress()

    def _chain(self, speech: Iterable[Event]) -> list[Event]:
        out: list[Event] = []
        for ev in speech:
            out.append(ev)
            out += self._content(self.turns.push(ev))
        return out

    def _content(self, events: list[Event]) -> list[Event]:
        """events, each followed by the acts it gives rise to."""
        if self.acts is None:
            return events
        out: list[Event] = []
        for ev in events:
            out.append(ev)
            out += self.acts.push(ev)
        return out

    def _transcript(self, shown: list[Event]) -> list[Event]:
        """The lines the transcriber gives out now (as they are decoded), then the acts of
        the lines whose turn to be tagged has come (job order: the tagger's novelty reads
        the lines in order, so live and offline tag alike whatever the decoding order)."""
        assert self.transcriber is not None
        ready = self.transcriber.ordered()
        if self.acts is None:
            return shown
        return shown + [a for u in ready for a in self.acts.push(u)]

    def _react(self, events: list[Event]) -> list[Event]:
        """Feed every event to the reaction stage (voice pieces before the horizons that
        settle them). Acts from the content stage go through here too."""
        if self.reactions is None:
            return []
        out: list[Event] = []
        for ev in events:
            out += self.reactions.push(ev)
        return out

    def _portraits(self, events: list[Event]) -> list[Event]:
        """Every event the stages produced, in order, each followed by the portrait update
        it triggered (if any); the voice levels learn from own speech and voice pieces."""
        out: list[Event] = []
        for ev in events:
            out.append(ev)
            if isinstance(ev, SpeechEnded | ProsodyTurn):
                self.levels.add(ev)
            if not isinstance(ev, _ABOUT_ANALYSIS):
                out += self.portraits.push(ev)
        return out

    def _progress(self) -> list[Event]:
        t = round(self.duration_s, 2)
        return [*self.levels.attributes(t), AudioAnalysed(t)]

    def _emit(self, events: list[Event]) -> list[Event]:
        for ev in events:
            self.report.add(ev)
        if events and self.sink is not None:
            self.sink(events)
        return events


async def analyze(
    info: SessionInfo,
    blocks: AsyncIterator[np.ndarray],
    settings: Settings | None = None,
    bus: Bus | None = None,
    on_progress: Callable[[float], None] | None = None,
    frames: Iterator[tuple[str, float, np.ndarray]] | None = None,
    voices: dict[str, np.ndarray] | None = None,
) -> dict:
    """Run the analysis over `blocks` and return the `lgd.report/1` document.

    voices: optional clips of candidates' voices alone (a device check), enrolled for voice
    identity before the first block (`Analysis.enrol_voice`).

    frames: optional video, (who, session time, (H, W, 3) uint8 RGB) in time order
    (`media.video.sample_frames`); each is analysed once the audio has reached its time.

    Stages run in a worker thread (numba and onnxruntime release the GIL), so the event
    loop stays free for the network; events are published on `bus` topic
    `<session id>.events` in the order they were produced.
    """
    loop = asyncio.get_running_loop()
    analysis = await loop.run_in_executor(None, lambda: Analysis(info, settings))
    for who, clip in (voices or {}).items():
        await loop.run_in_executor(None, analysis.enrol_voice, who, clip)
    topic = f"{info.id}.events"

    async def publish(events: list[Event]) -> None:
        if bus is not None:
            for ev in events:
                await bus.publish(topic, ev)

    pending: list = []  # the next video frame, read ahead of the audio clock

    def video_until(t: float) -> list[Event]:
        out: list[Event] = []
        while frames is not None:
            if not pending:
                nxt = next(frames, None)
                if nxt is None:
                    break
                pending.append(nxt)
            if pending[0][1] >= t:
                break
            out += analysis.feed_video(*pending.pop())
        return out

    try:
        async for block in blocks:
            await publish(await loop.run_in_executor(None, analysis.feed, block))
            await publish(await loop.run_in_executor(None, video_until, analysis.duration_s))
            if on_progress is not None:
                on_progress(analysis.duration_s)
        await publish(await loop.run_in_executor(None, video_until, float("inf")))
        done: list[Event] = []
        analysis.sink = done.extend
        report = await loop.run_in_executor(None, analysis.finish)
        await publish(done)
        return report
    finally:
        analysis.close()
