"""The ASR worker process: faster-whisper runs here, never on the audio path or event loop.

One process per pipeline (ctranslate2 already uses both cores for one chunk; two models
would only contend). Jobs go in over a queue; offline they are decoded in submission order,
live an urgent job (a turn's last text) goes before the partials waiting with it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing as mp
import os
import queue
import time
from collections import deque
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from core.child import ignore_sigint, start_child
from core.clock import SAMPLE_RATE
from diarize.asr_guard import AsrSegment, count_units
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
    #: a turn's last text (its speaker fell silent): live, decoded before waiting partials
    urgent: bool = False


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


def _decode(model: Any, cfg: AsrConfig, audio: np.ndarray, language: str, packed: bool,
            short: bool = False) -> tuple[list[AsrSegment], str]:
    """audio: (n,) float32 16 kHz → the segments, with word timings relative to audio[0].
    `short`: a job of less than `short_s` of speech, decoded on the full 30 s window."""
    prompt = cfg.prompt_zh if language == "zh" else cfg.prompt_en
    _fit_window(model, encoder_frames(cfg, len(audio), short))
    segments, info = model.transcribe(
        audio,
        language=language or None,  # the session's language: auto-detect errs on weak audio
        beam_size=cfg.beam_size,
        temperature=0.0,
        word_timestamps=cfg.word_timestamps or packed,
        initial_prompt=prompt or None,
        # each job stands alone: no earlier text as context, so a short backchannel is never
        # decoded behind a long prompt it could continue
        condition_on_previous_text=False,
        vad_filter=False,  # the speech-activity stage already cut the speech
        # base loops on unclear Mandarin ("处处处处…", 30 s of it): no 3-gram twice, and no
        # more tokens than fast speech could fill. In a pack the rule would also forbid one
        # candidate repeating another's words ("我同意"), so there only the budget holds.
        no_repeat_ngram_size=0 if packed else 3,
        max_new_tokens=int(20 + 12 * len(audio) / SAMPLE_RATE),
    )
    segs: list[AsrSegment] = []
    for seg in segments:
        words = tuple((w.word, float(w.start), float(w.end), float(w.probability))
                      for w in seg.words or ())
        segs.append(AsrSegment(seg.text, float(seg.start), float(seg.end),
                               float(seg.avg_logprob), float(seg.no_speech_prob),
                               float(seg.compression_ratio), words))
    return segs, info.language


FRAMES_PER_S = 100  #: Whisper's mel frames per second (hop 10 ms); 3000 = its 30 s window


def encoder_frames(cfg: AsrConfig, n_samples: int, short: bool = False) -> int:
    """Mel frames the encoder runs on for `n_samples` of audio (see `window_margin_s`).
    A short job (a backchannel, a cut-off interjection) keeps the full window: the
    hallucination guard's thresholds were read off its statistics there, and on the tune
    voices' short tokens the shorter window changed what base heard (好 -> "Thank", 但是 ->
    读读; benchmarks/asr.py settings, short tokens)."""
    if cfg.window_margin_s <= 0 or short:
        return 30 * FRAMES_PER_S
    seconds = 5.0 * math.ceil((n_samples / SAMPLE_RATE + cfg.window_margin_s) / 5.0)
    return int(min(30.0, seconds) * FRAMES_PER_S)


def _fit_window(model: Any, frames: int) -> None:
    """Make the model's encoder run on the first `frames` of its padded 30 s window.

    faster-whisper pads every window's features to 3000 frames (`pad_or_trim`) before its
    `encode`; the wrapper cuts them back. The decoder, timestamps and word alignment read
    the encoder's output at its own length, and the audio never reaches past `frames`."""
    if not hasattr(model, "lgd_frames"):
        full_encode = model.encode

        def encode(features: np.ndarray) -> Any:
            if features.ndim == 2:
                features = features[None]
            return full_encode(np.ascontiguousarray(features[:, :, : model.lgd_frames]))

        model.encode = encode
    model.lgd_frames = frames


def _result(job: AsrJob, segs: list[AsrSegment], language: str, wall: float, cpu: float
            ) -> AsrResult:
    text = "".join(s.text for s in segs).strip()
    return AsrResult(job.id, text, tuple((w, a, b) for s in segs for w, a, b, _ in s.words),
                     language, wall, cpu, None, tuple(segs))


def _transcribe(model: Any, cfg: AsrConfig, job: AsrJob) -> AsrResult:
    started, cpu0 = time.perf_counter(), time.process_time()
    segs, language = _decode(model, cfg, job.audio, job.language, packed=False,
                             short=job.span[1] - job.span[0] < cfg.short_s)
    return _result(job, segs, language, time.perf_counter() - started,
                   time.process_time() - cpu0)


def _transcribe_packed(model: Any, cfg: AsrConfig, jobs: list[AsrJob]) -> list[AsrResult]:
    """Several jobs in one 30 s encoder window: Whisper's encoder always runs on a padded
    30 s window, so short jobs one by one pay it each time (~2 CPU-s here) and that, not the
    speech, sets the load. The jobs are laid end to end with `pack_gap_s` of silence between
    them and decoded once; each word goes back to the job whose stretch holds its middle
    (the gaps are split halfway), and each job's segments keep their statistics for the
    hallucination guard. The cost is shared by the jobs in proportion to their length."""
    if len(jobs) == 1:
        return [_transcribe(model, cfg, jobs[0])]
    started, cpu0 = time.perf_counter(), time.process_time()
    gap = np.zeros(int(cfg.pack_gap_s * SAMPLE_RATE), np.float32)
    pieces, starts, t = [], [], 0.0
    for job in jobs:
        starts.append(t)
        pieces += [job.audio, gap]
        t += (len(job.audio) + len(gap)) / SAMPLE_RATE
    segs, language = _decode(model, cfg, np.concatenate(pieces[:-1]), jobs[0].language,
                             packed=True)
    spans = [(a, a + len(j.audio) / SAMPLE_RATE) for a, j in zip(starts, jobs, strict=True)]
    parts: list[list[AsrSegment]] = [[] for _ in jobs]
    for seg in segs:
        by_job: dict[int, list[tuple[str, float, float, float]]] = {}
        for w in seg.words:
            k = _owner(spans, w[1], w[2])
            a, b = spans[k]
            # Whisper stretches the first word after a silence back over it: keep the word
            # inside its job's audio
            by_job.setdefault(k, []).append((w[0], min(max(w[1], a), b) - a,
                                             min(max(w[2], a), b) - a, w[3]))
        for k, words in by_job.items():
            parts[k].append(AsrSegment(
                "".join(w for w, *_ in words), words[0][1], words[-1][2], seg.avg_logprob,
                seg.no_speech_prob, seg.compression_ratio, tuple(words)))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
    total = sum(len(j.audio) for j in jobs)
    out = [_result(job, part, language, wall * len(job.audio) / total,
                   cpu * len(job.audio) / total) for job, part in zip(jobs, parts, strict=True)]
    # Whisper sometimes jumps its timestamps over whole turns of a pack (seen: four of six
    # 3-5 s turns came back empty, the rest right; a 3.9 s turn as one character). A job
    # with a second or more of speech and (almost) no word was skipped, not silent: the
    # skipped jobs are decoded again together (alone once only one is left), so a pack
    # never loses a turn.
    missed = [k for k, (job, part) in enumerate(zip(jobs, parts, strict=True))
              if job.span[1] - job.span[0] >= cfg.short_s
              and count_units("".join(s.text for s in part), job.language)
              < cfg.pack_min_units_per_s * (job.span[1] - job.span[0])]
    if missed:
        again = ([jobs[k] for k in missed] if len(missed) < len(jobs) else [])
        redo = (_transcribe_packed(model, cfg, again) if again
                else [_transcribe(model, cfg, jobs[k]) for k in missed])
        for k, r in zip(missed, redo, strict=True):
            out[k] = replace(r, compute_s=r.compute_s + out[k].compute_s,
                             cpu_s=r.cpu_s + out[k].cpu_s)
    return out


FLUSH = "flush"  #: from the client: decode what waits now, full pack or not (session end)


@dataclass(frozen=True, slots=True)
class Cancel:
    """From the client: the job is no longer wanted (a speculative job whose speaker went
    on); dropped if it still waits, its answer ignored if it was decoded already."""

    id: int


def urgent_first(waiting: deque[AsrJob]) -> None:
    """Live: the oldest urgent job (a turn's last text) to the front, so a turn end does not
    wait behind other candidates' partials (their text is shown as it comes; acts are
    tagged in job order by the Transcriber whatever the decoding order)."""
    k = next((i for i, j in enumerate(waiting) if j.urgent), 0)
    if k:
        job = waiting[k]
        del waiting[k]
        waiting.appendleft(job)


def take_pack(waiting: deque[AsrJob], cfg: AsrConfig, full: bool) -> list[AsrJob] | None:
    """The next jobs to decode together, oldest first, up to `pack_s` of audio with the gaps;
    None when nothing waits, or while `full` is asked for and the waiting jobs do not fill a
    pack yet. A pack of short jobs only (backchannels, cut-off interjections) is decoded one
    job at a time: Whisper dropped or invented words among such tokens, and heard them
    better beside real turns (benchmarks/asr.py packing)."""
    pack: list[AsrJob] = []
    length = 0.0
    for job in waiting:
        d = len(job.audio) / SAMPLE_RATE + cfg.pack_gap_s
        if pack and (length + d > cfg.pack_s or job.language != pack[0].language):
            break
        pack.append(job)
        length += d
    else:
        if full or not pack:
            return None  # the next job may still fit
    if not any(j.span[1] - j.span[0] >= cfg.short_s for j in pack):
        pack = pack[:1]
    for _ in pack:
        waiting.popleft()
    return pack


def _owner(spans: list[tuple[float, float]], a: float, b: float) -> int:
    """The job whose audio overlaps the word [a, b] most; for a word in a gap, the nearest."""
    overlap = [min(b, e) - max(a, s) for s, e in spans]
    k = max(range(len(spans)), key=overlap.__getitem__)
    if overlap[k] > 0:
        return k
    return min(range(len(spans)), key=lambda i: max(spans[i][0] - b, a - spans[i][1]))


def serve(model_dir: str, cfg_fields: dict, fill: bool, jobs: mp.Queue, results: mp.Queue
          ) -> None:
    """Worker main: load once, then answer jobs until a None arrives.

    Live (`fill` False): whatever waits when the model is free is packed and decoded;
    packing never waits for more. Offline (`fill` True): each pack is filled before it is
    decoded, so the same input gives the same packs, hence the same transcript, whatever
    the machine's speed; `FLUSH` (the session's end) decodes the last, partial pack."""
    from diarize.asr_model import load_whisper

    ignore_sigint()  # the process that started it stops it (core.child)
    cfg = AsrConfig(**cfg_fields)
    # Transcripts may lag; live audio analysis and the media relay may not: the worker
    # yields the CPU to them.
    os.nice(cfg.nice)
    # no more threads than the cores this process may run on: with the server pinned to
    # one core (taskset), a second thread only waits its turn, and costs 9 % more CPU per
    # job there (benchmarks/asr.py profile, 2 threads vs 1 on one core)
    threads = max(1, min(cfg.threads, len(os.sched_getaffinity(0))))
    model = load_whisper(Path(model_dir), threads, cfg.compute_type)
    results.put("ready")
    waiting: deque[AsrJob] = deque()
    closing = flushing = False
    while True:
        if not fill and not closing:  # gather what is queued, or on its way
            while (item := _get_soon(jobs)) is not _EMPTY:
                if item is None:
                    closing = True
                    break
                _take(item, waiting)
            urgent_first(waiting)
        pack = take_pack(waiting, cfg, full=fill and not (flushing or closing))
        if pack is None:
            flushing = False  # a flush is done once nothing waits
            if closing:
                break
            item = jobs.get()
            if item is None:
                closing = True
            elif item == FLUSH:
                flushing = True
            else:
                _take(item, waiting)
            continue
        try:
            answers = _transcribe_packed(model, cfg, pack)
        except Exception as exc:  # a bad chunk must not kill the session's transcript
            answers = [AsrResult(j.id, "", (), j.language, 0.0, 0.0, repr(exc)) for j in pack]
        for r in answers:
            results.put(r)


_EMPTY = object()


def _take(item: Any, waiting: deque[AsrJob]) -> None:
    """A job, or a cancellation of one, from the client (FLUSH is handled by the caller)."""
    if isinstance(item, Cancel):
        for job in waiting:
            if job.id == item.id:
                waiting.remove(job)
                break
    elif isinstance(item, AsrJob):
        waiting.append(item)


#: Live, jobs queued together are gathered until none has come for this long: a job of a
#: few seconds of audio is hundreds of kB, more than a pipe holds, so the client's feeder
#: thread is still writing the next one when the worker has read the first, and a turn's
#: end queued behind a partial would otherwise not be seen before the partial is decoded.
GATHER_S = 0.03


def _get_soon(q: mp.Queue) -> Any:
    try:
        return q.get(timeout=GATHER_S)
    except queue.Empty:
        return _EMPTY


class AsrWorker:
    """Client side: `submit` never blocks; `poll` returns finished results in job order
    (`ordered=False`: as they are answered); `cancel` withdraws a job.

    A worker that dies (killed, out of memory, a crash inside the model) is started again
    and given back the jobs it had not answered, at most `MAX_RESTARTS` times per session;
    after that every unanswered job comes back as an error result. The transcript then
    has gaps, said in the errors, but the session's analysis and report go on.
    """

    MAX_RESTARTS = 2

    def __init__(self, model_dir: Path, cfg: AsrConfig, fill: bool = True) -> None:
        self._ctx = mp.get_context("spawn")  # no fork: the parent runs onnxruntime/numba threads
        self._model_dir = model_dir
        self._fill = fill  # offline: full packs only, until a flush (see `serve`)
        self._flushing = False
        self._fields = {k: v for k, v in asdict(cfg).items()}
        self._done: dict[int, AsrResult] = {}
        self._order: list[int] = []
        self._unanswered: dict[int, AsrJob] = {}  # submitted, no result yet: resent on restart
        self._cancelled: set[int] = set()  # withdrawn; an answer still on its way is dropped
        self.wasted_cpu_s = 0.0  # CPU the worker spent on jobs withdrawn too late
        self.wasted_jobs = 0
        self.restarts = 0
        self.failure: str | None = None  # why the worker is given up on
        self._start()

    def _start(self) -> None:
        self._jobs: mp.Queue = self._ctx.Queue()
        self._jobs.cancel_join_thread()  # exit must not wait on jobs for a dead process
        self._results: mp.Queue = self._ctx.Queue()
        self._proc = self._ctx.Process(
            target=serve,
            args=(str(self._model_dir), self._fields, self._fill, self._jobs, self._results),
            name="lgd-asr",
            daemon=True,
        )
        start_child(self._proc)

    # A snapshot (analysis/snapshot.py) carries the jobs in flight, audio and all, and the
    # results not yet given out; never the process, its queues or the model. Restored, the
    # worker is started again and given the unanswered jobs, as after a crash (below).
    _RUNTIME = ("_ctx", "_jobs", "_results", "_proc")

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in self._RUNTIME}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._ctx = mp.get_context("spawn")
        if self.failure is not None:  # given up on before: its jobs were answered as failures
            self._jobs = self._results = None  # type: ignore[assignment]
            self._proc = None  # type: ignore[assignment]
            return
        self._start_again()

    def submit(self, job: AsrJob) -> None:
        self._order.append(job.id)
        if self.failure is not None:
            self._done[job.id] = _failed(job, self.failure)
            return
        self._unanswered[job.id] = job
        self._jobs.put(job)

    def cancel(self, job_id: int) -> None:
        """Withdraw a submitted job that has not been given out: it is not decoded if it
        still waits, and its result, if one comes, is dropped."""
        if job_id in self._order:
            self._order.remove(job_id)
        self._done.pop(job_id, None)
        if self._unanswered.pop(job_id, None) is not None and self.failure is None:
            self._cancelled.add(job_id)
            self._jobs.put(Cancel(job_id))

    def poll(self, timeout: float | None = 0.0, ordered: bool = True) -> list[AsrResult]:
        """Finished results, oldest job first; with a timeout, wait that long for the next.
        `ordered=False`: every finished result, a later job's before an earlier one's."""
        self._drain(timeout)
        self._check_alive()
        out = []
        if not ordered:
            for k in sorted(self._done):
                self._order.remove(k)
                out.append(self._done.pop(k))
            return out
        while self._order and self._order[0] in self._done:
            out.append(self._done.pop(self._order.pop(0)))
        return out

    def wait_all(self, timeout_s: float = 600.0, ordered: bool = True) -> list[AsrResult]:
        """Every result still owed (the session ends: the last pack goes partly filled)."""
        if self.failure is None and self._unanswered:
            self._jobs.put(FLUSH)
        self._flushing = True
        deadline = time.monotonic() + timeout_s
        out: list[AsrResult] = []
        while self._order:
            if time.monotonic() > deadline:
                raise TimeoutError(f"ASR worker: {len(self._order)} job(s) unfinished")
            out += self.poll(timeout=0.5, ordered=ordered)
        self._flushing = False
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
        self._start_again()

    def _start_again(self) -> None:
        """A new worker process, given every job the old one (dead, or left out of a
        snapshot) had not answered."""
        self._start()
        for job in self._unanswered.values():  # in submission order (dicts keep it)
            self._jobs.put(job)
        if self._flushing:
            self._jobs.put(FLUSH)

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
            if item == "ready":
                continue
            if self._unanswered.pop(item.id, None) is not None:
                self._done[item.id] = item
            elif item.id in self._cancelled:  # decoded before the cancellation arrived
                self._cancelled.discard(item.id)
                self.wasted_cpu_s += item.cpu_s
                self.wasted_jobs += 1

    def _discard_queues(self) -> None:
        # a dead reader must not keep this process from exiting: the feeder thread of a
        # queue with unsent jobs would wait for it forever
        for q in (self._jobs, self._results):
            if q is None:  # restored after it was given up on: never started
                continue
            with contextlib.suppress(ValueError):  # closed already
                q.cancel_join_thread()
                q.close()

    def close(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            self._jobs.put(None)
            self._proc.join(timeout=5)
            if self._proc.is_alive():
                self._proc.terminate()
                self._proc.join(timeout=5)
        self._discard_queues()


def _failed(job: AsrJob, why: str) -> AsrResult:
    return AsrResult(job.id, "", (), job.language, 0.0, 0.0, why)
