"""docs/rubric.md matches the code: every key documented is produced and vice versa
(dimensions, graph measures, conversation metrics)."""

import re
from pathlib import Path

from testkit.synth.roles import role_session
from testkit.synth.truth_events import truth_report

RUBRIC = Path(__file__).resolve().parent.parent / "docs" / "rubric.md"


def _section(text: str, title: str) -> str:
    start = text.index(f"## {title}")
    nxt = text.find("\n## ", start + 1)
    return text[start: nxt if nxt > 0 else None]


def test_rubric_documents_exactly_what_is_produced():
    text = RUBRIC.read_text(encoding="utf-8")
    report = truth_report(role_session("en"))
    portrait = report["portraits"]["A"]
    dims = re.findall(r"^### `(\w+)`", _section(text, "Dimensions"), re.M)
    assert dims == list(portrait["dimensions"])  # same keys, schema order
    schema = (RUBRIC.parent.parent / ".." / "shared" / "report-schema.md")
    if schema.exists():  # the contract's table, where the shared folder is present
        assert dims == re.findall(r"^\| (\w+) \| ", schema.read_text(), re.M)[1:]
    measures = re.findall(r"^#### `(\w+)`", _section(text, "Interaction graph"), re.M)
    assert set(measures) == set(report["graph"]["measures"])
    metrics = re.findall(r"^#### `(\w+)`", _section(text, "Conversation metrics"), re.M)
    assert set(metrics) == set(portrait["metrics"])
    for key in dims:  # each documents what, how, and which evidence
        body = text.split(f"### `{key}`")[1].split("\n### ")[0]
        for field in ("Measures:", "Formula", "Evidence:"):
            assert field in body, (key, field)
