"""Which waiting ASR jobs share one encoder window (diarize/asr_worker.take_pack)."""

from collections import deque

import numpy as np

from diarize.asr_worker import AsrJob, take_pack
from diarize.config import AsrConfig

CFG = AsrConfig(pack_s=10.0, pack_gap_s=1.0, short_s=1.0)


def _job(k: int, seconds: float, language: str = "zh") -> AsrJob:
    audio = np.zeros(int(seconds * 16000), np.float32)
    return AsrJob(k, "A", 0.0, audio, language, (0.0, seconds))


def test_a_pack_holds_what_fits_oldest_first():
    waiting = deque([_job(0, 3.0), _job(1, 4.0), _job(2, 3.0)])  # 4 + 5 + 4 s with the gaps
    assert [j.id for j in take_pack(waiting, CFG, full=False) or []] == [0, 1]
    assert [j.id for j in waiting] == [2]


def test_offline_waits_for_a_full_pack_until_the_flush():
    waiting = deque([_job(0, 3.0), _job(1, 2.0)])
    assert take_pack(waiting, CFG, full=True) is None and len(waiting) == 2  # may grow
    waiting.append(_job(2, 6.0))  # does not fit: the first two are a full pack
    assert [j.id for j in take_pack(waiting, CFG, full=True) or []] == [0, 1]
    assert take_pack(waiting, CFG, full=True) is None
    assert [j.id for j in take_pack(waiting, CFG, full=False) or []] == [2]  # the flush
    assert take_pack(waiting, CFG, full=False) is None


def test_short_tokens_are_not_packed_among_themselves():
    waiting = deque([_job(0, 0.5), _job(1, 0.6), _job(2, 0.4)])
    assert [j.id for j in take_pack(waiting, CFG, full=False) or []] == [0]
    waiting.append(_job(3, 2.0))  # a real turn: the short ones go with it
    assert [j.id for j in take_pack(waiting, CFG, full=False) or []] == [1, 2, 3]


def test_languages_are_not_mixed_and_packing_can_be_switched_off():
    waiting = deque([_job(0, 2.0, "zh"), _job(1, 2.0, "en")])
    assert [j.id for j in take_pack(waiting, CFG, full=False) or []] == [0]
    off = AsrConfig(pack_s=0.0)
    waiting = deque([_job(0, 2.0), _job(1, 2.0)])
    assert [j.id for j in take_pack(waiting, off, full=False) or []] == [0]


def test_a_word_belongs_to_the_job_it_overlaps_most():
    from diarize.asr_worker import _owner

    spans = [(0.0, 2.0), (3.0, 5.0), (6.0, 6.5)]
    assert _owner(spans, 1.5, 1.9) == 0
    assert _owner(spans, 2.0, 3.4) == 1  # stretched back over the gap: the job it reaches
    assert _owner(spans, 1.8, 3.1) == 0  # more of it in job 0
    assert _owner(spans, 5.2, 5.5) == 1 and _owner(spans, 5.6, 5.9) == 2  # in a gap: nearest


def test_the_encoder_window_fits_the_job_and_short_jobs_keep_the_full_one():
    from diarize.asr_worker import encoder_frames

    cfg = AsrConfig(window_margin_s=5.0)
    assert encoder_frames(cfg, 3 * 16000) == 1000  # 3 s + 5 s -> 10 s
    assert encoder_frames(cfg, int(5.5 * 16000)) == 1500  # 10.5 s -> 15 s
    assert encoder_frames(cfg, 27 * 16000) == 3000  # never past Whisper's 30 s
    assert encoder_frames(cfg, int(0.7 * 16000), short=True) == 3000
    assert encoder_frames(AsrConfig(window_margin_s=0.0), 3 * 16000) == 3000  # switched off


def test_live_a_turns_last_text_goes_before_waiting_partials():
    from dataclasses import replace

    from diarize.asr_worker import urgent_first

    waiting = deque([_job(0, 6.0), _job(1, 7.0), replace(_job(2, 2.0), urgent=True),
                     replace(_job(3, 3.0), urgent=True)])
    urgent_first(waiting)
    assert [j.id for j in waiting] == [2, 0, 1, 3]  # the oldest urgent one; the rest in order
    urgent_first(waiting)
    assert [j.id for j in waiting] == [2, 0, 1, 3]
    partials = deque([_job(0, 6.0), _job(1, 7.0)])
    urgent_first(partials)
    assert [j.id for j in partials] == [0, 1]


def test_a_withdrawn_job_is_not_decoded_if_it_still_waits():
    from diarize.asr_worker import Cancel, _take

    waiting: deque[AsrJob] = deque()
    for k in range(3):
        _take(_job(k, 2.0), waiting)
    _take(Cancel(1), waiting)
    _take(Cancel(7), waiting)  # answered already, or never sent: nothing to do
    assert [j.id for j in waiting] == [0, 2]
