"""HR export of a session report's portraits: JSON, CSV, HTML report pages and PDF.

Plain functions over the `lgd.report/1` dict, for the CLI (`lgd export`) and the server:

- `portraits_json(report) -> str` and `portraits_csv(report) -> str` (one row per candidate
  × dimension); `parse_portraits_csv(text)` reads the CSV back.
- `render_report_html(report, pid=None) -> str`: the assessor's page for one candidate
  (radar, timeline, evidence, metrics) or, with pid None, the side-by-side comparison.
- `render_feedback_html(report, pid) -> str`: the candidate-facing page (strengths and what
  to develop, no ranks, no scores), for HR to release per candidate.
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
from string import Template
from typing import Any

from dashboard.svg import radar_svg, timeline_svg
from interaction.dimensions import DIMENSIONS, KEYS

CHROMIUM = "/usr/bin/chromium"
TEMPLATES = Path(__file__).parent / "templates"
CSV_FIELDS = ("session_id", "candidate_id", "name", "dimension", "dimension_zh", "score",
              "rank", "evidence_count", "top_evidence")
_ZH = {k: zh for k, zh, _ in DIMENSIONS}
_EN = {k: en for k, _, en in DIMENSIONS}


def _names(report: dict[str, Any]) -> dict[str, str]:
    return {p["id"]: p["name"] for p in report["participants"]}


def portraits_json(report: dict[str, Any]) -> str:
    doc = {
        "schema": "lgd.portraits/1",
        "session": report["session"],
        "participants": report["participants"],
        "portraits": report["portraits"],
        "fairness": report.get("fairness"),
    }
    return json.dumps(doc, ensure_ascii=False, indent=1)


def portraits_csv(report: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    names = _names(report)
    for pid, portrait in report["portraits"].items():
        for key in KEYS:
            d = portrait["dimensions"][key]
            top = d["evidence"][0] if d["evidence"] else None
            w.writerow({
                "session_id": report["session"]["id"],
                "candidate_id": pid,
                "name": names.get(pid, pid),
                "dimension": key,
                "dimension_zh": _ZH[key],
                "score": "" if d["score"] is None else repr(float(d["score"])),
                "rank": "" if d["rank"] is None else d["rank"],
                "evidence_count": len(d["evidence"]),
                "top_evidence": f"{top['at']:.2f}s {top['kind']}: {top['detail']}" if top else "",
            })
    return buf.getvalue()


def parse_portraits_csv(text: str) -> dict[str, dict[str, dict[str, Any]]]:
    """candidate -> dimension -> {"score": float | None, "rank": int | None}."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        out.setdefault(row["candidate_id"], {})[row["dimension"]] = {
            "score": float(row["score"]) if row["score"] else None,
            "rank": int(row["rank"]) if row["rank"] else None,
        }
    return out


def _page(title: str, body: str, lang: str) -> str:
    tpl = Template((TEMPLATES / "report.html").read_text(encoding="utf-8"))
    return tpl.substitute(title=escape(title), body=body, lang=escape(lang))


def _label(key: str, lang: str) -> str:
    return _ZH[key] if lang.startswith("zh") else _EN[key]


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
    labels = {k: _label(k, lang) for k in KEYS}
    rows = "".join(
        f"<tr><td>{escape(labels[k])}</td><td class=num>{_fmt(d['score'])}</td>"
        f"<td class=num>{_fmt(d['rank'])}</td><td><ul>"
        + "".join(f"<li><span class=t>{e['at']:.1f}s</span> <b>{escape(e['kind'])}</b> "
                  f"{escape(e['detail'])}</li>" for e in d["evidence"])
        + "</ul></td></tr>"
        for k, d in p["dimensions"].items()
    )
    metrics = "".join(f"<tr><td>{escape(k)}</td><td class=num>{_fmt(v)}</td></tr>"
                      for k, v in p.get("metrics", {}).items())
    body = (
        f"<h1>{escape(names.get(pid, pid))} <small>({escape(pid)})</small></h1>"
        f"<p class=summary>{escape(p['summary'])}</p>"
        f"<div class=row>{radar_svg(scores, labels, 360)}"
        f"<table class=metrics><tr><th colspan=2>metrics</th></tr>{metrics}</table></div>"
        f"<h2>timeline</h2>{timeline_svg(report, pid, 760)}"
        f"<h2>dimensions &amp; evidence</h2><table class=dims><tr><th>dimension</th>"
        f"<th>score</th><th>rank</th><th>evidence</th></tr>{rows}</table>"
    )
    return _page(f"{names.get(pid, pid)} — {report['session']['id']}", body, lang)


def _comparison(report: dict[str, Any], lang: str) -> str:
    names = _names(report)
    labels = {k: _label(k, lang) for k in KEYS}
    head = "".join(f"<th>{escape(names.get(p, p))}</th>" for p in report["portraits"])
    rows = "".join(
        f"<tr><td>{escape(labels[k])}</td>" + "".join(
            f"<td class=num>{_fmt(p['dimensions'][k]['score'])}"
            f" <small>#{_fmt(p['dimensions'][k]['rank'])}</small></td>"
            for p in report["portraits"].values()) + "</tr>"
        for k in KEYS
    )
    radars = "".join(
        f"<figure>{radar_svg({k: p['dimensions'][k]['score'] for k in KEYS}, labels, 260)}"
        f"<figcaption>{escape(names.get(pid, pid))}</figcaption></figure>"
        for pid, p in report["portraits"].items()
    )
    body = (f"<h1>{escape(report['session']['id'])}</h1><div class=row>{radars}</div>"
            f"<table class=dims><tr><th></th>{head}</tr>{rows}</table>")
    return _page(f"session {report['session']['id']}", body, lang)


#: Candidate-facing wording per dimension: (strength, what to develop), zh and en.
FEEDBACK: dict[str, dict[str, tuple[str, str]]] = {
    "zh": {
        "participation": ("积极参与讨论，发言充分。", "可以更主动地表达自己的观点。"),
        "idea_contribution": ("提出了新的想法和方案。", "可以多提出自己的新观点。"),
        "evidence": ("用数据、案例和理由支撑观点。", "提出观点时可以多给出数据或案例。"),
        "logical_structure": ("表达有条理，层次清晰。", "表达时可以先说结论，再分点说明。"),
        "turn_taking": ("尊重他人发言，轮流有序。", "等对方说完再发言，减少打断。"),
        "support": ("认可并延伸他人的想法。", "可以更多回应和认可他人的观点。"),
        "teamwork": ("与多位组员互动，邀请他人参与。", "可以与更多组员交流，邀请大家发言。"),
        "leadership": ("推动讨论进程，关注时间并做总结。",
                       "可以尝试引导讨论方向、提醒时间或做小结。"),
        "influence": ("观点得到他人的认同和延伸。", "可以更清楚地阐述观点，争取他人认同。"),
        "stress_resilience": ("被打断或质疑时保持从容。", "被打断或质疑时可以更从容地回应。"),
        "emotional_stability": ("语气平稳，情绪稳定。", "可以保持更平稳的语气。"),
        "rapport": ("倾听时给予积极回应。", "倾听时可以多给一些回应，如点头或简短认同。"),
    },
    "en": {
        "participation": ("You took an active part and made yourself heard.",
                          "Share your views more often."),
        "idea_contribution": ("You brought new ideas to the table.",
                              "Offer more ideas of your own."),
        "evidence": ("You backed your points with data, cases and reasons.",
                     "Support your points with data or examples."),
        "logical_structure": ("Your points were clearly structured.",
                              "Lead with your conclusion, then give your reasons in order."),
        "turn_taking": ("You let others finish and took turns respectfully.",
                        "Let others finish before you come in."),
        "support": ("You acknowledged and built on others' ideas.",
                    "Acknowledge and build on others' points more."),
        "teamwork": ("You engaged with many in the group and drew others in.",
                     "Engage with more of the group and invite others to speak."),
        "leadership": ("You moved the discussion forward, kept time and summarised.",
                       "Try steering the discussion, keeping time or summarising."),
        "influence": ("Others took up and built on your ideas.",
                      "Explain your ideas so that others can take them up."),
        "stress_resilience": ("You stayed composed when interrupted or challenged.",
                              "Stay composed when interrupted or challenged."),
        "emotional_stability": ("Your tone stayed steady.", "Keep a steadier tone."),
        "rapport": ("You showed you were listening.",
                    "Show you are listening with short acknowledgements."),
    },
}


def render_feedback_html(report: dict[str, Any], pid: str) -> str:
    """Candidate-facing: the three strongest and two weakest scored dimensions, in words; no
    ranks, no scores, no other candidates."""
    lang = report["session"].get("language", "en")
    zh = lang.startswith("zh")
    dims = report["portraits"][pid]["dimensions"]
    scored = sorted(((d["score"], k) for k, d in dims.items() if d["score"] is not None),
                    reverse=True)
    strengths = [k for _, k in scored[:3]]
    develop = [k for s, k in scored[-2:] if k not in strengths and s < 60]
    words = FEEDBACK["zh" if zh else "en"]
    li = lambda ks, i: "".join(  # noqa: E731
        f"<li><b>{escape(_label(k, lang))}</b>: {escape(words[k][i])}</li>" for k in ks)
    name = _names(report).get(pid, pid)
    if zh:
        body = (f"<h1>{escape(name)}，感谢参与讨论</h1><h2>你的优势</h2><ul>{li(strengths, 0)}</ul>"
                f"<h2>可以继续发展的方面</h2><ul>{li(develop, 1) or '<li>各方面表现均衡</li>'}</ul>"
                "<p class=note>本反馈基于讨论中可观察的行为（发言、互动），不含排名。</p>")
    else:
        body = (f"<h1>Thank you for taking part, {escape(name)}</h1><h2>Your strengths</h2>"
                f"<ul>{li(strengths, 0)}</ul><h2>What to develop</h2>"
                f"<ul>{li(develop, 1) or '<li>A balanced profile</li>'}</ul>"
                "<p class=note>This feedback is based on observable behaviour in the discussion "
                "(speaking, interaction) and contains no rankings.</p>")
    return _page(name, body, lang)


def render_pdf(html: str, out: Path | str, timeout_s: float = 60.0) -> Path:
    """Print an HTML page to PDF with headless Chromium. Raises RuntimeError if it fails."""
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lgd-pdf-") as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(html, encoding="utf-8")
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-dev-shm-usage", f"--user-data-dir={tmp}/profile",
               "--no-pdf-header-footer", f"--print-to-pdf={out}", page.as_uri()]
        r = subprocess.run(cmd, capture_output=True, timeout=timeout_s)
    if not out.exists() or out.stat().st_size == 0:
        raise RuntimeError(f"chromium did not write {out}: {r.stderr.decode()[-500:]}")
    return out
