"""The affect-analysis policy: what may be measured from candidates' voices and faces.

EU AI Act Art. 5(1)(f) prohibits inferring emotions of people at work or in hiring in the
EU; measuring observable behaviour (who speaks, a raised voice, a nod) is not the same as
inferring an emotion, but scoring "stress resilience" from it comes close. So every
deployment chooses, and every session may narrow it:

* ``off``     — no face analysis and no voice-affect measures at all; the dimensions that
  would rest on them (`AFFECT_DIMENSIONS`) are null with `null_reason()`.
* ``observe`` — observable cues (voice pitch/loudness/rate against the candidate's own
  baseline, face present, smile, nods…) are measured and shown to assessors, never scored.
* ``score``   — the same cues also feed the three dimensions.
"""

from __future__ import annotations

POLICIES = ("off", "observe", "score")
DEFAULT_POLICY = "off"  #: see README: lawful everywhere; deployments opt in explicitly
AFFECT_DIMENSIONS = ("stress_resilience", "emotional_stability", "rapport")

VOICE_SIGNALS = ("voice_pitch", "voice_loudness", "speech_rate", "pauses")
FACE_SIGNALS = ("face_present", "looking", "smile", "brow_tension", "jaw_tension",
                "head_nod", "head_shake", "blink_rate")


def check_policy(policy: str) -> str:
    if policy not in POLICIES:
        raise ValueError(f"affect analysis policy must be one of {', '.join(POLICIES)}, "
                         f"got {policy!r}")
    return policy


def resolve(deployment: str, session: str | None) -> str:
    """The session's policy: its own choice if it has one, else the deployment's."""
    return check_policy(session if session is not None else deployment)


def computes_affect(policy: str) -> bool:
    """Whether prosody/face stages run at all under `policy`."""
    return check_policy(policy) != "off"


def scores_affect(policy: str) -> bool:
    return check_policy(policy) == "score"


def signals(policy: str, video: bool) -> list[str]:
    """The signals analysed under `policy` (recorded in the report's `affect` section)."""
    if not computes_affect(policy):
        return []
    return list(VOICE_SIGNALS) + (list(FACE_SIGNALS) if video else [])


def null_reason(policy: str) -> str:
    """Why an affect dimension has no score under `policy` (report evidence detail)."""
    if policy == "off":
        return "affect analysis is off for this session (policy 'off'): voice and face not analysed"
    return "affect analysis policy 'observe': cues are shown to assessors but not scored"


_NOTICE = {
    "off": {
        "en": "This session measures only when and how much each participant speaks, what is "
              "said, and how participants respond to each other. Your face and the tone of "
              "your voice are not analysed.",
        "zh": "本场讨论只分析每位参与者何时发言、发言多少、发言内容以及彼此之间的互动。"
              "不会分析您的面部表情和语音语调。",
    },
    "observe": {
        "en": "Besides when and how much each participant speaks and what is said, this session "
              "measures observable voice features (pitch, loudness, speaking rate, compared "
              "with your own usual voice) and, if your camera is on, visible face and head cues "
              "(face present, looking at the screen, smiles, nods). Assessors see these cues; "
              "they are not turned into scores, and no emotion is inferred.",
        "zh": "除了发言时间、发言量和发言内容外，本场讨论还会测量可观察的语音特征（音高"
              "、音量、语速，与您自己平时的声音相比），以及在您开启摄像头时可见的面部和"
              "头部动作（是否在画面中、是否看向屏幕、微笑、点头）。评估人员可以看到这些"
              "信号，但不会据此打分，也不会推断您的情绪。",
    },
    "score": {
        "en": "Besides when and how much each participant speaks and what is said, this session "
              "measures observable voice features (pitch, loudness, speaking rate, compared "
              "with your own usual voice) and, if your camera is on, visible face and head cues "
              "(face present, looking at the screen, smiles, nods, frowning). These cues "
              "contribute to three assessed dimensions: composure when interrupted or "
              "challenged, steadiness over the discussion, and listening signals.",
        "zh": "除了发言时间、发言量和发言内容外，本场讨论还会测量可观察的语音特征（音高"
              "、音量、语速，与您自己平时的声音相比），以及在您开启摄像头时可见的面部和"
              "头部动作（是否在画面中、是否看向屏幕、微笑、点头、皱眉）。这些信号会计入"
              "三项评估维度：被打断或质疑时的沉着程度、整场讨论中的稳定程度，以及倾听他"
              "人时的回应信号。",
    },
}


def candidate_notice(policy: str, language: str = "zh") -> str:
    """What the candidate page states before joining: what is analysed under `policy`."""
    texts = _NOTICE[check_policy(policy)]
    return texts["zh" if language.startswith("zh") else "en"]
