"""Erasing one candidate from a session (PIPL Art. 47, GDPR Art. 17), keeping the others'.

What goes: the candidate's recordings, their name (also where others said it), what they
said (transcript lines, acts), their voice and face measures, reactions, voice attributes,
portrait, fit, decision, group attributes, and every assessor's notes and ratings about
them. What stays: the group's timing (speech, turns, overlaps, interruptions, backchannels),
under an anonymous id, so the other candidates' reports keep their meaning and their schema.
The event log is rewritten the same way. The audit trail records the erasure by the
anonymous id alone.
"""

from __future__ import annotations

import re
from typing import Any

from core import codec
from core.events import Event
from server import versions
from server.recording import delete_media
from server.store import SessionStore

ERASED_NAME = "[erased]"
#: events that are the candidate's own content or measures: dropped whole
_OWN = {"Utterance": "who", "Act": "by", "ProsodyTurn": "who", "FaceCue": "who",
        "VoiceAttributes": "who", "Reaction": "who"}
#: report fields that are the candidate's own content
_OWN_ROWS = {"transcript": "who", "acts": "by", "reactions": "who"}
#: machine-written text that names candidates by id (evidence details, summaries)
_MACHINE_TEXT = ("detail", "summary", "basis", "reason")


class _Anon:
    def __init__(self, pid: str, anon: str, name: str) -> None:
        self.pid, self.anon = pid, anon
        self.name = re.compile(re.escape(name)) if len(name) >= 2 else None
        self.pid_word = re.compile(rf"(?<![\w-]){re.escape(pid)}(?![\w-])")

    def text(self, s: str, machine: bool) -> str:
        if s == self.pid:
            return self.anon
        if self.name is not None:
            s = self.name.sub(ERASED_NAME, s)
        return self.pid_word.sub(self.anon, s) if machine else s

    def walk(self, obj: Any, key: str = "") -> Any:
        if isinstance(obj, dict):
            return {(self.anon if k == self.pid else k): self.walk(v, k) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.walk(v, key) for v in obj]
        if isinstance(obj, str):
            return self.text(obj, key in _MACHINE_TEXT)
        return obj


def anonymous_id(existing: list[str]) -> str:
    n = 1
    while f"erased-{n}" in existing:
        n += 1
    return f"erased-{n}"


def erase_report(report: dict[str, Any], pid: str, anon: str, name: str) -> dict[str, Any]:
    out = dict(report)
    for field, who in _OWN_ROWS.items():
        out[field] = [r for r in report.get(field, []) if r.get(who) != pid]
    for field in ("portraits", "nonverbal"):
        out[field] = {p: v for p, v in report.get(field, {}).items() if p != pid}
    if "fairness" in report:
        out["fairness"] = {**report["fairness"], "attributes": {
            p: v for p, v in report["fairness"].get("attributes", {}).items() if p != pid}}
    if report.get("fit"):
        out["fit"] = {**report["fit"], "candidates": {
            p: v for p, v in report["fit"]["candidates"].items() if p != pid}}
    if report.get("recording", {}).get("segments"):  # their recordings are deleted
        out["recording"] = {**report["recording"], "segments": [
            g for g in report["recording"]["segments"] if g.get("who") != pid]}
    out["participants"] = [{"id": anon, "name": ERASED_NAME} if p["id"] == pid else p
                           for p in report["participants"]]
    out = _Anon(pid, anon, name).walk(out)
    out["erased"] = [*report.get("erased", []), anon]
    return out


def erase_events(events: list[Event], pid: str, anon: str, name: str) -> list[Event]:
    a = _Anon(pid, anon, name)
    out = []
    for ev in events:
        d = codec.to_dict(ev)
        if (field := _OWN.get(d["type"])) is not None and d.get(field) == pid:
            continue
        if d["type"] == "PortraitUpdate":
            for part in ("scores", "ranks", "portraits", "inputs"):
                d[part] = {p: v for p, v in d[part].items() if p != pid}
        out.append(codec.from_dict(a.walk(d)))
    return out


def erase_candidate(store: SessionStore, sid: str, pid: str) -> str:
    """Erase `pid` from ended session `sid` everywhere the store keeps it; the anonymous id
    that stands in their place."""
    rec = store.load(sid)
    names = dict(rec.participants)
    if pid not in names:
        raise KeyError(pid)
    anon = anonymous_id([p for p, _ in rec.participants])
    name = names[pid]
    events = store.events(sid)
    store.rewrite_events(sid, erase_events(events, pid, anon, name))
    report = store.report(sid)
    if report is not None:
        store.save_report(sid, erase_report(report, pid, anon, name))
    for v in versions.versions(store, sid)[1:]:  # the re-analyses
        again = versions.load(store, sid, v["version"])
        if again is not None:
            versions.save(store, sid, v["version"], erase_report(again, pid, anon, name))
    delete_media(store, sid, pid)  # their voice (and face): nothing of it is anonymous
    rec.participants = [(anon, ERASED_NAME) if p == pid else (p, n) for p, n in rec.participants]
    opts = rec.options
    for key in ("decisions",):
        opts.get(key, {}).pop(pid, None)
    if pid in opts.get("feedback_released", []):
        opts["feedback_released"].remove(pid)
    for a in opts.get("assessors", {}).values():
        a["candidates"] = [c for c in a["candidates"] if c != pid]
    store.save(rec)
    assessment = store.dir(sid) / "assessment.json"
    if assessment.exists():
        data = store.read_json(sid, assessment, "assessment")
        for notes in data["notes"].values():
            notes[:] = [n for n in notes if n.get("candidate") != pid]
        for mine in data["ratings"].values():
            mine.pop(pid, None)
        data["consensus"].pop(pid, None)
        store.write_json(sid, assessment, "assessment",
                         _Anon(pid, anon, name).walk(data))
    groups = store.root.parent / "groups" / f"{sid}.json"
    if groups.exists():
        kept = store.read_json(sid, groups, "groups")
        kept.pop(pid, None)
        store.write_json(sid, groups, "groups", kept)
    return anon
