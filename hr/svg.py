"""Inline SVG for the HTML/PDF report pages: the twelve-dimension radar and a timeline.

The live dashboard draws the same pictures in the browser (static/radar.js, graph.js);
these are the server-side twins so a page prints without JavaScript.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any


def radar_svg(scores: dict[str, float | None], labels: dict[str, str], size: int = 320) -> str:
    """A radar of 0..100 scores; null dimensions are drawn at 0 and labelled "n/a"."""
    keys = list(scores)
    n, c, r = len(keys), size / 2, size / 2 - 58
    pt = lambda i, v: (c + r * v / 100 * math.sin(2 * math.pi * i / n),  # noqa: E731
                       c - r * v / 100 * math.cos(2 * math.pi * i / n))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="radar" width="{size}" '
             f'height="{size}" viewBox="0 0 {size} {size}">']
    for ring in (25, 50, 75, 100):
        ps = " ".join(f"{x:.1f},{y:.1f}" for x, y in (pt(i, ring) for i in range(n)))
        parts.append(f'<polygon points="{ps}" fill="none" stroke="#ccc" stroke-width="1"/>')
    for i, k in enumerate(keys):
        x, y = pt(i, 100)
        parts.append(f'<line x1="{c}" y1="{c}" x2="{x:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        lx, ly = pt(i, 122)
        na = scores[k] is None
        parts.append(f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="10" text-anchor="middle" '
                     f'dominant-baseline="middle" fill="{"#999" if na else "#333"}">'
                     f'{escape(labels.get(k, k))}{" n/a" if na else ""}</text>')
    ps = " ".join(f"{x:.1f},{y:.1f}" for x, y in (pt(i, scores[k] or 0) for i, k in
                                                  enumerate(keys)))
    parts.append(f'<polygon points="{ps}" fill="rgba(40,110,200,0.25)" stroke="#286ec8" '
                 'stroke-width="2"/>')
    parts.append("</svg>")
    return "".join(parts)


def timeline_svg(report: dict[str, Any], pid: str, width: int = 760) -> str:
    """Every candidate's turns on the session clock, `pid` highlighted; interruptions made
    by `pid` as red ticks, backchannels as green dots, evidence moments as blue marks."""
    ids = [p["id"] for p in report["participants"]]
    dur = max(1.0, float(report["session"]["duration_s"]))
    row, left = 16, 60
    h = row * len(ids) + 30
    sx = lambda t: left + (width - left - 10) * t / dur  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{width}" '
             f'height="{h}" viewBox="0 0 {width} {h}">']
    for i, q in enumerate(ids):
        y = 4 + i * row
        parts.append(f'<text x="2" y="{y + 10}" font-size="10">{escape(q)}</text>')
        for t in report["turns"]:
            if t["who"] == q:
                parts.append(f'<rect x="{sx(t["start"]):.1f}" y="{y}" width="'
                             f'{max(1.0, sx(t["end"]) - sx(t["start"])):.1f}" height="{row - 4}"'
                             f' fill="{"#286ec8" if q == pid else "#bbb"}"/>')
    y0 = 4 + len(ids) * row
    for it in report["interruptions"]:
        if it["by"] == pid:
            x = sx(it["at"])
            parts.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + 10}" '
                         f'stroke="#d33" stroke-width="2"/>')
    for b in report["backchannels"]:
        if b["who"] == pid:
            parts.append(f'<circle cx="{sx(b["at"]):.1f}" cy="{y0 + 5}" r="3" fill="#2a2"/>')
    for d in report["portraits"].get(pid, {}).get("dimensions", {}).values():
        for e in d["evidence"]:
            if e["kind"] not in ("basis", "unavailable"):
                x = sx(e["at"])
                parts.append(f'<line x1="{x:.1f}" y1="{y0 + 14}" x2="{x:.1f}" y2="{y0 + 22}" '
                             f'stroke="#286ec8"><title>{escape(e["detail"])}</title></line>')
    parts.append(f'<text x="{left}" y="{h - 1}" font-size="9">0 s</text>'
                 f'<text x="{width - 40}" y="{h - 1}" font-size="9">{dur:.0f} s</text></svg>')
    return "".join(parts)
