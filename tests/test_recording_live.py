"""A live session recorded (issue 16, "Must show"): three real aiortc peers send a scripted
espeak discussion as Opus packets known byte for byte. After the session:

- no name, no transcript phrase, no PCM and no Opus packet of theirs is on disk in plain;
- with the KEK the recordings give back exactly the packets that were sent;
- re-analysis (the API, then `lgd analyze --session`) gives the live report back within
  1 pp of share with the same interruptions, as new versions, the live one kept;
- media reads are in the audit trail;
- erasing a candidate leaves no trace of their voice either, and the others' reports (live
  and re-analysed) keep every field of the schema.
"""

from __future__ import annotations

import asyncio
import dataclasses
import fractions
import os
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
from aiortc.mediastreams import AudioStreamTrack

from analysis.settings import Settings
from core.events import Utterance
from media.recorder import demux
from server.recording import open_container, segments
from server.store import SessionStore
from server.vault import load_vault, new_kek
from testkit.opus import opus_packets, to_48k
from testkit.peers import PacketTrack
from testkit.synth import synthesize_session
from tests.serverutil import running_server
from tests.test_erasure import SCHEMA_FIELDS
from tests.test_sfu import join

pytestmark = pytest.mark.slow  # real WebRTC peers for ~20 s

DURATION_S = 18.0
NAMES = {"A": "Quokka王伟", "B": "Narwhal李娜", "C": "Axolotl张敏"}
PHRASE = "我们的机密预算是九百万"


def _plain_hits(root: Path, needles: dict[str, bytes]) -> list[str]:
    hits = []
    for f in root.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            hits += [f"{f.relative_to(root)}: {what}" for what, n in needles.items() if n in data]
    return hits


def _needles(packets: dict[str, list[bytes]], pcm: dict[str, np.ndarray],
             who: list[str]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for p in who:
        out[f"name {p}"] = NAMES[p].encode()
        out[f"name part {p}"] = NAMES[p][:-2].encode()
        for i in range(50, len(packets[p]) - 1, 97):  # every ~2 s: bytes of a packet
            out[f"opus {p} #{i}"] = packets[p][i][2:34]
        x = pcm[p]  # (n,) float32 16 kHz; the loudest stretch, as s16 at 48 k and float 16 k
        k = int(np.argmax(np.abs(x)))
        out[f"pcm16 {p}"] = (np.clip(to_48k(x[k - 8:k + 8]), -1, 1) * 32767).astype(
            np.int16).tobytes()[:24]
        out[f"float {p}"] = x[k - 4:k + 4].astype(np.float32).tobytes()
    return out


async def test_a_recorded_live_session(tmp_path):
    sess = synthesize_session(3, "en", 5, duration_s=DURATION_S)
    ids = [p for p, _ in sess.participants]
    packets = {p: opus_packets(to_48k(sess.tracks[p])) for p in ids}
    kek = tmp_path / "kek"
    kek.write_text(new_kek())
    data = tmp_path / "data"
    base = Settings.from_env()
    settings = dataclasses.replace(base, kek_file=kek, asr=dataclasses.replace(
        base.asr, enabled=False))
    async with running_server(data, settings) as run:
        s = await run.create(ids, participants=[{"id": p, "name": NAMES[p]} for p in ids],
                             phases=[])
        sid, hr = s["id"], run.hr()
        peers = [await join(run, s, p, [o for o in ids if o != p], PacketTrack(packets[p]))
                 for p in ids]
        live = run.server.live[sid]
        assert live.recording == "audio"
        await asyncio.sleep(DURATION_S + 1.5)
        # a phrase that reaches the log and the report
        await live.analysed(live.feed_events([Utterance("A", 1.0, 3.0, PHRASE, (), "en")]))
        for pc, _ in peers:
            await pc.close()
        async with run.http.post(f"{run.url}/api/sessions/{sid}/end", headers=hr) as r:
            final = await r.json()
        assert final["recording"]["mode"] == "audio"
        assert sorted(g["who"] for g in final["recording"]["segments"]) == ids
        assert PHRASE in [u["text"] for u in final["transcript"]]
        api = f"{run.url}/api/sessions/{sid}"
        async with run.http.get(f"{api}/recordings", headers=hr) as r:
            segs = (await r.json())["segments"]
        async with run.http.get(f"{api}/media/{segs[0]['file']}", headers={
                **hr, "Range": "bytes=0-99"}) as r:
            assert r.status == 206 and (await r.read())[:4] == b"OggS"
            assert r.headers["Content-Range"].startswith("bytes 0-99/")
        async with run.http.post(f"{api}/reanalyse", headers=hr) as r:
            assert r.status == 200, await r.text()
            again = await r.json()
        async with run.http.get(f"{api}/reports/2", headers=hr) as r:
            v2 = await r.json()
        async with run.http.get(f"{api}/reports/diff?a=1&b=2", headers=hr) as r:
            assert (await r.json())["candidates"] == again["diff"]["candidates"]
        entries = [(e["action"], e.get("candidate"), e.get("version"))
                   for e in run.server.audit_log.read() if e.get("session") == sid]

    # nothing plain on disk
    needles = {"phrase": PHRASE.encode(), "phrase part": "九百万".encode(),
               "ogg": b"OggS", "opus head": b"OpusHead",
               **_needles(packets, sess.tracks, ids)}
    assert _plain_hits(data, needles) == []

    # with the KEK: the very packets that were sent, in order, none missing
    store = SessionStore(data, load_vault(kek, None))
    for seg in segments(store, sid):
        got = [p for _, p in demux(open_container(store, sid, seg["file"]))]
        sent = packets[seg["who"]]
        k = sent.index(got[0])
        sent = sent + [sent[-1]] * len(got)  # after the script, its last packet again
        assert got == sent[k:k + len(got)], seg["who"]
        assert len(got) >= len(packets[seg["who"]]) - k and k < 50  # the whole script
        assert len(seg["ts"]) == len(got) and seg["ts"][-1] == 960 * (len(got) - 1)

    # re-analysis equals the live report (1 pp of share, the same interruptions)
    diff = again["diff"]
    print("re-analysis v2 - live v1:", diff)  # the figures, for the record (pytest -s)
    assert diff["max_share_pp"] <= 1.0, diff
    assert diff["interruptions"]["only_a"] == [] and diff["interruptions"]["only_b"] == [], diff
    assert len(final["interruptions"]) >= 1  # the script's interruptions were heard at all
    assert v2["version"]["version"] == 2 and SCHEMA_FIELDS <= set(v2)
    assert ("media.read", ids[0], None) in entries or ("media.read", segs[0]["who"], None) \
        in entries
    assert ("recordings.list", None, None) in entries
    assert ("report.reanalyse", None, 2) in entries and ("report.read", None, 2) in entries
    env = {**os.environ, "LGD_KEK_FILE": str(kek), "LGD_DATA_DIR": str(data),
           "LGD_ASR_ENABLED": "0"}
    out = subprocess.run([sys.executable, "-m", "lgd.cli", "analyze", "--session", sid],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert '"version": 3' in out.stdout
    assert store.report(sid) == final  # the live report is kept as it was

    # erasure: their voice goes too; the others' reports keep the schema
    async with running_server(data, settings) as run:
        async with run.http.delete(f"{run.url}/api/sessions/{sid}/candidates/A",
                                   headers=run.hr()) as r:
            assert r.status == 200, await r.text()
        async with run.http.get(f"{run.url}/api/sessions/{sid}/recordings",
                                headers=run.hr()) as r:
            assert {g["who"] for g in (await r.json())["segments"]} == {"B", "C"}
        for n in (1, 2, 3):
            async with run.http.get(f"{run.url}/api/sessions/{sid}/reports/{n}",
                                    headers=run.hr()) as r:
                after = await r.json()
            assert SCHEMA_FIELDS <= set(after) and after["erased"] == ["erased-1"]
            assert "A" not in after["portraits"]
            assert {g["who"] for g in after["recording"]["segments"]} == {"B", "C"}
    assert _plain_hits(data, _needles(packets, sess.tracks, ["A"])) == []
    store = SessionStore(data, load_vault(kek, None))
    for n in (2, 3):  # decrypted, too: nothing of A in the re-analyses
        text = str(__import__("server.versions", fromlist=["load"]).load(store, sid, n))
        assert NAMES["A"] not in text


class VideoPacketTrack(AudioStreamTrack):
    """Pre-encoded VP8 frames at 15 fps, then nothing more (a camera switched off)."""

    kind = "video"

    def __init__(self, frames: list[bytes]) -> None:
        super().__init__()
        self.frames, self.i, self.start = frames, 0, 0.0

    async def recv(self):
        if self.i == 0:
            self.start = time.time()
        await asyncio.sleep(max(0.0, self.start + self.i / 15 - time.time()))
        while self.i >= len(self.frames):
            await asyncio.sleep(3600)
        p = av.Packet(self.frames[self.i])
        p.pts, p.time_base = 6000 * self.i, fractions.Fraction(1, 90000)
        self.i += 1
        return p


async def test_audio_and_video_are_recorded_as_sent(tmp_path):
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from tests.serverutil import bearer, give_consent, token_of
    from tests.test_recording import tone_packets, vp8_packets

    kek = tmp_path / "kek"
    kek.write_text(new_kek())
    base = Settings.from_env()
    settings = dataclasses.replace(base, kek_file=kek, recording="audio+video",
                                   asr=dataclasses.replace(base.asr, enabled=False))
    audio, video = tone_packets(300, 4.0), vp8_packets(30)
    async with running_server(tmp_path / "data", settings) as run:
        s = await run.create(["a", "b"], phases=[], recording="audio+video", affect="observe")
        info = f"{run.url}/api/sessions/{s['id']}/join-info"
        async with run.http.get(info, headers=bearer(token_of(s["links"]["join"]["a"]))) as r:
            notice = (await r.json())["notice"]
        assert "camera video are recorded" in notice
        await give_consent(run, s, "a")
        pc = RTCPeerConnection()
        pc.addTransceiver(PacketTrack(audio), direction="sendonly")
        pc.addTransceiver(VideoPacketTrack(video), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        async with run.http.post(f"{run.url}/api/sessions/{s['id']}/offer", json={
                "type": "offer", "sdp": pc.localDescription.sdp, "slots": {}},
                headers=bearer(token_of(s["links"]["join"]["a"]))) as r:
            answer = await r.json()
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        await asyncio.sleep(4.5)
        await pc.close()
        async with run.http.post(f"{run.url}/api/sessions/{s['id']}/end",
                                 headers=run.hr()) as r:
            final = await r.json()
        assert final["recording"]["mode"] == "audio+video"
    store = SessionStore(tmp_path / "data", load_vault(kek, None))
    segs = {g["kind"]: g for g in segments(store, s["id"])}
    got = [p for _, p in demux(open_container(store, s["id"], segs["video"]["file"]))]
    # every frame, from the first keyframe, byte for byte; but the last: aiortc's video
    # jitter buffer hands a frame on when the next one's first packet arrives
    assert got == video[:len(got)] and len(got) == len(video) - 1
    sound = [p for _, p in demux(open_container(store, s["id"], segs["audio"]["file"]))]
    k = audio.index(sound[0])
    assert sound[:len(audio) - k] == audio[k:] and k < 25
    assert _plain_hits(tmp_path / "data", {"webm": b"webm", "vp8": video[5][4:36],
                                           "ogg": b"OggS"}) == []
    # re-analysis decodes the recorded camera for the face stage, as the live session did
    from server.reanalysis import reanalyse

    again = reanalyse(store, s["id"], settings)
    live_face, re_face = final["nonverbal"]["a"]["face"], again["nonverbal"]["a"]["face"]
    assert live_face["windows"] >= 1 and re_face["windows"] >= 1
    assert re_face["status"].keys() == live_face["status"].keys()  # same cameras, same verdict
