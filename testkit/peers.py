"""Candidates as real WebRTC peers (aiortc) for live-path tests and benchmarks.

A peer sends pre-encoded Opus packets in real time, as a browser's encoder would, and
receives every other candidate's relayed track. `run_peers` runs a room's peers in a child
process (so their CPU is not the server's) and reports what went over the wire.
"""

from __future__ import annotations

import asyncio
import fractions
import os
import time
from typing import Any

import aiohttp
import av
import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError


class PacketTrack(AudioStreamTrack):
    """Sends pre-encoded Opus packets in real time, as a browser's encoder would: the
    sender only packetizes them (the bytes on the wire are these)."""

    def __init__(self, packets: list[bytes]) -> None:
        super().__init__()
        self.packets = packets
        self.i = 0
        self.start: float | None = None

    async def recv(self):
        if self.start is None:
            self.start = time.time()
        else:
            await asyncio.sleep(max(0.0, self.start + 0.02 * self.i - time.time()))
        if self.i >= len(self.packets):  # the script is over: silence from here on
            data = self.packets[-1]
        else:
            data = self.packets[self.i]
        p = av.Packet(data)
        p.pts, p.time_base = 960 * self.i, fractions.Fraction(1, 48000)
        self.i += 1
        return p


def join_token(session: dict[str, Any], who: str) -> str:
    return session["links"]["join"][who].split("token=")[1]


async def consent(http: aiohttp.ClientSession, url: str, session: dict[str, Any],
                  who: str) -> dict[str, Any]:
    """What the join page does when the candidate ticks "I agree": the notice's version back."""
    auth = {"Authorization": f"Bearer {join_token(session, who)}"}
    base = f"{url}/api/sessions/{session['id']}"
    async with http.get(f"{base}/join-info", headers=auth) as r:
        version = (await r.json())["notice_version"]
    async with http.post(f"{base}/consent", headers=auth,
                         json={"notice_version": version, "agree": True}) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def join(http: aiohttp.ClientSession, url: str, session: dict[str, Any], me: str,
               others: list[str], track: Any) -> tuple[RTCPeerConnection, dict[str, list[float]]]:
    """Consent, then offer: one send transceiver (`track`, or none sent when None) and one
    receive slot per other candidate. Returns the connection and, per other candidate, the
    RMS level of every frame received from them."""
    pc = RTCPeerConnection()
    if track is not None:
        pc.addTransceiver(track, direction="sendonly")
    else:
        pc.addTransceiver("audio", direction="sendonly")  # joins, never sends media
    received: dict[str, list[float]] = {o: [] for o in others}
    recv_transceivers = [(o, pc.addTransceiver("audio", direction="recvonly")) for o in others]

    @pc.on("track")
    def on_track(t) -> None:
        who = next(o for o, tr in recv_transceivers if tr.receiver.track is t)

        async def drain() -> None:
            try:
                while True:
                    f = await t.recv()
                    x = f.to_ndarray().astype(np.float32) / 32768
                    received[who].append(float(np.sqrt((x**2).mean())))
            except MediaStreamError:
                pass

        asyncio.ensure_future(drain())

    await pc.setLocalDescription(await pc.createOffer())
    slots = {tr.mid: o for o, tr in recv_transceivers}
    await consent(http, url, session, me)
    async with http.post(
        f"{url}/api/sessions/{session['id']}/offer",
        json={"type": "offer", "sdp": pc.localDescription.sdp, "slots": slots},
        headers={"Authorization": f"Bearer {join_token(session, me)}"},
    ) as r:
        assert r.status == 200, await r.text()
        answer = await r.json()
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
    return pc, received


async def wire_stats(pc: RTCPeerConnection) -> dict[str, int]:
    """RTP packets this peer sent, received, and found missing by sequence number."""
    out = {"sent": 0, "received": 0, "lost": 0}
    for s in (await pc.getStats()).values():
        if s.type == "outbound-rtp":
            out["sent"] += s.packetsSent
        elif s.type == "inbound-rtp":
            out["received"] += s.packetsReceived
            out["lost"] += max(0, s.packetsLost)
    return out


def run_peers(url: str, session: dict[str, Any], packets: dict[str, list[bytes]],
              duration: float = 0.0, out: Any = None, cpus: set[int] | None = None,
              cues: tuple[Any, ...] = ()) -> None:
    """A room's candidates, in this (child) process. They stay `duration` s after joining,
    or, with `cues` (multiprocessing events), until the last cue is set. With `out` (a
    multiprocessing queue), puts the peers' summed `wire_stats` taken as each cue is set
    (`marks`) and at the end (`end`)."""
    if cpus:
        os.sched_setaffinity(0, cpus)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        async with aiohttp.ClientSession() as http:
            ids = list(packets)
            pcs = [(await join(http, url, session, p, [o for o in ids if o != p],
                               PacketTrack(packets[p])))[0] for p in ids]
            marks: list[dict[str, int]] = []
            for cue in cues:
                await loop.run_in_executor(None, cue.wait)
                marks.append(await _summed(pcs))
            await asyncio.sleep(0.0 if cues else duration)
            end = await _summed(pcs)
            for pc in pcs:
                await pc.close()
            if out is not None:
                out.put({"end": end, "marks": marks})

    asyncio.run(main())


async def _summed(pcs: list[RTCPeerConnection]) -> dict[str, int]:
    total = {"sent": 0, "received": 0, "lost": 0}
    for pc in pcs:
        for k, v in (await wire_stats(pc)).items():
            total[k] += v
    return total
