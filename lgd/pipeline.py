"""The analysis pipeline, shared by live rooms and `lgd analyze`.

`Pipeline` chains the synchronous stages (speech activity → turn-taking), and the portrait
model reads everything they emit; `analyze()` drives it off the event loop from any async
source of blocks and publishes every event on the bus. Live and offline differ only in
where the blocks come from.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass

import numpy as np

from diarize.activity import SpeechActivity
from interaction.fairness import MicLevels
from interaction.portrait_config import portrait_config
from interaction.portraits import PortraitModel
from interaction.turns import TurnTracker
from lgd.bus import Bus
from lgd.events import Event, SpeechEnded
from lgd.report import ReportBuilder
from lgd.settings import Settings


class Pipeline:
    """media blocks in, typed events out, in one direction."""

    def __init__(self, ids: list[str], settings: Settings | None = None, vad_session=None,
                 language: str | None = None) -> None:
        s = settings or Settings()
        self.ids = list(ids)
        self.activity = SpeechActivity(self.ids, s.activity, s.vad_model, vad_session=vad_session)
        self.turns = TurnTracker(self.ids, s.turns)
        self.portraits = PortraitModel(self.ids, language or s.language, portrait_config(s))
        self.mic_levels = MicLevels(self.ids)

    def push(self, block: np.ndarray) -> list[Event]:
        """block: (n_tracks, n_samples) float32, 16 kHz, the next samples of every track."""
        self.mic_levels.push(block)
        return self._portraits(self._chain(self.activity.push(block)))

    def flush(self) -> list[Event]:
        out = self._chain(self.activity.flush()) + self.turns.flush()
        return self._portraits(out) + self.portraits.flush()

    def _chain(self, speech: Iterable[Event]) -> list[Event]:
        out: list[Event] = []
        for ev in speech:
            out.append(ev)
            out += self.turns.push(ev)
        return out

    def _portraits(self, events: list[Event]) -> list[Event]:
        """Every event the stages produced, in order, each followed by the live portrait
        update it triggered (if any); the mic levels learn from the own-speech stretches."""
        out: list[Event] = []
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


async def analyze(
    info: SessionInfo,
    blocks: AsyncIterator[np.ndarray],
    settings: Settings | None = None,
    bus: Bus | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> dict:
    """Run the pipeline over `blocks` and return the `lgd.report/1` document.

    Stages run in a worker thread (numba and onnxruntime release the GIL), so the event
    loop stays free for the network; events are published on `bus` topic
    `<session id>.events` in the order they were produced.
    """
    loop = asyncio.get_running_loop()
    ids = [pid for pid, _ in info.participants]
    pipeline = await loop.run_in_executor(
        None, lambda: Pipeline(ids, settings, language=info.language)
    )
    report = ReportBuilder(info, settings)
    topic = f"{info.id}.events"
    samples = 0

    async def emit(events: list[Event]) -> None:
        for ev in events:
            report.add(ev)
            if bus is not None:
                await bus.publish(topic, ev)

    async for block in blocks:
        await emit(await loop.run_in_executor(None, pipeline.push, block))
        samples += block.shape[1]
        if on_progress is not None:
            on_progress(samples / 16000)
    await emit(await loop.run_in_executor(None, pipeline.flush))
    levels = pipeline.mic_levels.levels()
    report.voice_attributes = {p: {"mic_level_db": v} for p, v in levels.items()}
    return report.build(duration_s=samples / 16000)
