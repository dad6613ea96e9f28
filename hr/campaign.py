"""A hiring campaign across sessions: one row per candidate with the role's fit and the
decision a person made, summaries per role, a CSV, and the adverse-impact and validity
reports over those rows.

Plain functions over what the server keeps: each ended session's report (with its `fit`
when the session had a job profile), the decisions HR recorded, and, apart from both, the
candidates' optional self-reported group attributes (never used in scoring).
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from core.redact import csv_cell
from hr.impact import Outcome, score_differences, selection_rates
from interaction.dimensions import KEYS

DECISIONS = ("advance", "hold", "reject")
CSV_FIELDS = ("session_id", "date", "role", "role_version", "candidate_id", "name", "fit",
              "recommendation", "decision", "decided_by", "days_to_decision", *KEYS)


def _days(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        d = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    except ValueError:
        return None
    return round(d.total_seconds() / 86400, 2)


def campaign_rows(sessions: Iterable[tuple[dict[str, Any], dict[str, Any]]]
                  ) -> list[dict[str, Any]]:
    """sessions: (record, report) of ended sessions; record = the session's JSON (id,
    ended_at, options.decisions). One row per candidate, role "" without a profile."""
    rows = []
    for rec, report in sessions:
        fit = report.get("fit") or {}
        profile = fit.get("profile") or {}
        decisions = (rec.get("options") or {}).get("decisions", {})
        names = {p["id"]: p["name"] for p in report["participants"]}
        for pid, portrait in report["portraits"].items():
            f = fit.get("candidates", {}).get(pid, {})
            d = decisions.get(pid, {})
            rows.append({
                "session_id": report["session"]["id"],
                "date": (rec.get("ended_at") or report["session"].get("started_at") or "")[:10],
                "role": profile.get("id", ""),
                "role_version": profile.get("version"),
                "candidate_id": pid,
                "name": names.get(pid, pid),
                "fit": f.get("fit"),
                "recommendation": f.get("recommendation"),
                "decision": d.get("decision"),
                "decided_by": d.get("by"),
                "days_to_decision": _days(rec.get("ended_at"), d.get("at")),
                "scores": {k: portrait["dimensions"][k]["score"] for k in KEYS},
            })
    return rows


def filter_rows(rows: list[dict[str, Any]], role: str | None = None, since: str | None = None,
                until: str | None = None, recommendation: str | None = None,
                decision: str | None = None) -> list[dict[str, Any]]:
    """Dates as YYYY-MM-DD, inclusive; None = no filter."""
    return [r for r in rows
            if (role is None or r["role"] == role)
            and (since is None or r["date"] >= since)
            and (until is None or r["date"] <= until)
            and (recommendation is None or r["recommendation"] == recommendation)
            and (decision is None or r["decision"] == decision)]


def _spread(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return {"n": len(values), "mean": round(statistics.fmean(values), 1),
            "p25": round(q[0], 1), "median": round(q[1], 1), "p75": round(q[2], 1)}


def role_summaries(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per role: sessions, candidates, recommendation and decision counts, pass rates (share
    advanced: recommended, and decided among those decided), score spreads, and the median
    days from the session to the decision."""
    out: dict[str, dict[str, Any]] = {}
    for role in sorted({r["role"] for r in rows}):
        mine = [r for r in rows if r["role"] == role]
        decided = [r for r in mine if r["decision"]]
        days = [r["days_to_decision"] for r in decided if r["days_to_decision"] is not None]
        out[role] = {
            "sessions": len({r["session_id"] for r in mine}),
            "candidates": len(mine),
            "recommended": {k: sum(r["recommendation"] == k for r in mine) for k in DECISIONS},
            "decided": {k: sum(r["decision"] == k for r in mine) for k in DECISIONS},
            "pass_rate_recommended": round(
                sum(r["recommendation"] == "advance" for r in mine) / len(mine), 4),
            "pass_rate_decided": (round(sum(r["decision"] == "advance" for r in decided)
                                        / len(decided), 4) if decided else None),
            "fit": _spread([r["fit"] for r in mine if r["fit"] is not None]),
            "scores": {k: _spread([r["scores"][k] for r in mine if r["scores"][k] is not None])
                       for k in KEYS},
            "median_days_to_decision": statistics.median(days) if days else None,
        }
    return out


def rows_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        flat = {k: ("" if r.get(k) is None else csv_cell(r[k])) for k in CSV_FIELDS
                if k not in KEYS}
        flat.update({k: "" if r["scores"][k] is None else r["scores"][k] for k in KEYS})
        w.writerow(flat)
    return buf.getvalue()


def voice_fairness(reports: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The sessions' own voice/mic fairness sections (each relates scores to mic level and
    pitch within one group), pooled: per dimension and attribute, the mean r over sessions
    and how many sessions had one."""
    pooled: dict[str, dict[str, list[float]]] = {}
    for report in reports:
        for dim, row in (report.get("fairness") or {}).get("dimensions", {}).items():
            for attr, cell in row.items():
                if cell.get("r") is not None:
                    pooled.setdefault(dim, {}).setdefault(attr, []).append(cell["r"])
    return {dim: {attr: {"mean_r": round(statistics.fmean(rs), 3), "sessions": len(rs)}
                  for attr, rs in attrs.items()}
            for dim, attrs in sorted(pooled.items())}


def impact_report(rows: list[dict[str, Any]], groups: dict[tuple[str, str], dict[str, str]],
                  attribute: str) -> dict[str, Any]:
    """Adverse impact of the rows' outcomes by one self-reported attribute. A candidate's
    outcome is the person's decision where one was made, else the recommendation; the
    report says how many of each it used. Candidates without the attribute are left out."""
    outcomes, scores, member = [], {}, {}
    used = {"decision": 0, "recommendation": 0, "no_group": 0}
    for r in rows:
        key = (r["session_id"], r["candidate_id"])
        group = groups.get(key, {}).get(attribute)
        if not group:
            used["no_group"] += 1
            continue
        outcome = r["decision"] or r["recommendation"]
        if outcome is None:
            continue
        used["decision" if r["decision"] else "recommendation"] += 1
        cid = f"{key[0]}/{key[1]}"
        outcomes.append(Outcome(cid, group, outcome == "advance"))
        scores[cid] = r["scores"]
        member[cid] = group
    return {
        "attribute": attribute,
        "outcomes_from": used,
        "selection": selection_rates(outcomes),
        "score_differences": score_differences(scores, member),
        "note": "group attributes are self-reported, optional, kept apart from the portraits "
                "and never used in scoring",
    }
