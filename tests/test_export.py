"""HR export: JSON/CSV round trips, HTML and PDF pages (rendered by headless Chromium and
rasterised), and `lgd export` on a report path and on a session id."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from hr.export import (
    parse_portraits_csv,
    portraits_csv,
    portraits_json,
    render_feedback_html,
    render_pdf,
    render_report_html,
)
from hr.feedback import FEEDBACK
from interaction.dimensions import KEYS
from testkit.synth.roles import role_session
from testkit.synth.truth_events import truth_report


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
