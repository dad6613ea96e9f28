"""The assessor dashboard: plain HTML/JS/SVG pages that the server serves from `STATIC`."""

from pathlib import Path

STATIC = Path(__file__).parent / "static"
