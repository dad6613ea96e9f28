"""The worker's session host: frames replayed into a fresh driver publish each event once.

In process, on a generated discussion: the host that resumes a session is given what its
predecessor published, and publishes the rest, numbered on from there.
"""

from __future__ import annotations

from collections import Counter

import pytest

from analysis.frames import (
    AudioFrame,
    EndFrame,
    EventsFrame,
    Result,
    decode_frame,
    decode_result,
    encode_frame,
    encode_result,
)
from analysis.host import SessionHost
from analysis.settings import Settings
from core import codec
from core.events import AnalysisLag
from core.session import SessionInfo
from media.frames import iter_blocks
from testkit.synth import RoomConfig, synthesize_session


@pytest.fixture(scope="module")
def session():
    s = synthesize_session(3, "zh", 4, RoomConfig(), 24.0)
    info = SessionInfo("host", s.participants, "zh", "")
    tracks = [s.tracks[p] for p, _ in s.participants]
    import numpy as np

    frames = [AudioFrame(b.copy()) for _, b in iter_blocks(np.stack(tracks), 5)]
    frames.insert(40, EventsFrame([AnalysisLag("media", 4.0, 1.2, 3)]))
    return info, [*frames, EndFrame()]


def run(info, frames, already=None) -> list[Result]:
    out: list[Result] = []
    host = SessionHost(info, Settings.from_env(), out.append, already)
    for f in frames:
        host.apply(decode_frame(encode_frame(f)))  # as they travel
    return [decode_result(encode_result(r)) for r in out]


def events(results: list[Result]) -> list:
    return [ev for r in results for ev in r.events]


def test_a_resumed_host_publishes_what_was_not_out_numbered_on(session):
    info, frames = session
    whole = events(run(info, frames))
    assert len(whole) > 100
    cut = len(whole) // 2
    rest = run(info, frames, whole[:cut])
    assert events(rest) == whole[cut:]  # deterministic stages: exactly the rest
    assert rest[0].first_seq == cut and rest[-1].final
    numbers = [n for r in rest for n in range(r.first_seq, r.next_seq)]
    assert numbers == list(range(cut, len(whole)))


def test_an_event_published_out_of_place_is_not_published_again(session):
    """ASR results come out when the ASR process is done: the predecessor may have put an
    event earlier than the replay does. Matched by content, each goes out once."""
    info, frames = session
    whole = events(run(info, frames))
    cut = len(whole) // 2
    early = whole[cut + 3]  # the predecessor had this one before its cut
    published = whole[: cut - 5] + [early] + whole[cut - 5 : cut]
    rest = events(run(info, frames, published))
    key = codec.encode
    assert Counter(map(key, published + rest)) == Counter(map(key, whole))
    assert key(early) not in set(map(key, rest))
