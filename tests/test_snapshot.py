"""A driver restored from a snapshot mid-session and fed the rest makes the same events as one
fed everything (issue 14: a worker resumes from the last checkpoint of the stage state).

Real stages on a generated discussion (testkit synth): speech activity with the real silero
VAD, turns, the portrait model; with affect on, prosody, reactions and the face mesh on a
real face photo (testkit video), and voice identity with the real resemblyzer encoder; with
ASR on, the real Whisper process, its jobs in flight carried by the snapshot.
"""

from __future__ import annotations

import dataclasses
import pickletools
import zlib
from pathlib import Path

import numpy as np
import pytest

from analysis import snapshot
from analysis.driver import Analysis
from analysis.settings import ServerConfig, Settings, WebhookConfig
from analysis.snapshot import Snapshot, SnapshotError
from core.session import SessionInfo
from diarize.config import ActivityConfig
from media.frames import iter_blocks
from testkit.synth import RoomConfig, synthesize_session
from testkit.synth.video import clip, face_photo, nod

BLOCK_FRAMES = 5  # 100 ms, as the server's media thread ships them
FPS = 2.0
#: modules whose objects are models or runtime resources: never in a snapshot
MODEL_MODULES = ("onnxruntime", "torch", "faster_whisper", "ctranslate2", "mediapipe",
                 "multiprocessing", "_thread", "threading")


@pytest.fixture(scope="module")
def session():
    s = synthesize_session(4, "zh", 5, RoomConfig(), 36.0)
    tracks = np.stack([s.tracks[p] for p, _ in s.participants])  # (4, n) float32 16 kHz
    return s.participants, tracks


def _calls(ids: list[str], tracks: np.ndarray, video: bool) -> list[tuple]:
    """The driver calls of the session, in order: audio blocks, and (video) each candidate's
    frames once the audio has reached their time, as `analysis.driver.analyze` feeds them."""
    frames = []
    if video:
        photo = face_photo()
        for k, who in enumerate(ids):  # one nods, the others hold still
            motion = nod(0.8, 18.0 if k == 0 else 0.0, 8.0)
            frames += [(t, who, f) for t, f in clip(photo, motion, FPS, 36.0)]
        frames.sort(key=lambda x: (x[0], x[1]))
    out: list[tuple] = []
    for _, block in iter_blocks(tracks, BLOCK_FRAMES):
        out.append(("audio", block.copy()))
        t = sum(c[1].shape[1] for c in out if c[0] == "audio") / 16000
        while frames and frames[0][0] < t:
            at, who, f = frames.pop(0)
            out.append(("video", who, at, f))
    return out


def _apply(a: Analysis, call: tuple) -> None:
    if call[0] == "audio":
        a.feed(call[1])
    else:
        a.feed_video(*call[1:])


def _body(blob: bytes) -> bytes:
    return zlib.decompress(blob[len(snapshot.MAGIC) + 65:])


def _globals(blob: bytes) -> set[str]:
    """The modules a pickle refers to (every class or function it names)."""
    out, strings = set(), []
    for op, arg, _ in pickletools.genops(_body(blob)):
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            strings.append(arg)
        elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
            out.add(strings[-2])
        elif op.name == "GLOBAL":
            out.add(str(arg).split()[0])
    return out


def _run(info: SessionInfo, settings: Settings, calls: list[tuple], cut_at: list[int]
         ) -> tuple[list, list[int], set[str]]:
    """Feed `calls`; at each index in `cut_at` snapshot the driver, drop it, and go on with
    the one loaded from the bytes. Returns the events, the snapshot sizes, and the modules
    the snapshots referred to."""
    events: list = []
    a = Analysis(info, settings, sink=events.extend)
    sizes: list[int] = []
    modules: set[str] = set()
    for i, call in enumerate(calls):
        if i in cut_at:
            blob = snapshot.dump(Snapshot(f"{i}-0", i, len(events), a))
            sizes.append(len(blob))
            modules |= _globals(blob)
            a.close()  # the old worker is gone: its ASR process too
            snap = snapshot.load(blob)
            assert (snap.frame, snap.frames, snap.published) == (f"{i}-0", i, len(events))
            a = snap.analysis
            a.sink = events.extend
        _apply(a, call)
    a.finish()
    return events, sizes, modules


@pytest.mark.parametrize("affect", ["off", "score"])
def test_a_restored_driver_makes_the_same_events(session, affect):
    participants, tracks = session
    info = SessionInfo("snap", participants, "zh", "", affect)
    env = Settings.from_env()
    settings = dataclasses.replace(env, asr=dataclasses.replace(env.asr, enabled=False))
    if affect == "score":  # every stage that holds a model: identity too
        settings = dataclasses.replace(
            settings, activity=dataclasses.replace(ActivityConfig(), identity=True))
    calls = _calls(info.ids, tracks, video=affect == "score")
    want, _, _ = _run(info, settings, calls, [])
    # mid-session, twice (a restored driver snapshotted again), at odd points: mid-stretch
    n = len(calls)
    got, sizes, modules = _run(info, settings, calls, [n // 3 + 7, 2 * n // 3 + 3])
    assert len(want) > 100
    assert got == want  # the same events in the same order, nothing lost, nothing twice
    assert not {m for m in modules if m.split(".")[0] in MODEL_MODULES}, modules
    print(f"affect {affect}: snapshot sizes {sizes} bytes")


@pytest.mark.slow  # the real Whisper model
def test_a_restored_driver_with_asr_in_flight_makes_the_same_transcript(session, tmp_path):
    """ASR on, offline packing (the same packs whatever the machine's speed, so two runs give
    the same transcript: test_transcribe). Snapshotted while jobs are in flight: the loaded
    driver sends them to its own new ASR process. Where an utterance lands among the other
    events depends on when the ASR process answers, so the transcript, the acts and the
    report's numbers are compared, not the event order."""
    participants, tracks = session
    info = SessionInfo("snap-asr", participants, "zh", "")
    settings = Settings(data_dir=Path(tmp_path))
    calls = _calls(info.ids, tracks, video=False)
    uninterrupted = Analysis(info, settings)
    for call in calls:
        _apply(uninterrupted, call)
    want = uninterrupted.finish()

    a = Analysis(info, settings)
    cut = None
    for i, call in enumerate(calls):
        _apply(a, call)
        assert a.transcriber is not None
        if cut is None and a.duration_s >= 15.0 and a.transcriber.worker._unanswered:
            cut = i
            in_flight = len(a.transcriber.worker._unanswered)
            blob = snapshot.dump(Snapshot(f"{i}-0", i + 1, 0, a))
            a.close()
            a = snapshot.load(blob).analysis
    got = a.finish()
    assert cut is not None, "no job was ever in flight after 15 s"
    assert in_flight >= 1
    assert want["transcript"] and got["transcript"] == want["transcript"]
    assert got["acts"] == want["acts"]
    assert got["speaking_share"] == want["speaking_share"]
    assert got["interruptions"] == want["interruptions"]


def test_a_damaged_or_foreign_snapshot_is_refused_and_none_holds_a_secret(session):
    participants, tracks = session
    info = SessionInfo("snap-bad", participants, "zh", "")
    env = Settings.from_env()
    settings = dataclasses.replace(
        env, asr=dataclasses.replace(env.asr, enabled=False), kek="kek-SECRET-1",
        redis_url="redis://:pw-SECRET-2@127.0.0.1:6379/0",
        server=ServerConfig(secret="hmac-SECRET-3", turn_secret="turn-SECRET-4"),
        webhooks=WebhookConfig(secret="hook-SECRET-5"))
    a = Analysis(info, settings)
    a.feed(tracks[:, :32000])
    blob = snapshot.dump(Snapshot("7-0", 1, 3, a))
    assert snapshot.load(blob).analysis.duration_s == 2.0
    assert b"SECRET" not in _body(blob)  # no key or password goes into Redis with it
    flipped = bytearray(blob)
    flipped[len(blob) // 2] ^= 0x40
    head = len(snapshot.MAGIC) + 1
    foreign = blob[:head] + bytes(32) + blob[head + 32:]
    other_format = blob[:len(snapshot.MAGIC)] + b"\x09" + blob[head:]
    for bad, why in [(bytes(flipped), "damaged"), (foreign, "another code version"),
                     (other_format, "format"), (b"", "no snapshot"), (b"x" * 200, "not")]:
        with pytest.raises(SnapshotError, match=why):
            snapshot.load(bad)
