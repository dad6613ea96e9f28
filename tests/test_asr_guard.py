"""The hallucination guard's rules on given segment statistics (no model: the statistics
are the input; tests/test_zh_natural.py runs it on real audio through Whisper)."""

from diarize.asr_guard import AsrSegment, drop_loops, fits_duration, keep_segment
from diarize.config import AsrConfig
from diarize.transcribe import normalize_text

CFG = AsrConfig()


def seg(logprob: float, no_speech: float, compression: float = 1.2) -> AsrSegment:
    return AsrSegment("可是", 0.0, 0.8, logprob, no_speech, compression)


def test_short_jobs_need_a_confident_segment_long_ones_only_whispers_own_rules():
    unsure = seg(CFG.short_min_logprob - 0.2, 0.1)
    assert not keep_segment(unsure, 0.8, CFG)
    assert keep_segment(unsure, 3.0, CFG)
    assert keep_segment(seg(-0.2, 0.05), 0.8, CFG)
    assert not keep_segment(seg(-0.2, CFG.short_max_no_speech + 0.1), 0.8, CFG)
    assert not keep_segment(seg(-1.5, 0.9), 5.0, CFG)  # Whisper's silence rule
    assert not keep_segment(seg(-0.2, 0.0, 3.0), 5.0, CFG)  # a loop compresses well
    sure, one_guess = (
        AsrSegment("可是", 0.0, 0.8, -0.5, 0.1, 1.0, (("可", 0.0, 0.4, 0.9), ("是", 0.4, 0.8, p)))
        for p in (0.8, 0.05)
    )
    assert keep_segment(sure, 0.8, CFG) and not keep_segment(one_guess, 0.8, CFG)
    assert keep_segment(one_guess, 3.0, CFG)


def test_a_short_job_holds_no_more_text_than_its_audio_could():
    assert fits_duration("我觉得", 0.6, "zh", CFG) and fits_duration("对对", 0.45, "zh", CFG)
    assert not fits_duration("您的意味方式", 0.25, "zh", CFG)
    assert fits_duration("您的意味方式", 2.0, "zh", CFG)  # a long job: not this rule's business
    assert not fits_duration("I think that we should", 0.5, "en", CFG)


def test_loops_collapse_and_echoed_clauses_go():
    assert drop_loops("这些东西，这些这些，这一些东西", "zh") == "这些东西"
    assert drop_loops("处处处处处处", "zh") == "处"
    assert drop_loops("the budget the budget the budget is fine", "en") == \
        "the budget is fine"
    for keep in ("对对", "谢谢大家的配合", "王芳，你能不能再说说停车场的情况？",
                 "还有两分钟，总的来说，地铁，停车场，六个员工"):
        assert drop_loops(keep, "zh") == keep.strip("？")


def test_normalize_text_gives_simplified_text_without_loops():
    assert normalize_text("這些東西，這些這些，這一些東西", "zh") == "这些东西"


def test_a_line_that_echoes_a_longer_line_said_at_the_same_time_is_dropped():
    from diarize.asr_guard import drop_echo, sounds

    holder = sounds("开始吧首先确定标准", "zh")  # the floor holder's words around the line
    # half or more of it is the holder's words (homophones too): bleed, dropped whole
    assert drop_echo("我们开始吧", holder, False, "zh") == ""
    assert drop_echo("我们开试吧", holder, False, "zh") == ""
    # a longer line sharing one word with it is kept: two people may say a word at once
    assert drop_echo("我觉得标准要先定下来", holder, False, "zh") == "我觉得标准要先定下来"
    # a short line goes with a single shared sound; with none it stays
    assert drop_echo("是吧", holder, True, "zh") == ""
    assert drop_echo("对对", holder, True, "zh") == "对对"
    assert drop_echo("yeah", sounds("yeah, we should go", "en"), True, "en") == ""
    assert drop_echo("对对", set(), True, "zh") == "对对"
