"""Recordings: encoded frames muxed without re-encoding, sealed chunk by chunk, read back
exactly; media retention on its own clock."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import UTC, datetime

import numpy as np
import pytest

from analysis.settings import Settings
from media.recorder import ContainerWriter, demux
from server.recording import (
    SessionRecorder,
    append_chunk,
    container_name,
    expected_chunks,
    media_dir,
    open_container,
    recording_mode,
    segments,
)
from server.store import SessionRecord, SessionStore
from server.vault import Vault, VaultError, new_kek, parse_kek
from testkit.opus import opus_packets
from tests.serverutil import running_server


def tone_packets(f0: float, seconds: float) -> list[bytes]:
    t = np.arange(int(48000 * seconds)) / 48000
    return opus_packets(0.3 * np.sin(2 * np.pi * f0 * t) * (t % 1.0 < 0.6))


def vp8_packets(n: int) -> list[bytes]:
    import fractions

    import av

    enc = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height, enc.pix_fmt = 160, 120, "yuv420p"
    enc.time_base = fractions.Fraction(1, 90000)
    out = []
    for i in range(n):
        img = np.random.default_rng(i).integers(0, 255, (120, 160, 3), np.uint8)
        frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
        frame.pts, frame.time_base = i * 6000, enc.time_base
        out += [bytes(p) for p in enc.encode(frame)]
    return out


def test_containers_keep_every_packet_as_it_was():
    audio = tone_packets(440, 2.0)
    w = ContainerWriter("opus")
    data = b""
    for i, p in enumerate(audio):
        assert w.add(1000 + 960 * i, p)
        data += w.take()
    assert not w.add(1000, audio[0])  # back in time: cannot be muxed, counted
    data += w.close()
    assert data.startswith(b"OggS") and w.dropped == 1
    got = demux(data)
    assert [p for _, p in got] == audio
    assert got[-1][0] == pytest.approx((len(audio) - 1) * 0.02, abs=0.021)

    video = vp8_packets(20)
    w = ContainerWriter("vp8")
    assert not w.add(0, video[1])  # not a keyframe: a WebM track starts on one
    for i, p in enumerate(video):
        w.add(3000 * (i + 1), p)
    data = w.close()
    assert data[:4] == b"\x1a\x45\xdf\xa3" and [p for _, p in demux(data)] == video


def record(store: SessionStore, sid: str, packets: dict[str, list[bytes]],
           starts: dict[str, float], video: list[bytes] | None = None,
           video_of: tuple[str, ...] = ("a",), fps: float = 30.0) -> None:
    """What a live session's recorder gets: each candidate's packets at 50/s from `starts`
    (and `video` frames at `fps`, for each of `video_of`)."""
    rec = SessionRecorder(store, sid, "audio+video" if video else "audio")
    for who, pkts in packets.items():
        for i, p in enumerate(pkts):
            rec.put(who, 1, "audio", "opus", 5000 + 960 * i, p, starts[who] + 0.02 * i)
    for who in video_of if video else ():
        for i, p in enumerate(video or []):
            rec.put(who, 1, "video", "VP8", 90 + round(90000 / fps) * i, p, starts[who] + i / fps)
    summary = rec.close()
    assert summary["failed"] is None and summary["dropped_backlog"] == 0


def test_sealed_segments_read_back_exactly_and_only_in_place(tmp_path):
    vault = Vault(parse_kek(new_kek()))
    store = SessionStore(tmp_path, vault)
    packets = {"a": tone_packets(300, 3.0), "b": tone_packets(500, 2.0)}
    video = vp8_packets(15)
    record(store, "s1", packets, {"a": 0.5, "b": 1.25}, video)
    segs = {s["name"]: s for s in segments(store, "s1")}
    assert set(segs) == {"a.1.audio", "b.1.audio", "a.1.video"}
    b = segs["b.1.audio"]
    assert b["first_at"] == 1.25 and b["ts0"] == 5000 and b["packets"] == 100
    assert b["ts"][:3].tolist() == [0, 960, 1920] and b["at"][1] == pytest.approx(1.27)
    for who, pkts in packets.items():
        data = open_container(store, "s1", segs[f"{who}.1.audio"]["file"])
        assert [p for _, p in demux(data)] == pkts
    assert [p for _, p in demux(open_container(store, "s1", "a.1.video.webm.sealed"))] == video
    for f in media_dir(store, "s1").iterdir():  # nothing plain: no container, no packet
        raw = f.read_bytes()
        assert b"OggS" not in raw and b"OpusHead" not in raw and b"webm" not in raw
        assert not any(p[4:24] in raw for p in packets["a"][::10])
    # a segment cut short: a whole chunk gone is an error; a torn one of a segment never
    # closed (a crash mid-write) leaves what came before it readable
    path = media_dir(store, "s1") / segs["b.1.audio"]["file"]
    whole = path.read_bytes()
    assert segs["b.1.audio"]["closed"] and expected_chunks(segs["b.1.audio"]) >= 1
    path.write_bytes(whole + whole[:10])  # a torn extra chunk
    with pytest.raises(VaultError, match="torn"):
        open_container(store, "s1", path.name, expected_chunks(segs["b.1.audio"]))
    assert [p for _, p in demux(open_container(store, "s1", path.name))] == packets["b"]
    starts, pos = [], 0
    while pos < len(whole):
        starts.append(pos)
        pos += 4 + int.from_bytes(whole[pos:pos + 4], "big")
    last = starts[-1]
    path.write_bytes(whole[:last])  # the closing chunk gone
    with pytest.raises(VaultError, match="cut short"):
        open_container(store, "s1", path.name, expected_chunks(segs["b.1.audio"]))
    path.write_bytes(whole)
    # a chunk moved to another place (or another file) does not open
    name = container_name("c.1.audio", "opus")
    append_chunk(store, "s1", name, 1, b"chunk one")  # written as if it were the second
    with pytest.raises(VaultError):
        open_container(store, "s1", name)
    with pytest.raises(VaultError):  # another KEK opens nothing
        open_container(SessionStore(tmp_path, Vault(parse_kek(new_kek()))), "s1",
                       "a.1.audio.ogg.sealed")


def test_recording_mode_needs_a_kek_and_a_session_records_no_more_than_allowed():
    rec = SessionRecord("s", [("a", "A"), ("b", "B")], "zh", "")
    s = Settings()
    assert recording_mode(s, rec, sealed=True) == ("audio", "deployment setting")
    assert recording_mode(s, rec, sealed=False)[0] == "off"
    rec.options["recording"] = "audio+video"  # more than the deployment allows
    assert recording_mode(s, rec, sealed=True)[0] == "audio"
    rec.options["recording"] = "off"
    assert recording_mode(dataclasses.replace(s, recording="audio+video"), rec, True) == (
        "off", "session option")
    with pytest.raises(ValueError, match="LGD_RECORDING"):
        Settings(recording="everything")


async def test_media_expire_before_reports(tmp_path):
    kek = tmp_path / "kek"
    kek.write_text(new_kek())
    settings = dataclasses.replace(Settings.from_env(), kek_file=kek, retention_days=30.0,
                                   media_retention_days=7.0)
    now = time.time()
    store = SessionStore(tmp_path / "data", Vault(parse_kek(kek.read_text())))
    for sid, days_ago in (("old", 10.0), ("new", 1.0)):
        ended = datetime.fromtimestamp(now - days_ago * 86400, UTC).isoformat()
        store.save(SessionRecord(sid, [("a", "A"), ("b", "B")], "zh", ended, "ended",
                                 ended_at=ended))
        store.save_report(sid, {"session": {"id": sid}})
        record(store, sid, {"a": tone_packets(300, 0.5)}, {"a": 0.0})
    async with running_server(tmp_path / "data", settings) as run:  # sweeps at start-up
        store = run.server.store
        for _ in range(100):
            if not media_dir(store, "old").exists():
                break
            await asyncio.sleep(0.05)
        assert run.server.sweep(now) == []
        assert not media_dir(store, "old").exists() and media_dir(store, "new").exists()
        assert store.report("old") is not None  # the report stays until its own expiry
        assert run.server.sweep(now + 6.5 * 86400) == []  # "new" is 7.5 days old now
        assert not media_dir(store, "new").exists() and store.report("new") is not None
        assert run.server.sweep(now + 21 * 86400) == ["old"]  # 31 days: the rest goes
        entries = [(e["action"], e["session"]) for e in run.server.audit_log.read()
                   if e["action"].startswith("retention")]
        assert entries == [("retention.delete_media", "old"), ("retention.delete_media", "new"),
                           ("retention.delete", "old")]
