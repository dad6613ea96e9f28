"""The ASR worker process: faster-whisper runs here, never on the audio path or event loop.

One process per pipeline (ctranslate2 already uses both cores for one chunk; two models
would only contend). Jobs go in over a queue and results come back in submission order.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from diarize.asr_config import AsrConfig


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


def _transcribe(model: Any, cfg: AsrConfig, job: AsrJob) -> AsrResult:
    prompt = cfg.prompt_zh if job.language == "zh" else cfg.prompt_en
    started, cpu0 = time.perf_counter(), time.process_time()
    segments, info = model.transcribe(
        job.audio,
        language=job.language or None,
        beam_size=cfg.beam_size,
        temperature=0.0,
        word_timestamps=True,
        initial_prompt=prompt or None,
        condition_on_previous_text=False,
        vad_filter=False,  # the speech-activity stage already cut the speech
        # base loops on unclear Mandarin ("处处处处…", 30 s of it): no 3-gram twice, and no
        # more tokens than fast speech could fill.
        no_repeat_ngram_size=3,
        max_new_tokens=int(20 + 12 * len(job.audio) / 16000),
    )
    text_parts: list[str] = []
    words: list[tuple[str, float, float]] = []
    for seg in segments:
        text_parts.append(seg.text)
        for w in seg.words or ():
            words.append((w.word, float(w.start), float(w.end)))
    text = "".join(text_parts).strip()
    return AsrResult(
        job.id, text, tuple(words), info.language, time.perf_counter() - started,
        time.process_time() - cpu0,
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
    """Client side: `submit` never blocks; `poll` returns finished results in job order."""

    def __init__(self, model_dir: Path, cfg: AsrConfig) -> None:
        ctx = mp.get_context("spawn")  # no fork: the parent runs onnxruntime/numba threads
        self._jobs: mp.Queue = ctx.Queue()
        self._results: mp.Queue = ctx.Queue()
        fields = {k: v for k, v in asdict(cfg).items()}
        self._proc = ctx.Process(
            target=serve,
            args=(str(model_dir), fields, self._jobs, self._results),
            name="lgd-asr",
            daemon=True,
        )
        self._proc.start()
        self._ready = False
        self._done: dict[int, AsrResult] = {}
        self._order: list[int] = []

    @property
    def outstanding(self) -> int:
        return len(self._order)

    def submit(self, job: AsrJob) -> None:
        self._order.append(job.id)
        self._jobs.put(job)

    def poll(self, timeout: float | None = 0.0) -> list[AsrResult]:
        """Finished results, oldest job first; with a timeout, wait that long for the next."""
        self._drain(timeout)
        out = []
        while self._order and self._order[0] in self._done:
            out.append(self._done.pop(self._order.pop(0)))
        return out

    def wait_all(self, timeout_s: float = 600.0) -> list[AsrResult]:
        deadline = time.monotonic() + timeout_s
        out: list[AsrResult] = []
        while self._order:
            if not self._proc.is_alive():
                raise RuntimeError(f"ASR worker died (exit code {self._proc.exitcode})")
            if time.monotonic() > deadline:
                raise TimeoutError(f"ASR worker: {len(self._order)} job(s) unfinished")
            out += self.poll(timeout=0.5)
        return out

    def _drain(self, timeout: float | None) -> None:
        block = bool(timeout)
        while True:
            try:
                item = self._results.get(block=block, timeout=timeout if block else None)
            except queue.Empty:
                return
            block = False
            if item == "ready":
                self._ready = True
            else:
                self._done[item.id] = item

    def close(self) -> None:
        if self._proc.is_alive():
            self._jobs.put(None)
            self._proc.join(timeout=5)
            if self._proc.is_alive():
                self._proc.terminate()
                self._proc.join(timeout=5)
        self._jobs.close()
        self._results.close()
