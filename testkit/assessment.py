"""A report's assessors' side for tests of the exports and webhooks: two assessors who rated
every candidate, notes with a formula-looking text, a consensus for one cell. The section has
the shape of `server.assessment.report_section` once every assessor has submitted."""

from __future__ import annotations

from typing import Any

from hr.washup import washup
from interaction.dimensions import KEYS


def with_assessment(report: dict[str, Any]) -> dict[str, Any]:
    pids = list(report["portraits"])
    ratings = {
        "a1": {p: {k: 1 + (i + j) % 5 for j, k in enumerate(KEYS)} for i, p in enumerate(pids)},
        "a2": {p: {k: 1 + (i + j + 1) % 5 for j, k in enumerate(KEYS)}
               for i, p in enumerate(pids)},
    }
    notes = {
        "a1": [{"id": "n1", "at": 12.5, "kind": "note", "candidate": pids[0],
                "dimension": "leadership", "text": "=proposed the plan, others followed",
                "written": "2026-11-29T06:00:00+00:00"},
               {"id": "n2", "at": 30.0, "kind": "bookmark", "candidate": None,
                "dimension": None, "text": "", "written": "2026-11-29T06:00:10+00:00"}],
        "a2": [{"id": "n3", "at": 41.0, "kind": "note", "candidate": pids[1],
                "dimension": "support", "text": "built on 李's idea",
                "written": "2026-11-29T06:01:00+00:00"}],
    }
    consensus = {pids[0]: {"leadership": {"rating": 4, "reason": "set the agenda twice",
                                          "by": "a1", "at": "2026-11-29T07:00:00+00:00"}}}
    w = washup(report, {"ratings": ratings, "consensus": consensus})
    section = {
        "assessors": {"a1": {"name": "王评委", "lead": True, "candidates": pids},
                      "a2": {"name": "李评委", "lead": False, "candidates": pids}},
        "notes": notes,
        "submitted": {"a1": "2026-11-29T06:30:00+00:00", "a2": "2026-11-29T06:31:00+00:00"},
        "consensus": consensus,
        "ratings": ratings,
        "agreement": w["agreement"],
        "flags": [{"candidate": p, "dimension": k, "machine": x["machine"], "mean": x["mean"]}
                  for p, dims in w["candidates"].items() for k, x in dims.items() if x["flag"]],
    }
    return {**report, "assessment": section}
