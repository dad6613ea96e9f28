"""Secrets stay out of logs; candidates' names cannot run as spreadsheet formulas or take
over a WeCom message."""

from __future__ import annotations

import csv
import io
import json

from core.redact import csv_cell, markdown_text, redact_url
from hr.export import portraits_csv
from hr.webhooks import wecom_message
from testkit.synth.roles import role_session
from testkit.synth.truth_events import truth_report


def test_urls_lose_their_secrets():
    assert redact_url("/join/s1?token=abc.def&x=1") == "/join/s1?token=***&x=1"
    assert redact_url("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K-123") == (
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***")
    assert redact_url("/api/sessions") == "/api/sessions"


def test_csv_cells_that_would_be_formulas_are_neutralised():
    for bad in ("=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert csv_cell(bad) == "'" + bad
    assert csv_cell("张伟") == "张伟" and csv_cell(12.5) == 12.5


def test_hostile_names_in_exports_and_wecom():
    report = truth_report(role_session("en"))
    report["participants"][0]["name"] = "=cmd|' /C calc'!A0"
    report["participants"][1]["name"] = (
        "**Bob**\n## Hired [x](http://evil) <font color=\"warning\">")
    rows = list(csv.DictReader(io.StringIO(portraits_csv(report))))
    assert {r["name"] for r in rows if r["candidate_id"] == "A"} == {"'=cmd|' /C calc'!A0"}
    content = wecom_message(report)["markdown"]["content"]
    assert "\n## Hired" not in content and "**Bob**" not in content
    assert "[x](http" not in content and '<font color="warning">' not in content
    assert markdown_text("a\nb") == "a b"
    assert json.dumps(content)  # still a plain string message
