"""The analysis pipeline, shared by live rooms and `lgd analyze`.

`Pipeline` chains the synchronous stages (speech activity → turn-taking, and when the
session language is known and ASR is on: transcription → discourse acts); `analyze()`
drives it off the event loop from any async source of blocks and publishes every event
on the bus. Live and offline differ only in where the blocks come from.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass

import numpy as np

from diarize.activity import SpeechActivity
from diarize.transcribe import Transcriber
from interaction.acts import ActTagger
from interaction.turns import TurnTracker
from lgd.bus import Bus
from lgd.events import Event
from lgd.report import ReportBuilder
from lgd.settings import Settings


class Pipeline:
    """media blocks in, typed events out, in one direction."""

    def __init__(
        self,
        ids: list[str],
        settings: Settings | None = None,
        vad_session=None,
        *,
        language: str | None = None,
        names: list[tuple[str, str]] | None = None,
    ) -> None:
        """`language` (zh, en, ...) turns on the content stages (unless `asr.enabled` is
        off); `names`: (id, display name) so acts can tell who is addressed."""
        s = settings or Settings()
        self.ids = list(ids)
        self.activity = SpeechActivity(self.ids, s.activity, s.vad_model, vad_session=vad_session)
        self.turns = TurnTracker(self.ids, s.turns)
        self.transcriber: Transcriber | None = None
        self.acts: ActTagger | None = None
        if language and s.asr.enabled:
            self.transcriber = Transcriber(self.ids, language, s.asr, s.data_dir)
            self.acts = ActTagger(names or [(p, p) for p in self.ids], language, s.acts)

    def push(self, block: np.ndarray) -> list[Event]:
        """block: (n_tracks, n_samples) float32, 16 kHz, the next samples of every track."""
        speech = self.activity.push(block)
        out = self._chain(speech)
        if self.transcriber is not None:
            out += self._content(self.transcriber.push(block, speech))
        return out

    def flush(self) -> list[Event]:
        speech = self.activity.flush()
        out = self._chain(speech) + self._content(self.turns.flush())
        if self.transcriber is not None:
            tail = np.zeros((len(self.ids), 0), np.float32)
            out += self._content(self.transcriber.push(tail, speech))
            out += self._content(self.transcriber.flush())
            self.transcriber.close()
        return out

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
        None,
        functools.partial(
            Pipeline, ids, settings, language=info.language, names=info.participants
        ),
    )
    report = ReportBuilder(info)
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
    return report.build(duration_s=samples / 16000)
