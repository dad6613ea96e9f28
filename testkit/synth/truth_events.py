"""A scripted session's truth as pipeline events, in time order.

Unit-level input for the stages after the speech-activity core (graph, portraits): what a
perfect analyser would emit. `content=True` adds the script's Utterance and Act events
(the truth of the role script, roles.py), standing in for the ASR and act-tagger stages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.events import (
    Act,
    Backchannel,
    Event,
    Interruption,
    SpeechEnded,
    SpeechHorizon,
    Turn,
    Utterance,
)

if TYPE_CHECKING:
    from analysis.settings import Settings

    from .session import Session


def truth_events(truth: dict, language: str, content: bool = True) -> list[Event]:
    timed: list[tuple[float, int, Event]] = []
    for who, spans in truth["speech"].items():
        for a, b in spans:
            timed.append((b, 0, SpeechEnded(who, a, b)))
    turns = truth["turns"]
    for t, nxt in zip(turns, [*turns[1:], None], strict=True):
        # a turn is complete when the next holder takes the floor
        done = nxt["start"] if nxt else t["end"]
        timed.append((max(done, t["start"]), 1, Turn(t["who"], t["start"], t["end"])))
    for i in truth["interruptions"]:
        timed.append((i["at"] + 1.0, 2, Interruption(i["by"], i["of"], i["at"], i["successful"])))
    for b in truth["backchannels"]:
        timed.append((b["at"] + 0.8, 2, Backchannel(b["who"], b["at"], b["to"])))
    if content:
        for u in truth.get("transcript", []):
            timed.append((u["end"], 3, Utterance(u["who"], u["start"], u["end"], u["text"], (),
                                                 language)))
            for a in truth.get("acts", []):
                if a["by"] == u["who"] and a["at"] == u["start"]:
                    timed.append((u["end"], 4, Act(a["type"], a["by"], a["to"], a["at"],
                                                   a["text"], "script truth", 1.0)))
    timed.sort(key=lambda x: (x[0], x[1]))
    out: list[Event] = []
    for at, _, ev in timed:
        out.append(ev)
        out.append(SpeechHorizon(at))
    return out


def truth_report(session: Session, content: bool = True, settings: Settings | None = None
                 ) -> dict:
    """The `lgd.report/1` a perfect analyser would produce for a scripted session (unit-level
    input for portrait, export and dashboard tests; no audio analysis): the script's events
    fed to the driver, which runs the interaction stages on them."""
    import dataclasses

    from analysis.driver import Analysis
    from analysis.settings import Settings
    from core.session import SessionInfo

    s = settings or Settings()
    s = dataclasses.replace(s, asr=dataclasses.replace(s.asr, enabled=False))
    info = SessionInfo("truth", session.participants, session.language, "2026-11-25T00:00:00Z")
    analysis = Analysis(info, s)
    analysis.feed_events(truth_events(session.truth, session.language, content))
    analysis.finish()
    return analysis.report.build(session.duration_s)
