"""HR export: JSON/CSV round trips, HTML and PDF pages (rendered by headless Chromium and
rasterised), and `lgd export` on a report path and on a session id."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hr.export import (
    assessment_csv,
    parse_assessment_csv,
    parse_portraits_csv,
    portraits_csv,
    portraits_json,
    render_feedback_html,
    render_pdf,
    render_report_html,
)
from hr.feedback import FEEDBACK
from interaction.dimensions import KEYS
from testkit.assessment import with_assessment
from testkit.synth.roles import role_session
from testkit.synth.truth_events import truth_report

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def report():
    return truth_report(role_session("zh"))


def test_json_round_trip(report):
    doc = json.loads(portraits_json(report))
    assert doc["portraits"] == report["portraits"]
    assert doc["session"] == report["session"]


def test_csv_round_trip(report):
    text = portraits_csv(report)
    rows = text.strip().split("\n")
    assert len(rows) == 1 + len(report["portraits"]) * len(KEYS)
    back = parse_portraits_csv(text)
    for pid, p in report["portraits"].items():
        for key, d in p["dimensions"].items():
            assert back[pid][key] == {"score": d["score"], "rank": d["rank"]}
    assert any(v["score"] is None for c in back.values() for v in c.values())  # nulls survive


def test_html_pages(report):
    page = render_report_html(report, "A")
    assert page.count("<svg") == 2 and "radar" in page and "timeline" in page
    for zh in ("发言贡献", "引导讨论", "发言秩序"):
        assert zh in page
    assert report["portraits"]["A"]["summary"] in page
    overview = render_report_html(report)
    assert overview.count('class="radar"') == len(report["portraits"])
    fb = render_feedback_html(report, "D")
    assert "排名" not in fb.replace("不含排名", "") and "<td" not in fb  # no ranks, no tables
    dims = report["portraits"]["D"]["dimensions"]
    weakest = min((d["score"], k) for k, d in dims.items() if d["score"] is not None)[1]
    assert FEEDBACK["zh"][weakest][1] in fb  # what to develop, in words
    for d in dims.values():
        assert f">{d['score']}<" not in fb
    with pytest.raises(KeyError):
        render_report_html(report, "Z")


def _ink(png_dir, pdf) -> float:
    """Fraction of non-white pixels on the PDF's first page (pdftoppm → PGM)."""
    subprocess.run(["pdftoppm", "-gray", "-r", "40", "-f", "1", "-l", "1", str(pdf),
                    str(png_dir / "page")], check=True)
    pgm = next(png_dir.glob("page*.pgm")).read_bytes()
    parts = pgm.split(maxsplit=4)  # P5 width height maxval data
    w, h = int(parts[1]), int(parts[2])
    pixels = np.frombuffer(parts[4][: w * h], np.uint8)
    return float(np.mean(pixels < 200))


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_pdf_renders(report, tmp_path):
    pdf = render_pdf(render_report_html(report, "A"), tmp_path / "A.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert 0.02 < _ink(tmp_path, pdf) < 0.6  # drawn, not blank, not a black page
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    assert "WenQuanYi" in fonts or "CJK" in fonts  # the Chinese labels have real glyphs


def _lgd(*args, env=None):
    return subprocess.run([sys.executable, "-m", "lgd.cli", *args], capture_output=True,
                          text=True, env=env)


def test_cli_export_by_path_and_session_id(report, tmp_path):
    import os

    data = tmp_path / "data"
    (data / "sessions" / "s42").mkdir(parents=True)
    path = data / "sessions" / "s42" / "report.json"
    path.write_text(json.dumps(report, ensure_ascii=False))
    env = {**os.environ, "LGD_DATA_DIR": str(data)}
    r = _lgd("export", str(path), "--format", "csv", "--out", str(tmp_path / "p.csv"), env=env)
    assert r.returncode == 0, r.stderr
    assert parse_portraits_csv((tmp_path / "p.csv").read_text())["A"]["leadership"]["rank"] == 1
    r = _lgd("export", "s42", "--format", "json", "--out", str(tmp_path / "p.json"), env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "p.json").read_text())["portraits"] == report["portraits"]
    r = _lgd("export", "s42", "--format", "html", "--candidate", "B", "--feedback", "--out",
             str(tmp_path / "fb.html"), env=env)
    assert r.returncode == 0, r.stderr
    r = _lgd("export", "nope", "--format", "json", "--out", str(tmp_path / "x.json"), env=env)
    assert r.returncode != 0 and "neither a report file nor a session" in r.stderr
    assert not (tmp_path / "x.json").exists()


@pytest.fixture(scope="module")
def assessed(report):
    return with_assessment(report)


def test_exports_carry_the_assessors_side(assessed):
    section = assessed["assessment"]
    back = parse_portraits_csv(portraits_csv(assessed))
    pid = next(iter(assessed["portraits"]))
    for aid in ("a1", "a2"):
        for k in KEYS:
            assert back[pid][k]["ratings"][aid] == section["ratings"][aid][pid][k]
    assert back[pid]["leadership"]["consensus"] == 4
    assert "consensus" not in back[pid]["support"]
    again = parse_assessment_csv(assessment_csv(assessed))
    assert again["ratings"] == section["ratings"]
    assert again["consensus"] == {p: {k: {f: c[f] for f in ("rating", "reason", "by")}
                                      for k, c in d.items()}
                                  for p, d in section["consensus"].items()}
    assert again["notes"] == {a: [{f: n[f] for f in ("kind", "candidate", "dimension", "at",
                                                     "text")} for n in ns]
                              for a, ns in section["notes"].items()}
    assert "'=proposed" in assessment_csv(assessed)  # a formula-looking note is neutralised
    assert json.loads(portraits_json(assessed))["assessment"] == section
    before = assessed | {"assessment": {**section, "ratings": None}}
    blind = parse_portraits_csv(portraits_csv(before))  # not everyone submitted: no ratings
    assert "ratings" not in blind[pid]["support"] and blind[pid]["leadership"]["consensus"] == 4


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_pdf_shows_the_ratings_next_to_the_machine(assessed, tmp_path):
    flagged = {(f["candidate"], f["dimension"]) for f in assessed["assessment"]["flags"]}
    pid = next(p for p, _ in flagged)
    page = render_report_html(assessed, pid)
    assert "machine 1–5" in page and "王评委" not in page  # ids in cells, as rated
    assert "a1 " in page and "a2 " in page and "⚑" in page
    pdf = render_pdf(page, tmp_path / "rated.pdf")
    assert 0.02 < _ink(tmp_path, pdf) < 0.6
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                          text=True).stdout
    assert "machine" in text and "assessors" in text and "consensus" in text
    r = assessed["assessment"]["ratings"]
    first = KEYS[0]
    assert f"a1 {r['a1'][pid][first]}, a2 {r['a2'][pid][first]}" in text  # beside the score
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile",
                    str(pdf), str(ARTIFACTS / "export-rated")], check=True)
    assert (ARTIFACTS / "export-rated.png").stat().st_size > 5000
