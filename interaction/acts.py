"""Discourse acts from the transcript: support, challenge, question, guide, time keeping,
summary, invite, evidence, build-on (lexicon rules) and new ideas (novelty).

`ActTagger.push(event)` takes `Utterance`s and the floor events; each utterance gets the
acts it performs and an addressee (`to`): a candidate named in it, else (for acts aimed
at people) the previous floor holder, else None (the group). Procedure acts (guide,
time keeping, summary) and lines that say "大家/everyone" go to the group unless a
candidate is named. The floor history is kept by time, so the addressee does not depend
on when ASR results arrive.
"""

from __future__ import annotations

import bisect
from pathlib import Path

from core.events import Act, Event, FloorTaken, Turn, Utterance
from interaction.act_lexicon import LEXICON_DIR, Tokens, find, load_lexicon, pinyin, tokens
from interaction.config import ActConfig
from interaction.novelty import NoveltyMeter

GROUP_KINDS = frozenset({"guide", "time_keeping", "summary", "new_idea", "evidence"})


class ActTagger:
    def __init__(
        self, participants: list[tuple[str, str]], language: str, cfg: ActConfig | None = None
    ) -> None:
        self.cfg = cfg or ActConfig()
        self.language = language
        self.lex = load_lexicon(language, Path(self.cfg.lexicons or LEXICON_DIR))
        self.names: list[tuple[str, Tokens]] = []
        for pid, name in participants:
            for alias in _aliases(name, self.lex.language):
                self.names.append((pid, tokens(alias, self.lex.language)))
        self.names.sort(key=lambda n: -len(n[1]))  # longest alias first
        self.floor_at: list[float] = []  # times the floor changed hands, ascending
        self.floor_who: list[str] = []
        self.novelty = NoveltyMeter(self.lex.language)

    def push(self, ev: Event) -> list[Event]:
        if isinstance(ev, FloorTaken):
            self._floor(ev.at, ev.who)
        elif isinstance(ev, Turn):
            self._floor(ev.start, ev.who)
        elif isinstance(ev, Utterance):
            return list(self.tag(ev))
        return []

    def flush(self) -> list[Event]:
        return []

    def tag(self, u: Utterance) -> list[Act]:
        seq = tokens(u.text, self.lex.language)
        if not seq:
            return []
        named = self._named(seq, u.who)
        group = self.lex.addresses_group(seq)
        previous = self._previous_holder(u.start, u.who)

        def act(kind: str, cue: str, strength: float) -> Act:
            if named is not None:
                to = named
            elif group or kind in GROUP_KINDS:
                to = None
            else:
                to = previous
            # a misheard phrase weighs what the ASR believed of it (typed text: 1.0)
            return Act(kind, u.who, to, u.start, u.text, cue, round(strength * u.confidence, 2))

        if seq in self.lex.backchannel and u.end - u.start <= self.cfg.backchannel_max_s:
            return [act("backchannel", u.text, 1.0)]
        if u.end - u.start < self.cfg.min_act_s:
            return []
        hits = self.lex.match(seq)
        kinds = {k for k, _, _ in hits}
        if named is not None and "question" in kinds and "invite" not in kinds:
            # a question put to a candidate by name hands them the floor
            hits.append(("invite", "named question", 0.8))
        acts = [act(kind, cue, strength) for kind, cue, strength in hits]
        score = self.novelty.novelty(u.text)
        if self._long_enough(seq) and score >= self.cfg.novelty_min:
            acts.append(act("new_idea", f"novelty {score:.2f}", score))
        return acts

    # --- helpers ----------------------------------------------------------------------
    def _long_enough(self, seq: Tokens) -> bool:
        n = sum(t != "?" for t in seq)
        if self.lex.language == "zh":
            return n >= self.cfg.novelty_min_chars_zh
        return n >= self.cfg.novelty_min_words_en

    def _named(self, seq: Tokens, speaker: str) -> str | None:
        best: tuple[int, str] | None = None
        sounds = pinyin(seq) if self.lex.language == "zh" else seq
        for pid, alias in self.names:
            if pid == speaker:
                continue
            if self.lex.language == "zh":
                i = find(sounds, pinyin(alias))
            else:
                i = find_name(seq, alias)
            if i >= 0 and (best is None or i < best[0]):
                best = (i, pid)
        return best[1] if best else None

    def _floor(self, at: float, who: str) -> None:
        k = bisect.bisect_right(self.floor_at, at)
        if k > 0 and self.floor_at[k - 1] == at and self.floor_who[k - 1] == who:
            return  # the FloorTaken and the Turn of one holding
        self.floor_at.insert(k, at)
        self.floor_who.insert(k, who)

    def _previous_holder(self, at: float, speaker: str) -> str | None:
        """The last candidate other than `speaker` who took the floor before `at`."""
        k = bisect.bisect_right(self.floor_at, at + 0.5)  # the floor may be taken late
        for j in range(k - 1, -1, -1):
            if self.floor_who[j] != speaker:
                return self.floor_who[j]
        return None


def find_name(seq: Tokens, alias: Tokens) -> int:
    """Like `find`, but a word of 4+ letters may differ by one edit (ASR spells names
    its own way: Sara/Sarah, Chloe/Cloe)."""
    n = len(alias)
    for i in range(len(seq) - n + 1):
        if all(_close(a, t) for a, t in zip(alias, seq[i : i + n], strict=True)):
            return i
    return -1


def _close(a: str, b: str) -> bool:
    if a == b:
        return True
    if min(len(a), len(b)) < 4 or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long_ = sorted((a, b), key=len)
    return any(long_[:k] + long_[k + 1 :] == short for k in range(len(long_)))


def _aliases(name: str, language: str) -> list[str]:
    """How a candidate may be called: full name; Chinese two-character given name of a
    three-character name; English first name."""
    name = name.strip()
    out = [name]
    if language == "zh" and len(name) == 3:
        out.append(name[1:])
    if language != "zh" and " " in name:
        out.append(name.split()[0])
    return out
