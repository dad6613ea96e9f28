"""The committed natural Mandarin clips: their text is the scripts' text, every clip is there
and decodes, and the tune and test sets share no voice and no turn line."""

from testkit.zhspeech import build_manifest, clips, load_clip, manifest


def test_manifest_is_the_scripts_text():
    # a script edited without re-running make_clips.py would leave clips that say old text
    assert list(manifest()) == build_manifest()


def test_every_clip_decodes_to_speech_of_a_plausible_length():
    for c in manifest():
        x = load_clip(c["id"])
        seconds = len(x) / 16000
        chars = sum("\u4e00" <= ch <= "\u9fff" for ch in c["text"])
        # natural Mandarin: ~3-7 characters per second (tempo shifts 0.9-1.15)
        assert 0.12 * chars <= seconds <= 0.5 * chars + 0.3, (c, seconds)
        assert 0.1 < float(abs(x).max()) <= 1.0, c


def test_tune_and_test_sets_are_disjoint():
    tune, test = clips("tune"), clips("test")
    assert {c["voice"] for c in tune}.isdisjoint({c["voice"] for c in test})
    assert {c["text"] for c in tune}.isdisjoint({c["text"] for c in test})
    assert len(test) == 29 and len(tune) >= 25
