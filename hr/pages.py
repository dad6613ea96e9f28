"""The shared HTML page template and dimension labels of the export pages."""

from __future__ import annotations

from html import escape
from pathlib import Path
from string import Template

from interaction.dimensions import DIMENSIONS

TEMPLATES = Path(__file__).parent / "templates"
_ZH = {k: zh for k, zh, _ in DIMENSIONS}
_EN = {k: en for k, _, en in DIMENSIONS}


def page(title: str, body: str, lang: str) -> str:
    """`templates/report.html` around `body` (already-escaped HTML)."""
    tpl = Template((TEMPLATES / "report.html").read_text(encoding="utf-8"))
    return tpl.substitute(title=escape(title), body=body, lang=escape(lang))


def label(key: str, lang: str) -> str:
    """A dimension's display name in the session language."""
    return _ZH[key] if lang.startswith("zh") else _EN[key]
