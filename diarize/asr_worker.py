"""The ASR worker process: faster-whisper runs here, never on the audio path or event loop.

One process per pipeline (ctranslate2 already uses both cores for one chunk; two models
would only contend). Jobs go in over a queue and results come back in submission order.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import queue
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.clock import SAMPLE_RATE
from diarize.asr_guard import AsrSegment
from diarize.config import AsrConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AsrJob:
    id: int
    who: str
    offset: float  #: session time of audio[0]
    audio: np.ndarray  #: (n_samples,) float32 16 kHz, the candidate's own mic
    language: str
    span: tuple[float, float]  #: the speech the job stands for (session seconds)


@dataclass(frozen=True, slots=True)
class AsrResult:
    id: int
    text: str
    words: tuple[tuple[str, float, float], ...]  #: (word, start, end) relative to audio[0]
    language: str
    compute_s: float  #: wall time the model spent on this job
    cpu_s: float = 0.0  #: CPU time of the worker's threads on it (less load-dependent)
    error: str | None = None
    #: the segments behind `text`, with the statistics the hallucination guard reads
    segments: tuple[AsrSegment, ...] = ()


def _transcribe(model: Any, cfg: AsrConfig, job: AsrJob) -> AsrResult:
    prompt = cfg.prompt_zh if job.language == "zh" else cfg.prompt_en
    started, cpu0 = time.perf_counter(), time.process_time()
    segments, info = model.transcribe(
        job.audio,
        language=job.language or None,  # the session's language: auto-detect errs on weak audio
        beam_size=cfg.beam_size,
        temperature=0.0,
        word_timestamps=cfg.word_timestamps,
        initial_prompt=prompt or None,
        # each job stands alone: no earlier text as context, so a short backchannel is never
        # decoded behind a long prompt it could continue
        condition_on_previous_text=False,
        vad_filter=False,  # the speech-activity stage already cut the speech
        # base loops on unclear Mandarin ("处处处处…", 30 s of it): no 3-gram twice, and no
        # more tokens than fast speech could fill.
        no_repeat_ngram_size=3,
        max_new_tokens=int(20 + 12 * len(job.audio) / SAMPLE_RATE),
    )
    segs: list[AsrSegment] = []
    for seg in segments:
        words = tuple((w.word, float(w.start), float(w.end), float(w.probability))
                      for w in seg.words or ())
        segs.append(AsrSegment(seg.text, float(seg.start), float(seg.end),
                               float(seg.avg_logprob), float(seg.no_speech_prob),
                               float(seg.compression_ratio), words))
    text = "".join(s.text for s in segs).strip()
    return AsrResult(
        job.id, text, tuple((w, a, b) for s in segs for w, a, b, _ in s.words), info.language,
        time.perf_counter() - started, time.process_time() - cpu0, None, tuple(segs),
    )


def serve(model_dir: str, cfg_fields: dict, jobs: mp.Queue, results: mp.Queue) -> None:
    """Worker main: load once, then answer jobs until a None arrives."""
    from diarize.asr_model import load_whisper

    cfg = AsrConfig(**cfg_fields)
    # Transcripts may lag; live audio analysis and the media relay may not: the worker
    # yields the CPU to them.
    os.nice(cfg.nice)
    model = load_whisper(Path(model_dir), cfg.threads, cfg.compute_type)
    results.put("ready")
    while (job := jobs.get()) is not None:
        try:
            results.put(_transcribe(model, cfg, job))
        except Exception as exc:  # a bad chunk must not kill the session's transcript
            results.put(AsrResult(job.id, "", (), job.language, 0.0, 0.0, repr(exc)))


class AsrWorker:
    """Client side: `submit` never blocks; `poll` returns finished results in job order.

    A worker that dies (killed, out of memory, a crash inside the model) is started again
    and given back the jobs it had not answered, at most `MAX_RESTARTS` times per session;
    after that every unanswered job comes back as an error result. The transcript then
    has gaps, said in the errors, but the session's analysis and report go on.
    """

    MAX_RESTARTS = 2

    def __init__(self, model_dir: Path, cfg: AsrConfig) -> None:
        self._ctx = mp.get_context("spawn")  # no fork: the parent runs onnxruntime/numba threads
        self._model_dir = model_dir
        self._fields = {k: v for k, v in asdict(cfg).items()}
        self._done: dict[int, AsrResult] = {}
        self._order: list[int] = []
        self._unanswered: dict[int, AsrJob] = {}  # submitted, no result yet: resent on restart
        self.restarts = 0
        self.failure: str | None = None  # why the worker is given up on
        self._start()

    def _start(self) -> None:
        self._jobs: mp.Queue = self._ctx.Queue()
        self._results: mp.Queue = self._ctx.Queue()
        self._proc = self._ctx.Process(
            target=serve,
            args=(str(self._model_dir), self._fields, self._jobs, self._results),
            name="lgd-asr",
            daemon=True,
        )
        self._proc.start()

    def submit(self, job: AsrJob) -> None:
        self._order.append(job.id)
        if self.failure is not None:
            self._done[job.id] = _failed(job, self.failure)
            return
        self._unanswered[job.id] = job
        self._jobs.put(job)

    def poll(self, timeout: float | None = 0.0) -> list[AsrResult]:
        """Finished results, oldest job first; with a timeout, wait that long for the next."""
        self._drain(timeout)
        self._check_alive()
        out = []
        while self._order and self._order[0] in self._done:
            out.append(self._done.pop(self._order.pop(0)))
        return out

    def wait_all(self, timeout_s: float = 600.0) -> list[AsrResult]:
        deadline = time.monotonic() + timeout_s
        out: list[AsrResult] = []
        while self._order:
            if time.monotonic() > deadline:
                raise TimeoutError(f"ASR worker: {len(self._order)} job(s) unfinished")
            out += self.poll(timeout=0.5)
        return out

    def _check_alive(self) -> None:
        if self.failure is not None or self._proc.is_alive():
            return
        self._drain(None)  # what it answered before it died still counts
        code = self._proc.exitcode
        self._discard_queues()
        if self.restarts >= self.MAX_RESTARTS:
            self.failure = f"ASR worker died (exit code {code}) after {self.restarts} restarts"
            logger.error("%s; %d job(s) left untranscribed", self.failure, len(self._unanswered))
            for job in self._unanswered.values():
                self._done[job.id] = _failed(job, self.failure)
            self._unanswered.clear()
            return
        self.restarts += 1
        logger.warning(
            "ASR worker died (exit code %s); restarting it with %d unanswered job(s)",
            code, len(self._unanswered),
        )
        self._start()
        for job in self._unanswered.values():  # in submission order (dicts keep it)
            self._jobs.put(job)

    def _drain(self, timeout: float | None) -> None:
        if self.failure is not None:
            return  # its queues are closed: every job was answered as a failure
        block = bool(timeout)
        while True:
            try:
                item = self._results.get(block=block, timeout=timeout if block else None)
            except (queue.Empty, EOFError, OSError):
                return
            block = False
            if item != "ready" and self._unanswered.pop(item.id, None) is not None:
                self._done[item.id] = item

    def _discard_queues(self) -> None:
        # a dead reader must not keep this process from exiting: the feeder thread of a
        # queue with unsent jobs would wait for it forever
        for q in (self._jobs, self._results):
            with contextlib.suppress(ValueError):  # closed already
                q.cancel_join_thread()
                q.close()

    def close(self) -> None:
        if self._proc.is_alive():
            self._jobs.put(None)
            self._proc.join(timeout=5)
            if self._proc.is_alive():
                self._proc.terminate()
                self._proc.join(timeout=5)
        self._discard_queues()


def _failed(job: AsrJob, why: str) -> AsrResult:
    return AsrResult(job.id, "", (), job.language, 0.0, 0.0, why)
