"""Cue lexicons for discourse acts (data in `lexicons/acts_<lang>.json`) and their matcher.

Text is cut into tokens: lower-case words for English, one character for Mandarin; "?" is a
token of its own and other punctuation only separates. A cue token "*" matches any one token
("还有 * 分钟"). Mandarin cues match the characters or their toneless pinyin, so a homophone
that ASR wrote with the wrong character (算 → 散) still matches; `unless` phrases match the
characters only (统一 must not mask 同意, though both read "tong yi").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

LEXICON_DIR = Path(__file__).parent / "lexicons"
_HANZI = re.compile(r"[\u3400-\u9fff]")
_TOKEN = re.compile(r"[\u3400-\u9fff]|[a-z0-9]+(?:['’][a-z]+)?|[?？*]")

Tokens = tuple[str, ...]


@lru_cache(maxsize=4096)
def _syllable(ch: str) -> str:
    from pypinyin import lazy_pinyin

    return str(lazy_pinyin(ch)[0])


@lru_cache(maxsize=4096)
def _toned(ch: str) -> str:
    from pypinyin import Style, lazy_pinyin

    return str(lazy_pinyin(ch, style=Style.TONE3, neutral_tone_with_five=True)[0])


@lru_cache(maxsize=4096)
def _initial(syllable: str) -> str:
    for ini in ("zh", "ch", "sh"):
        if syllable.startswith(ini):
            return ini
    return syllable[:1] if syllable[:1] not in "aeiouv" else ""


def tokens(text: str, language: str = "en") -> Tokens:
    """Match units of `text`: hanzi, lower-case words, '?' (and '*' in cues)."""
    return tuple(
        "?" if t == "？" else t
        for t in _TOKEN.findall(text.lower().replace("’", "'"))
    )


def pinyin(seq: Tokens) -> Tokens:
    """The same tokens with every hanzi replaced by its toneless pinyin syllable."""
    return tuple(_syllable(t) if _HANZI.fullmatch(t) else t for t in seq)


def toned(seq: Tokens) -> Tokens:
    """The same tokens with every hanzi replaced by its toned pinyin syllable (ti2)."""
    return tuple(_toned(t) if _HANZI.fullmatch(t) else t for t in seq)


def find_near(sounds: Tokens, cue: Tokens, masked: set[int] | None = None) -> int:
    """Like `find` on toned pinyin (`toned`), but one syllable of a cue of 3+ syllables may
    differ in its final as long as its initial is the same: base's near-homophones (排对
    for 排队 inside a longer cue). An inner syllable may change its tone too; an edge
    (first or last) syllable must keep its tone, and only in cues of 4+ syllables (左而言之
    zuo3 for 总而言之 zong3): on the scripts' own text an edited edge syllable of a shorter
    cue, or one with another tone, matched other words (你的看法 ni3 in 娜的看法 na4, 不一定
    in 备一定), and 我同意 (wo) must never read as 不同意 (bu): initials always match."""
    n = len(cue)
    plain = [c.rstrip("012345") for c in cue]
    for i in range(len(sounds) - n + 1):
        window = sounds[i : i + n]
        diff = [k for k in range(n) if cue[k] != "*" and plain[k] != window[k].rstrip("012345")]
        if len(diff) != 1 or (masked and masked.intersection(range(i, i + n))):
            continue
        k = diff[0]
        said, heard = plain[k], window[k].rstrip("012345")
        if not (_HANZI_SOUND.fullmatch(heard) and _initial(said)
                and _initial(said) == _initial(heard)):
            continue
        if 0 < k < n - 1 or (n >= 4 and cue[k][-1:] == window[k][-1:]):
            return i
    return -1


_HANZI_SOUND = re.compile(r"[a-zü]+")


def find(seq: Tokens, cue: Tokens, masked: set[int] | None = None) -> int:
    """Index of the first occurrence of `cue` in `seq` that avoids `masked` positions, or -1."""
    n = len(cue)
    for i in range(len(seq) - n + 1):
        if all(c == "*" or c == t for c, t in zip(cue, seq[i : i + n], strict=True)) and not (
            masked and masked.intersection(range(i, i + n))
        ):
            return i
    return -1


@dataclass(frozen=True)
class ActRule:
    kind: str
    cues: tuple[tuple[str, Tokens], ...]  #: (written cue, its tokens)
    unless: tuple[Tokens, ...]


@dataclass(frozen=True)
class Lexicon:
    language: str
    rules: tuple[ActRule, ...]
    group: tuple[Tokens, ...]  #: words addressing the whole group
    backchannel: frozenset[Tokens]

    def match(self, seq: Tokens) -> list[tuple[str, str, float]]:
        """(kind, cue, strength) for every act whose cue occurs in seq outside its `unless`
        phrases; strength 1 for the written cue, 0.9 for a toned-pinyin homophone, 0.8 for
        the same syllables with other tones, 0.6 for one syllable's final misheard."""
        sounds = pinyin(seq) if self.language == "zh" else seq
        hits = []
        for rule in self.rules:
            masked: set[int] = set()
            for phrase in rule.unless:
                i = find(seq, phrase)
                while i >= 0:
                    masked.update(range(i, i + len(phrase)))
                    i = find(seq, phrase, masked)
            best = 0.0
            best_cue = ""
            for written, cue in rule.cues:
                if find(seq, cue, masked) >= 0:
                    best, best_cue = 1.0, written
                    break
                if sounds is seq:
                    continue
                if best < 0.9 and find(toned(seq), toned(cue), masked) >= 0:
                    best, best_cue = 0.9, written  # a homophone, tones and all
                elif best < 0.8 and find(sounds, pinyin(cue), masked) >= 0:
                    best, best_cue = 0.8, written  # same syllables, other tones
                elif best < 0.6 and len(cue) >= 3 and find_near(toned(seq), toned(cue),
                                                               masked) >= 0:
                    best, best_cue = 0.6, written  # one syllable's final misheard
            if best:
                hits.append((rule.kind, best_cue, best))
        return hits

    def addresses_group(self, seq: Tokens) -> bool:
        return any(find(seq, g) >= 0 for g in self.group)


@lru_cache(maxsize=8)
def load_lexicon(language: str, directory: Path = LEXICON_DIR) -> Lexicon:
    """The act lexicon for a language ("zh" or "en"; others fall back to English)."""
    path = directory / f"acts_{language}.json"
    if not path.exists():
        path = directory / "acts_en.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    lang = doc["language"]

    def tok(s: str) -> Tokens:
        t = tokens(s, lang)
        if not t:
            raise ValueError(f"{path.name}: cue {s!r} has no matchable text")
        return t

    rules = tuple(
        ActRule(
            kind,
            tuple((c, tok(c)) for c in spec["cues"]),
            tuple(tok(u) for u in spec.get("unless", ())),
        )
        for kind, spec in doc["acts"].items()
    )
    return Lexicon(
        lang,
        rules,
        tuple(tok(g) for g in doc.get("group", ())),
        frozenset(tok(b) for b in doc.get("backchannel", ())),
    )
