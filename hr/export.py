"""HR export of a session report's portraits: JSON, CSV, HTML report pages and PDF.

Plain functions over the `lgd.report/1` dict, for the CLI (`lgd export`) and the server:

- `portraits_json(report) -> str` and `portraits_csv(report) -> str` (one row per candidate
  × dimension); `parse_portraits_csv(text)` reads the CSV back.
- `render_report_html(report, pid=None) -> str`: the assessor's page for one candidate
  (radar, timeline, evidence, metrics) or, with pid None, the side-by-side comparison.
- `render_feedback_html(report, pid) -> str`: the candidate-facing page (strengths and what
  to develop, no ranks, no scores), for HR to release per candidate.
- `assessment_csv(report) -> str`: the assessors' notes, bookmarks, ratings and consensus, one
  row each; `parse_assessment_csv(text)` reads it back.
- `render_pdf(html, out) -> Path`: prints a page to PDF with headless Chromium (blocking,
  seconds: call it in an executor from async code).
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import tempfile
from html import escape
from pathlib import Path
from typing import Any

from core.redact import csv_cell, csv_uncell
from hr.feedback import render_feedback_html
from hr.pages import label, page
from hr.svg import radar_svg, timeline_svg
from hr.washup import machine_on_scale, washup
from interaction.dimensions import DIMENSIONS, KEYS

CHROMIUM = "/usr/bin/chromium"
CSV_FIELDS = ("session_id", "candidate_id", "name", "dimension", "dimension_zh", "score",
              "rank", "evidence_count", "top_evidence",
              # with a job profile (hr/fit.py): the candidate's overall fit, on every row
              "profile", "fit", "recommendation",
              # with assessors (server/assessment.py): the people's side of the same cell
              "assessor_ratings", "assessor_mean", "machine_1to5", "flag", "consensus",
              "consensus_reason", "notes")
ASSESSMENT_FIELDS = ("session_id", "kind", "assessor", "candidate_id", "dimension", "at",
                     "value", "text", "by")
_ZH = {k: zh for k, zh, _ in DIMENSIONS}


def _names(report: dict[str, Any]) -> dict[str, str]:
    return {p["id"]: p["name"] for p in report["participants"]}


def portraits_json(report: dict[str, Any]) -> str:
    doc = {
        "schema": "lgd.portraits/1",
        "session": report["session"],
        "participants": report["participants"],
        "portraits": report["portraits"],
        "fairness": report.get("fairness"),
        "fit": report.get("fit"),
        "assessment": report.get("assessment"),
    }
    return json.dumps(doc, ensure_ascii=False, indent=1)


def portraits_csv(report: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    names = _names(report)
    fits = (report.get("fit") or {}).get("candidates", {})
    cells = _washup(report)
    notes = _note_counts(report)
    for pid, portrait in report["portraits"].items():
        fit = fits.get(pid, {})
        for key in KEYS:
            d = portrait["dimensions"][key]
            top = d["evidence"][0] if d["evidence"] else None
            cell = cells.get(pid, {}).get(key, {})
            agreed = cell.get("consensus") or {}
            w.writerow({
                "session_id": report["session"]["id"],
                "candidate_id": pid,
                "name": csv_cell(names.get(pid, pid)),
                "dimension": key,
                "dimension_zh": _ZH[key],
                "score": "" if d["score"] is None else repr(float(d["score"])),
                "rank": "" if d["rank"] is None else d["rank"],
                "evidence_count": len(d["evidence"]),
                "top_evidence": csv_cell(
                    f"{top['at']:.2f}s {top['kind']}: {top['detail']}" if top else ""),
                "profile": fit.get("profile", ""),
                "fit": "" if fit.get("fit") is None else repr(float(fit["fit"])),
                "recommendation": fit.get("recommendation") or "",
                "assessor_ratings": "; ".join(f"{a}={v}" for a, v in
                                              sorted(cell.get("ratings", {}).items())),
                "assessor_mean": _num(cell.get("mean")),
                "machine_1to5": _num(machine_on_scale(d["score"])) if cells else "",
                "flag": "1" if cell.get("flag") else "",
                "consensus": agreed.get("rating", ""),
                "consensus_reason": csv_cell(agreed.get("reason", "")),
                "notes": notes.get((pid, key), 0) if cells else "",
            })
    return buf.getvalue()


def _num(x: float | None) -> str:
    return "" if x is None else repr(float(x))


def _washup(report: dict[str, Any]) -> dict[str, Any]:
    """The wash-up cells (hr/washup.py) of a report with assessors, else {}. Before every
    assessor has submitted the ratings are blind, so only the consensus shows."""
    section = report.get("assessment")
    if not section:
        return {}
    return dict(washup(report, section)["candidates"])


def _note_counts(report: dict[str, Any]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for notes in ((report.get("assessment") or {}).get("notes") or {}).values():
        for n in notes:
            if n.get("candidate") and n.get("dimension"):
                key = (n["candidate"], n["dimension"])
                out[key] = out.get(key, 0) + 1
    return out


def assessment_csv(report: dict[str, Any]) -> str:
    """Every note and bookmark, every rating (once all assessors submitted) and every
    consensus rating, one row each."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, ASSESSMENT_FIELDS, lineterminator="\n")
    w.writeheader()
    section = report.get("assessment") or {}
    sid = report["session"]["id"]
    for aid, notes in sorted((section.get("notes") or {}).items()):
        for n in notes:
            w.writerow({"session_id": sid, "kind": n["kind"], "assessor": aid,
                        "candidate_id": n.get("candidate") or "",
                        "dimension": n.get("dimension") or "", "at": repr(float(n["at"])),
                        "value": "", "text": csv_cell(n.get("text", "")), "by": aid})
    for aid, by_pid in sorted((section.get("ratings") or {}).items()):
        for pid, dims in sorted(by_pid.items()):
            for dim, v in dims.items():
                if v is not None:
                    w.writerow({"session_id": sid, "kind": "rating", "assessor": aid,
                                "candidate_id": pid, "dimension": dim, "at": "", "value": v,
                                "text": "", "by": aid})
    for pid, dims in sorted((section.get("consensus") or {}).items()):
        for dim, c in dims.items():
            w.writerow({"session_id": sid, "kind": "consensus", "assessor": "",
                        "candidate_id": pid, "dimension": dim, "at": "",
                        "value": c["rating"], "text": csv_cell(c.get("reason", "")),
                        "by": c.get("by", "")})
    return buf.getvalue()


def parse_assessment_csv(text: str) -> dict[str, Any]:
    """{"notes": {assessor: [...]}, "ratings": {assessor: {pid: {dim: int}}},
    "consensus": {pid: {dim: {"rating", "reason", "by"}}}} (the report's shapes)."""
    out: dict[str, Any] = {"notes": {}, "ratings": {}, "consensus": {}}
    for row in csv.DictReader(io.StringIO(text)):
        if row["kind"] in ("note", "bookmark"):
            out["notes"].setdefault(row["assessor"], []).append({
                "kind": row["kind"], "candidate": row["candidate_id"] or None,
                "dimension": row["dimension"] or None, "at": float(row["at"]),
                "text": csv_uncell(row["text"])})
        elif row["kind"] == "rating":
            out["ratings"].setdefault(row["assessor"], {}).setdefault(
                row["candidate_id"], {})[row["dimension"]] = int(row["value"])
        elif row["kind"] == "consensus":
            out["consensus"].setdefault(row["candidate_id"], {})[row["dimension"]] = {
                "rating": int(row["value"]), "reason": csv_uncell(row["text"]), "by": row["by"]}
    return out


def parse_portraits_csv(text: str) -> dict[str, dict[str, dict[str, Any]]]:
    """candidate -> dimension -> {"score": float | None, "rank": int | None} (and the
    candidate's "fit" and "recommendation" where the file has them)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        cell: dict[str, Any] = {
            "score": float(row["score"]) if row["score"] else None,
            "rank": int(row["rank"]) if row["rank"] else None,
        }
        if row.get("profile"):
            cell["fit"] = float(row["fit"]) if row["fit"] else None
            cell["recommendation"] = row["recommendation"] or None
        if row.get("assessor_ratings"):
            cell["ratings"] = {a: int(v) for a, v in (
                pair.split("=") for pair in row["assessor_ratings"].split("; "))}
        if row.get("consensus"):
            cell["consensus"] = int(row["consensus"])
        out.setdefault(row["candidate_id"], {})[row["dimension"]] = cell
    return out


__all__ = ["assessment_csv", "parse_assessment_csv", "parse_portraits_csv", "portraits_csv",
           "portraits_json", "render_feedback_html", "render_pdf", "render_report_html"]


def _fmt(v: Any) -> str:
    return "–" if v is None else (f"{v:.1f}" if isinstance(v, float) else str(v))


def render_report_html(report: dict[str, Any], pid: str | None = None) -> str:
    lang = report["session"].get("language", "en")
    if pid is None:
        return _comparison(report, lang)
    if pid not in report["portraits"]:
        raise KeyError(f"no candidate {pid!r} in this report")
    names, p = _names(report), report["portraits"][pid]
    scores = {k: p["dimensions"][k]["score"] for k in KEYS}
    labels = {k: label(k, lang) for k in KEYS}
    cells = _washup(report).get(pid)
    rows = "".join(
        f"<tr><td>{escape(labels[k])}</td><td class=num>{_fmt(d['score'])}</td>"
        f"<td class=num>{_fmt(d['rank'])}</td>"
        + (_rating_cells(cells[k]) if cells else "") + "<td><ul>"
        + "".join(f"<li><span class=t>{e['at']:.1f}s</span> <b>{escape(e['kind'])}</b> "
                  f"{escape(e['detail'])}</li>" for e in d["evidence"])
        + "</ul></td></tr>"
        for k, d in p["dimensions"].items()
    )
    rating_head = ("<th>machine 1–5</th><th>assessors</th><th>consensus</th>" if cells
                   else "")
    metrics = "".join(f"<tr><td>{escape(k)}</td><td class=num>{_fmt(v)}</td></tr>"
                      for k, v in p.get("metrics", {}).items())
    body = (
        f"<h1>{escape(names.get(pid, pid))} <small>({escape(pid)})</small></h1>"
        f"<p class=summary>{escape(p['summary'])}</p>"
        f"<div class=row>{radar_svg(scores, labels, 360)}"
        f"<table class=metrics><tr><th colspan=2>metrics</th></tr>{metrics}</table></div>"
        f"{_fit_html(report, pid, lang)}"
        f"<h2>timeline</h2>{timeline_svg(report, pid, 760)}"
        f"<h2>dimensions &amp; evidence</h2><table class=dims><tr><th>dimension</th>"
        f"<th>score</th><th>rank</th>{rating_head}<th>evidence</th></tr>{rows}</table>"
        f"{_notes_html(report, pid, labels)}"
    )
    return page(f"{names.get(pid, pid)} — {report['session']['id']}", body, lang)


def _rating_cells(cell: dict[str, Any]) -> str:
    """The people's side next to the machine's: its score on their scale, each assessor's
    rating (⚑ where they differ by the flag's margin), the consensus with its reason."""
    given = ", ".join(f"{escape(a)} {v}" for a, v in sorted(cell["ratings"].items()))
    flag = " <b class=flag title='machine and assessors differ'>⚑</b>" if cell["flag"] else ""
    agreed = cell.get("consensus")
    return (f"<td class=num>{_fmt(cell['machine'])}</td><td>{given or '–'}{flag}</td>"
            + (f"<td><b>{agreed['rating']}</b> <small>{escape(agreed['reason'])}</small></td>"
               if agreed else "<td>–</td>"))


def _notes_html(report: dict[str, Any], pid: str, labels: dict[str, str]) -> str:
    notes = [(aid, n) for aid, ns in ((report.get("assessment") or {}).get("notes")
                                      or {}).items() for n in ns if n.get("candidate") == pid]
    if not notes:
        return ""
    items = "".join(
        f"<li><span class=t>{n['at']:.1f}s</span> <b>{escape(aid)}</b> "
        + (f"[{escape(labels.get(n['dimension'], n['dimension']))}] " if n.get("dimension")
           else "")
        + f"{escape(n.get('text') or n['kind'])}</li>"
        for aid, n in sorted(notes, key=lambda x: x[1]["at"]))
    return f"<h2>assessors' notes</h2><ul>{items}</ul>"


def _fit_html(report: dict[str, Any], pid: str, lang: str) -> str:
    """The overall fit for the session's job profile, with its reasons (a recommendation)."""
    fit = (report.get("fit") or {}).get("candidates", {}).get(pid)
    if not fit:
        return ""
    if fit["fit"] is None:
        return f"<h2>fit: {escape(fit['profile'])}</h2><p>{escape(fit['why_no_fit'])}</p>"
    reasons = "".join(
        f"<li><b>{escape(label(r['dimension'], lang))}</b> {r['score']:.0f} "
        f"(×{r['weight']:.2f}, {r['pull']:+.1f}): "
        + "; ".join(f"{e['at']:.1f}s {escape(e['detail'])}" for e in r["evidence"]) + "</li>"
        for r in fit["reasons"])
    return (f"<h2>fit: {escape(fit['profile'])} v{fit['profile_version']}</h2>"
            f"<p class=summary>{escape(fit['summary'])}</p><ul>{reasons}</ul>")


def _score_cell(d: dict[str, Any]) -> str:
    if d["score"] is None:
        return "<td class=num title='no data'>n/a</td>"
    return f"<td class=num>{d['score']:.1f} <small>#{d['rank']}</small></td>"


def _comparison(report: dict[str, Any], lang: str) -> str:
    names = _names(report)
    labels = {k: label(k, lang) for k in KEYS}
    head = "".join(f"<th>{escape(names.get(p, p))}</th>" for p in report["portraits"])
    rows = "".join(
        f"<tr><td>{escape(labels[k])}</td>" + "".join(
            _score_cell(p["dimensions"][k]) for p in report["portraits"].values()) + "</tr>"
        for k in KEYS
    )
    radars = "".join(
        f"<figure>{radar_svg({k: p['dimensions'][k]['score'] for k in KEYS}, labels, 260)}"
        f"<figcaption>{escape(names.get(pid, pid))}</figcaption></figure>"
        for pid, p in report["portraits"].items()
    )
    body = (f"<h1>{escape(report['session']['id'])}</h1><div class=row>{radars}</div>"
            f"<table class=dims><tr><th></th>{head}</tr>{rows}</table>")
    return page(f"session {report['session']['id']}", body, lang)


def render_pdf(html: str, out: Path | str, timeout_s: float = 60.0) -> Path:
    """Print an HTML page to PDF with headless Chromium. Raises RuntimeError if it fails."""
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lgd-pdf-") as tmp:
        src = Path(tmp) / "page.html"
        src.write_text(html, encoding="utf-8")
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-dev-shm-usage", f"--user-data-dir={tmp}/profile",
               "--no-pdf-header-footer", f"--print-to-pdf={out}", src.as_uri()]
        try:
            r = subprocess.run(cmd, capture_output=True, timeout=timeout_s)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RuntimeError(f"cannot print {out} with {CHROMIUM}: {exc}") from None
    if not out.exists() or out.stat().st_size == 0:
        raise RuntimeError(f"chromium did not write {out}: {r.stderr.decode()[-500:]}")
    return out
