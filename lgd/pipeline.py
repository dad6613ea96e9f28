"""The analysis pipeline, shared by live rooms and `lgd analyze`.

`Pipeline` chains the synchronous stages: speech activity → turn-taking; the content
stages (ASR → discourse acts, when `asr.enabled`); the nonverbal stages (voice prosody,
face cues → reactions, when the affect policy allows); and the portrait model, which reads
everything they emit. `analyze()` drives it off the event loop from any async source of
blocks and publishes every event on the bus. Live and offline differ only in where the
blocks come from.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from diarize.activity import SpeechActivity
from interaction.fairness import MicLevels
from interaction.portrait_config import portrait_config
from interaction.portraits import PortraitModel
from interaction.turns import TurnTracker
from lgd import policy
from lgd.bus import Bus
from lgd.events import Event, SpeechEnded
from lgd.report import ReportBuilder
from lgd.settings import Settings

if TYPE_CHECKING:
    from diarize.face import FaceAnalyzer
    from diarize.prosody import ProsodyTracker
    from diarize.transcribe import Transcriber
    from interaction.acts import ActTagger
    from interaction.reactions import ReactionTracker


class Pipeline:
    """media blocks in, typed events out, in one direction."""

    def __init__(
        self,
        ids: list[str],
        settings: Settings | None = None,
        vad_session=None,
        affect: str | None = None,
        language: str | None = None,
        names: list[tuple[str, str]] | None = None,
    ) -> None:
        """settings: default `Settings.from_env()`; affect: the session's affect-analysis
        policy, else the deployment's; language: the session's, else the deployment's;
        names: (id, display name), so acts can tell who is addressed."""
        self.settings = s = settings or Settings.from_env()
        self.ids = list(ids)
        self.language = language or s.language
        self.activity = SpeechActivity(self.ids, s.activity, s.vad_model, vad_session=vad_session)
        self.turns = TurnTracker(self.ids, s.turns)
        self.transcriber: Transcriber | None = None
        self.acts: ActTagger | None = None
        if s.asr.enabled:
            from diarize.transcribe import Transcriber
            from interaction.acts import ActTagger

            self.transcriber = Transcriber(self.ids, self.language, s.asr, s.data_dir)
            self.acts = ActTagger(names or [(p, p) for p in self.ids], self.language, s.acts)
        self.policy = policy.resolve(s.affect_analysis, affect)
        # Policy "off": the nonverbal stages are never built, so nothing of theirs can run.
        self.prosody: ProsodyTracker | None = None
        self.reactions: ReactionTracker | None = None
        if policy.computes_affect(self.policy):
            from diarize.prosody import ProsodyTracker
            from interaction.reactions import ReactionTracker

            self.prosody = ProsodyTracker(self.ids, s.prosody)
            self.reactions = ReactionTracker(self.ids, s.reactions)
        # Built on the first video frame (mediapipe loads in ~1 s).
        self.face: FaceAnalyzer | None = None
        cfg = dataclasses.replace(portrait_config(s), affect_policy=self.policy)
        self.portraits = PortraitModel(self.ids, self.language, cfg)
        self.mic_levels = MicLevels(self.ids)
        self._lock = threading.Lock()  # audio and video may arrive from different threads
        self._samples = 0

    def push(self, block: np.ndarray) -> list[Event]:
        """block: (n_tracks, n_samples) float32, 16 kHz, the next samples of every track."""
        speech = self.activity.push(block)
        self._samples += block.shape[1]
        self.mic_levels.push(block)
        voice = self.prosody.push(block, speech) if self.prosody is not None else []
        out = voice + self._chain(speech)
        if self.transcriber is not None:
            out += self._content(self.transcriber.push(block, speech))
        if self.face is not None:
            out += self.face.check_silence(self._samples / 16000)
        return self._portraits(out + self._react(out))

    def push_video(self, who: str, at: float, frame: np.ndarray) -> list[Event]:
        """One video frame (H, W, 3) uint8 RGB of candidate `who` at session time `at`; the
        caller samples 2-5 fps (`settings.face.fps`) and calls this from an executor."""
        if not policy.computes_affect(self.policy):
            return []
        with self._lock:
            if self.face is None:
                from diarize.face import FaceAnalyzer

                self.face = FaceAnalyzer(self.ids, self.settings.face)
        out: list[Event] = list(self.face.push_frame(who, at, frame))
        return self._portraits(out + self._react(out))

    def push_events(self, events: list[Event]) -> list[Event]:
        """Events produced outside this pipeline (e.g. Acts from an external content stage:
        a challenge addressed to a candidate is a reaction trigger) → the reactions they
        settle. Returns [] under policy off."""
        return self._react(events)

    def flush(self) -> list[Event]:
        speech = self.activity.flush()
        voice = (
            self.prosody.push(np.zeros((len(self.ids), 0), np.float32), speech)
            + self.prosody.flush()
            if self.prosody is not None
            else []
        )
        out = voice + self._chain(speech) + self._content(self.turns.flush())
        if self.transcriber is not None:
            tail = np.zeros((len(self.ids), 0), np.float32)
            out += self._content(self.transcriber.push(tail, speech))
            out += self._content(self.transcriber.flush())
            self.transcriber.close()
        if self.face is not None:
            out += self.face.flush()
        out += self._react(out)
        if self.reactions is not None:
            with self._lock:
                out += self.reactions.flush()
        return self._portraits(out) + self.portraits.flush()

    def close(self) -> None:
        """Stop the ASR worker (flush does it too); for a session abandoned midway."""
        if self.transcriber is not None:
            self.transcriber.close()

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

    def _react(self, events: list[Event]) -> list[Event]:
        """Feed every event to the reaction stage (voice pieces before the horizons that
        settle them). Acts from the content stage go through here too."""
        if self.reactions is None:
            return []
        out: list[Event] = []
        with self._lock:
            for ev in events:
                out += self.reactions.push(ev)
        return out

    def _portraits(self, events: list[Event]) -> list[Event]:
        """Every event the stages produced, in order, each followed by the live portrait
        update it triggered (if any); the mic levels learn from the own-speech stretches."""
        out: list[Event] = []
        with self._lock:
            for ev in events:
                out.append(ev)
                if isinstance(ev, SpeechEnded):
                    self.mic_levels.add_speech(ev.who, ev.start, ev.end)
                out += self.portraits.push(ev)
        return out


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: str
    participants: list[tuple[str, str]]  #: (id, display name), in track order
    language: str
    started_at: str  #: ISO-8601
    affect: str | None = None  #: this session's affect-analysis policy; None = deployment's


async def analyze(
    info: SessionInfo,
    blocks: AsyncIterator[np.ndarray],
    settings: Settings | None = None,
    bus: Bus | None = None,
    on_progress: Callable[[float], None] | None = None,
    frames: Iterator[tuple[str, float, np.ndarray]] | None = None,
) -> dict:
    """Run the pipeline over `blocks` and return the `lgd.report/1` document.

    frames: optional video, (who, session time, (H, W, 3) uint8 RGB) in time order
    (`media.video.sample_frames`); each is analysed once the audio has reached its time.

    Stages run in a worker thread (numba and onnxruntime release the GIL), so the event
    loop stays free for the network; events are published on `bus` topic
    `<session id>.events` in the order they were produced.
    """
    loop = asyncio.get_running_loop()
    ids = [pid for pid, _ in info.participants]
    pipeline = await loop.run_in_executor(
        None,
        lambda: Pipeline(
            ids, settings, affect=info.affect, language=info.language, names=info.participants
        ),
    )
    report = ReportBuilder(info, settings)
    topic = f"{info.id}.events"
    samples = 0

    async def emit(events: list[Event]) -> None:
        for ev in events:
            report.add(ev)
            if bus is not None:
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
            out += pipeline.push_video(*pending.pop())
        return out

    async for block in blocks:
        await emit(await loop.run_in_executor(None, pipeline.push, block))
        samples += block.shape[1]
        await emit(await loop.run_in_executor(None, video_until, samples / 16000))
        if on_progress is not None:
            on_progress(samples / 16000)
    await emit(await loop.run_in_executor(None, video_until, float("inf")))
    await emit(await loop.run_in_executor(None, pipeline.flush))
    levels = pipeline.mic_levels.levels()
    report.voice_attributes = {p: {"mic_level_db": v} for p, v in levels.items()}
    return report.build(duration_s=samples / 16000)
