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


def test_hosts_resumed_from_snapshots_twice_publish_each_event_once(session):
    """A worker snapshots at frame k1 and dies at k2 (having published past k1); the next
    resumes from that snapshot and, still making again what the first had published,
    snapshots at k3 < k2 and dies; a third resumes from there. Each snapshot counts only
    the events its driver had made, so the results are the uninterrupted run's, numbered
    0, 1, 2, ... once each."""
    from analysis import snapshot

    info, frames = session
    settings = Settings.from_env()
    whole = events(run(info, frames))
    out: list[Result] = []
    k1, k3, k2 = 60, 90, 150  # (100 ms frames)

    def host_from(blob: bytes | None, until: int, take_at: int | None) -> bytes | None:
        snap = snapshot.load(blob) if blob is not None else None
        published = events([decode_result(encode_result(r)) for r in out])
        host = SessionHost(info, settings, out.append, published, snapshot=snap)
        taken = None
        for i in range(snap.frames if snap is not None else 0, until):
            host.apply(decode_frame(encode_frame(frames[i])))
            if i + 1 == take_at:
                taken = snapshot.dump(host.snapshot(f"{i + 1}-0"))
        return taken

    first = host_from(None, k2, k1)  # dies at k2, its snapshot at k1
    assert first is not None
    second = host_from(first, k2 - 10, k3)  # dies before re-making all the first had made
    assert second is not None and snapshot.load(second).published < len(events(out))
    host_from(second, len(frames), None)
    seqs = [n for r in out for n in range(r.first_seq, r.next_seq)]
    assert seqs == list(range(len(whole)))
    assert events(out) == whole
