"""A generated hiring campaign: ended sessions with reports, for campaign-view tests.

One scripted session's truth report is the template; each generated session gets its own
id and date, a job profile (cycling through the given ones) and scores drawn around the
template's, then its overall fit computed by `hr.fit` as the server does at the end.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from hr.fit import with_fit
from hr.profiles import find_profile


def generated_sessions(template: dict[str, Any], n: int, roles: list[str], seed: int = 0
                       ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(record JSON, report) of `n` ended sessions."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        report = copy.deepcopy(template)
        sid = f"gen{i:02d}"
        day = f"2026-10-{1 + i % 28:02d}"
        report["session"] = {**report["session"], "id": sid, "started_at": f"{day}T09:00:00+00:00"}
        for portrait in report["portraits"].values():
            for d in portrait["dimensions"].values():
                if d["score"] is not None:
                    d["score"] = round(float(np.clip(d["score"] + rng.normal(0, 15), 0, 100)), 1)
        report = with_fit(report, find_profile(roles[i % len(roles)]))
        record = {"id": sid, "state": "ended", "ended_at": f"{day}T10:00:00+00:00",
                  "participants": [(p["id"], p["name"]) for p in report["participants"]],
                  "language": report["session"]["language"],
                  "created_at": f"{day}T08:00:00+00:00", "started_at": f"{day}T09:00:00+00:00",
                  "duration_s": report["session"]["duration_s"], "options": {}}
        out.append((record, report))
    return out
