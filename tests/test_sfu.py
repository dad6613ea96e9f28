"""The pass-through SFU with in-process aiortc peers (no browser needed for this part).

Three candidates: two send a tone pattern, one joins but never sends media. Every
candidate must receive every other sender's audio, relayed without re-encoding, while
the server analyses each source once and loses no analysis frame.
"""

from __future__ import annotations

import asyncio
import fractions
import time

import av
import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack

from testkit import peers
from tests.serverutil import give_consent, running_server

pytestmark = pytest.mark.slow  # real WebRTC peers

RATE = 48000


class ToneTrack(AudioStreamTrack):
    """Real-time paced 20 ms mono frames at 48 kHz: a tone, on for `on_s` of every `period_s`."""

    def __init__(self, f0: float, on_s: float, period_s: float) -> None:
        super().__init__()
        self.f0, self.on_s, self.period_s = f0, on_s, period_s
        self.n = 0
        self.start: float | None = None

    async def recv(self):
        if self.start is None:
            self.start = time.time()
        else:
            await asyncio.sleep(max(0.0, self.start + self.n / RATE - time.time()))
        t = (self.n + np.arange(960)) / RATE
        tone = 0.4 * np.sin(2 * np.pi * self.f0 * t) * ((t % self.period_s) < self.on_s)
        frame = av.AudioFrame.from_ndarray(
            (tone * 32767).astype(np.int16)[None, :], format="s16", layout="mono"
        )
        frame.sample_rate = RATE
        frame.pts = self.n
        frame.time_base = fractions.Fraction(1, RATE)
        self.n += 960
        return frame


async def join(run, session: dict, me: str, others: list[str], track):
    return await peers.join(run.http, run.url, session, me, others, track)


async def test_every_candidate_receives_every_other_sender(tmp_path):
    async with running_server(tmp_path) as run:
        s = await run.create(["a", "b", "c"])
        ids = ["a", "b", "c"]
        peers = {}
        tracks = {"a": ToneTrack(300, 0.5, 1.0), "b": ToneTrack(500, 0.3, 0.6), "c": None}
        for me in ids:
            peers[me] = await join(run, s, me, [o for o in ids if o != me], tracks[me])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            got = {(me, o): len(v) for me, (_, rec) in peers.items() for o, v in rec.items()}
            if all(got[(me, o)] >= 100 for me in ids for o in ("a", "b") if o != me):
                break
        for me, (_, rec) in peers.items():
            for o in ("a", "b"):
                if o == me:
                    continue
                levels = np.array(rec[o])
                assert len(levels) >= 100, f"{me} got {len(levels)} frames of {o}"
                # the tone's on/off pattern survives the relay: loud and silent frames
                assert (levels > 0.1).mean() > 0.2 and (levels < 0.01).mean() > 0.2, (me, o)
            assert len(rec.get("c", [])) == 0  # c never sends: nothing relayed, nothing broke
        live = run.server.live[s["id"]]
        stats = live.stats()
        assert stats["audio_frames_in"]["a"] > 100 and stats["audio_frames_in"]["b"] > 100
        assert sum(stats["analysis_frames_lost"].values()) == 0
        # the senders' RTCP reports reach the timeline (media/passthrough.py taps them)
        assert stats["sender_clock_reports"]["a"] >= 1 and stats["sender_clock_reports"]["b"] >= 1
        assert stats["sender_clock_refused"] == {"a": 0, "b": 0, "c": 0}
        room = stats["room"]
        # encoded once per source: each source frame was offered to both subscribers
        assert room["sources"]["a/audio"]["subscribers"] == 2
        for pc, _ in peers.values():
            await pc.close()
        report = await live.end()
        assert report["speaking_time_s"]["c"] == 0.0
        # tones are not speech: the VAD rightly hears nobody; the clock covered the session
        assert report["session"]["duration_s"] > 2.0


async def test_tone_track_is_what_the_test_assumes():
    t = ToneTrack(300, 0.5, 1.0)
    levels = [np.abs((await t.recv()).to_ndarray()).max() for _ in range(50)]
    assert min(levels[:24]) > 10000 and max(levels[26:]) == 0


async def test_a_reconnecting_candidate_is_heard_again_on_the_same_timeline(tmp_path):
    async with running_server(tmp_path) as run:
        s = await run.create(["a", "b"])
        pa, _ = await join(run, s, "a", ["b"], ToneTrack(300, 0.5, 1.0))
        pb, heard = await join(run, s, "b", ["a"], None)
        await asyncio.sleep(4)
        before = len(heard["a"])
        assert before > 50
        await pa.close()  # the network drops; the page reconnects with a new connection
        await asyncio.sleep(1)
        pa, _ = await join(run, s, "a", ["b"], ToneTrack(300, 0.5, 1.0))
        await asyncio.sleep(4)
        # b's slot for a carries the new connection: no renegotiation on b's side
        assert len(heard["a"]) > before + 100
        live = run.server.live[s["id"]]
        tl = live.source.timeline
        assert tl is not None and tl._sources["a"].generation > 1
        report = await live.end()
        # one continuous clock: the session covers both connections and the gap
        assert report["session"]["duration_s"] > 8.0
        await pa.close()
        await pb.close()


async def test_live_video_tap_feeds_the_face_stage_and_camera_off_breaks_nothing(tmp_path):
    """Policy observe: one candidate sends video (aiortc's synthetic frames: no face in
    them), one has the camera off. The face stage reports both, audio analysis goes on."""
    from aiortc.mediastreams import VideoStreamTrack

    async with running_server(tmp_path) as run:
        s = await run.create(["a", "b"], affect="observe")
        pc_a = RTCPeerConnection()
        pc_a.addTransceiver(ToneTrack(300, 0.5, 1.0), direction="sendonly")
        pc_a.addTransceiver(VideoStreamTrack(), direction="sendonly")
        await pc_a.setLocalDescription(await pc_a.createOffer())
        token = s["links"]["join"]["a"].split("token=")[1]
        await give_consent(run, s, "a")
        async with run.http.post(
            f"{run.url}/api/sessions/{s['id']}/offer",
            json={"type": "offer", "sdp": pc_a.localDescription.sdp, "slots": {}},
            headers={"Authorization": f"Bearer {token}"},
        ) as r:
            answer = await r.json()
        await pc_a.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        pc_b, _ = await join(run, s, "b", ["a"], ToneTrack(500, 0.3, 0.6))  # no camera
        await asyncio.sleep(7)
        live = run.server.live[s["id"]]
        assert live.stats()["audio_frames_in"]["b"] > 100
        report = await live.end()
        await pc_a.close()
        await pc_b.close()
    assert report["affect"]["policy"] == "observe"
    face_a = report["nonverbal"]["a"]["face"]
    assert face_a["windows"] > 0 and "ok" not in face_a["status"]  # frames seen, no face in them
    assert report["nonverbal"]["b"]["face"]["status"].get("camera_off", 0) > 0
    for dim in ("stress_resilience", "emotional_stability", "rapport"):
        assert report["portraits"]["a"]["dimensions"][dim]["score"] is None  # observe: no score


def test_rtp_timestamps_unwrap_across_the_32_bit_wrap_and_reports_map_alike():
    """Frames' RTP timestamps become one increasing count across the 2^32 wrap, a
    reordered frame steps back instead of wrapping, and an RTCP report's timestamp is
    unwrapped the same way without moving the count on."""
    from media.passthrough import _Unwrapper

    u = _Unwrapper()
    start = 2**32 - 1920
    assert [u.map((start + k * 960) % 2**32) for k in range(4)] == [
        start + k * 960 for k in range(4)]
    assert u.map((start + 960) % 2**32) == start + 960  # reordered: back, not a wrap
    assert u.map((start + 3 * 960) % 2**32) == start + 3 * 960
    assert u.nearest((start + 2 * 960 + 100) % 2**32) == start + 2 * 960 + 100  # a report
    assert u.nearest((start + 5 * 960) % 2**32) == start + 5 * 960
    assert u.map((start + 4 * 960) % 2**32) == start + 4 * 960  # `nearest` moved nothing
