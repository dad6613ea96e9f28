"""Simplified Chinese for zh transcripts.

The Simplified initial prompt keeps Whisper mostly in Simplified characters, but base still
drifts (補充, 們); OpenCC's character table (pure-Python reimplementation, Apache-2.0)
maps what slips through.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _t2s():
    from opencc import OpenCC

    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    return str(_t2s().convert(text))
