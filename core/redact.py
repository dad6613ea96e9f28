"""Keep secrets and hostile text out of where they do harm: logs, CSV cells, chat markdown.

- `redact_url`: the `token=` of links and the `key=` of webhook URLs become `***`;
- `csv_cell`: a text cell that a spreadsheet would run as a formula (`= + - @`, tab, CR)
  gets a leading apostrophe (the OWASP CSV-injection advice);
- `markdown_text`: a name in a WeCom markdown message can neither format, link nor start a
  heading: one line, markup characters escaped.
"""

from __future__ import annotations

import re

_SECRET_PARAMS = re.compile(r"([?&](?:token|key|secret|access_token)=)[^&#\s\"']+", re.I)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_MARKUP = re.compile(r"([\\`*_\[\]()<>#!|~])")


def redact_url(text: str) -> str:
    return _SECRET_PARAMS.sub(r"\1***", text)


def csv_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def csv_uncell(value: str) -> str:
    """Read back what `csv_cell` guarded."""
    return value[1:] if value.startswith("'") and value[1:].startswith(_FORMULA) else value


def markdown_text(text: str) -> str:
    one_line = " ".join(str(text).split())
    return _MARKUP.sub(r"\\\1", one_line)
