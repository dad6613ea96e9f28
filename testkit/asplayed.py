"""A live run scored against what the browsers really played: each browser opens its fake
microphone at its own moment, so the script's truth and `lgd analyze`'s input are each
track delayed by that moment (relative to the first), for comparing the live report with
the offline one on the same audio (issue 12, "live equals offline")."""

from __future__ import annotations

from typing import Any

import numpy as np

from analysis.driver import SessionInfo, analyze
from media.frames import iter_blocks
from testkit.evaluate import backchannel_f1, share_error_pp, speech_score


async def offline_as_played(session: Any, offsets: dict[str, float], language: str) -> dict:
    """`lgd analyze` on the session's tracks as played: each delayed by its browser's
    microphone start (`offsets`, session s) relative to the first; the report's
    `time_origin` is the session time of its t=0."""
    ids = [pid for pid, _ in session.participants]
    first = min(offsets.values())
    delayed = [np.concatenate([np.zeros(int((offsets[p] - first) * 16000), np.float32),
                               session.tracks[p]]) for p in ids]
    n = max(len(x) for x in delayed)
    samples = np.stack([np.pad(x, (0, n - len(x))) for x in delayed]).astype(np.float32)
    info = SessionInfo("offline", session.participants, language, "2026-01-01T00:00:00Z")

    async def blocks():  # type: ignore[no-untyped-def]
        for _, b in iter_blocks(samples):
            yield b

    report = await analyze(info, blocks())
    report["time_origin"] = first
    return report


def live_vs_offline(session: Any, live: dict, offline: dict,
                    offsets: dict[str, float]) -> dict[str, float]:
    """Speech error of each report against the script moved as played, share errors, and
    backchannels found live that are in nobody's script (phantoms) per candidate-minute."""
    truth, first = session.truth, offline["time_origin"]

    def moved(by: dict[str, float]) -> dict[str, list[list[float]]]:
        return {p: [[s + by[p], e + by[p]] for s, e in spans]
                for p, spans in truth["speech"].items()}

    as_played = {p: offsets[p] - first for p in offsets}
    script_bcs = [dict(b, at=b["at"] + offsets[b["who"]]) for b in truth["backchannels"]]
    found = backchannel_f1(live["backchannels"], script_bcs)
    minutes = live["session"]["duration_s"] / 60
    return {
        "speech_error_live": speech_score(live["speech"], moved(offsets),
                                          live["session"]["duration_s"]).error,
        "speech_error_offline": speech_score(offline["speech"], moved(as_played),
                                             offline["session"]["duration_s"]).error,
        "share_error_live_pp": share_error_pp(live["speaking_share"], truth["speaking_share"]),
        "share_error_offline_pp": share_error_pp(offline["speaking_share"],
                                                 truth["speaking_share"]),
        "phantom_backchannels_per_candidate_min":
            (found.n_pred - found.tp) / (len(offsets) * minutes),
    }
