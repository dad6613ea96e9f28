"""The act tagger on text: the scripted lines' own words give exactly their scripted acts,
and the rules behind that (negation, homophones, wildcards, addressees, novelty)."""

import json

import pytest

from core.events import FloorTaken, Turn, Utterance
from interaction.act_lexicon import load_lexicon
from interaction.acts import ActTagger
from interaction.config import ActConfig
from testkit.evaluate_content import score_acts
from testkit.synth.acts_lines import ACT_LINES, ACT_NAMES, parse_acts

EVALUATED = ("support", "challenge", "question", "guide", "time_keeping", "summary", "invite",
             "evidence", "build_on")


def tag_script(lang: str) -> tuple[list[dict], list[dict]]:
    names = list(ACT_NAMES[lang].items())
    tagger = ActTagger(names, lang)
    acts, truth, t = [], [], 0.0
    for who, text, spec in ACT_LINES[lang]:
        tagger.push(FloorTaken(who, t, None))
        u = Utterance(who, t, t + 3.0, text, (), lang)
        acts += [{"type": a.kind, "by": a.by, "to": a.to, "at": a.at} for a in tagger.push(u)]
        truth += [{"type": k, "by": who, "to": to, "at": t, "end": t + 3.0}
                  for k, to in parse_acts(spec)]
        tagger.push(Turn(who, t, t + 3.0))
        t += 4.0
    return acts, truth


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_script_text_gives_its_acts_and_addressees(lang):
    acts, truth = tag_script(lang)
    scores, found = score_acts(acts, truth)
    for kind in EVALUATED:
        s = scores[kind]
        assert (s.fp, s.fn) == (0, 0), (kind, s)
    wrong = [(t["type"], t["by"], t["to"], to) for t, to in found if t["to"] != to]
    assert not wrong


def _tag(lang, text, who="C", names=(("A", "张伟"), ("B", "李娜"), ("C", "刘洋")), floor="B",
         start=1.0, end=4.0, tagger=None):
    tagger = tagger or ActTagger(list(names), lang)
    tagger.push(FloorTaken(floor, 0.0, None))
    return [(a.kind, a.to) for a in tagger.push(Utterance(who, start, end, text, (), lang))]


def test_negated_agreement_is_a_challenge_not_support():
    assert ("challenge", "B") in _tag("zh", "我不同意，成本太高了。")
    assert "support" not in {k for k, _ in _tag("zh", "我不同意，成本太高了。")}
    en = _tag("en", "I don't really agree, the budget can wait.", names=(("B", "Alice"),))
    assert ("challenge", "B") in en and "support" not in {k for k, _ in en}


def test_homophones_from_asr_still_match_in_pinyin():
    # ASR wrote 张伟 as 章伟 and 同意 as 同义: same sounds, other characters.
    acts = _tag("zh", "我同义章伟的观点，很有道理。")
    assert ("support", "A") in acts
    # 统一 (tong yi, "unify") is not agreement.
    assert "support" not in {k for k, _ in _tag("zh", "我们统一一下结论吧。")}


def test_wildcard_time_cue_and_numbers_that_are_not_time_keeping():
    assert ("time_keeping", None) in _tag("zh", "还有五分钟，抓紧。")
    assert "time_keeping" not in {k for k, _ in _tag("zh", "周边网点排队超过二十分钟。")}
    en = _tag("en", "The queues there took twenty minutes.", names=(("B", "Alice"),))
    assert "time_keeping" not in {k for k, _ in en}


def test_addressee_named_else_previous_holder_else_group():
    names = (("A", "Ben"), ("B", "Alice"), ("C", "Tom"))
    assert ("invite", "A") in _tag("en", "Ben, what do you think?", names=names, floor="B")
    assert ("question", "B") in _tag("en", "Why is that?", names=names, floor="B")
    assert ("guide", None) in _tag("en", "Let's move on to staffing.", names=names, floor="B")
    # Nobody held the floor before: a question goes to the group.
    tagger = ActTagger(list(names), "en")
    u = Utterance("C", 0.0, 2.0, "Why is that?", (), "en")
    assert [(a.kind, a.to) for a in tagger.push(u)] == [("question", None)]


def test_backchannel_lexicon_marks_short_feedback():
    assert _tag("zh", "嗯", start=5.0, end=5.4) == [("backchannel", "B")]
    names = (("B", "Alice"), ("C", "Tom"))
    assert _tag("en", "Mm-hmm.", names=names, start=5.0, end=5.3) == [("backchannel", "B")]
    # The same word as a long utterance is not feedback.
    assert _tag("zh", "嗯", start=5.0, end=7.0) != [("backchannel", "B")]


def test_new_ideas_are_far_from_everything_said_before():
    tagger = ActTagger([("A", "Ben"), ("B", "Alice")], "en")
    kinds = []
    lines = [
        ("A", "Security has to come first for a bank branch in this district."),
        ("B", "Security must come first for any bank branch in the district."),
        ("A", "Opening until seven in the evening would help people who work."),
    ]
    for k, (who, text) in enumerate(lines):
        acts = tagger.push(Utterance(who, k * 5.0, k * 5.0 + 4, text, (), "en"))
        kinds.append({a.kind for a in acts})
    assert "new_idea" in kinds[0] and "new_idea" not in kinds[1] and "new_idea" in kinds[2]


def test_a_broken_lexicon_is_a_clear_error(tmp_path):
    doc = {"language": "en", "acts": {"support": {"cues": ["i agree", "!!!"]}}}
    (tmp_path / "acts_en.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="!!!"):
        load_lexicon("en", tmp_path)
    good = {"language": "en", "acts": {"support": {"cues": ["i concur"]}}}
    (tmp_path / "acts_en.json").write_text(json.dumps(good))
    load_lexicon.cache_clear()
    tagger = ActTagger([("A", "Ben"), ("B", "Al")], "en", ActConfig(lexicons=tmp_path))
    assert _tag("en", "I concur with Ben.", names=(("A", "Ben"), ("C", "X")), tagger=tagger) \
        == [("support", "A")]
    load_lexicon.cache_clear()


def test_an_edge_syllable_misheard_with_its_tone_kept_still_matches_a_long_cue():
    # base heard 总而言之 (zong3) as 左而言之 / 走而言之 (zuo3 / zou3): same initial, same tone
    for heard in ("左而言之，地铁附近最重要。", "走而言之，地铁附近最重要。"):
        assert ("summary", None) in _tag("zh", heard)
    # another initial is another word, and short cues keep their edges exact
    assert "summary" not in {k for k, _ in _tag("zh", "租而言之，地铁附近最重要。")}
    assert "support" not in {k for k, _ in _tag("zh", "我不同意，太贵了。")}
