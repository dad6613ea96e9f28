"""Real `lgd serve` processes, and aiortc candidates that reconnect by themselves, for the
restart and drain tests (tests/test_restart.py)."""

from __future__ import annotations

import asyncio
import fractions
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Serve:
    """`lgd serve` as a subprocess on 127.0.0.1 (embedded analysis worker, no Redis)."""

    def __init__(self, data: Path, port: int, **env: str) -> None:
        self.data, self.port, self.url = data, port, f"http://127.0.0.1:{port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("LGD_")}
        self.env |= {"PYTHONPATH": str(ROOT), "LGD_SERVER_ICE_HOST_ADDRESSES": "127.0.0.1",
                     "LGD_ASR_ENABLED": "0", **env}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data.parent / f"serve-{port}-{time.time_ns()}.log"

    def start(self, own_group: bool = False) -> subprocess.Popen[bytes]:
        """own_group: in a process group of its own, as a terminal's foreground job is
        (see `ctrl_c`)."""
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "lgd.cli", "serve", "--host", "127.0.0.1", "--port",
                 str(self.port), "--data-dir", str(self.data)],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                start_new_session=own_group)
        return self.proc

    def ctrl_c(self) -> None:
        """What a terminal's Ctrl-C does: SIGINT to the server and every child it started."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGINT)

    async def ready(self, timeout: float = 90.0) -> None:
        """Until /healthz answers (the process imported, recovered and listens)."""
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while True:
                assert self.proc is not None and self.proc.poll() is None, self.output()
                try:
                    async with http.get(f"{self.url}/healthz") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                assert time.monotonic() < deadline, f"not ready in {timeout} s\n{self.output()}"
                await asyncio.sleep(0.2)

    def hr(self) -> dict[str, str]:
        token = (self.data / "hr-token").read_text().strip()
        return {"Authorization": f"Bearer {token}"}

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:] if self.log.exists() else ""


class ScriptTrack(AudioStreamTrack):
    """A candidate's microphone: pre-encoded Opus packets of their script, on one wall
    clock from `start` (a new connection goes on where the script is now; what is sent
    while no connection is up is lost, as a real microphone's is)."""

    def __init__(self, packets: list[bytes], start: float) -> None:
        super().__init__()
        self.packets, self.start = packets, start
        self.i: int | None = None

    async def recv(self) -> av.Packet:
        if self.i is None:
            self.i = max(0, int((time.time() - self.start) / 0.02))
        else:
            self.i += 1
        await asyncio.sleep(max(0.0, self.start + 0.02 * self.i - time.time()))
        data = self.packets[min(self.i, len(self.packets) - 1)]
        p = av.Packet(data)
        p.pts, p.time_base = 960 * self.i, fractions.Fraction(1, 48000)
        return p


class Candidate:
    """An aiortc client that behaves like join.js: it offers with its token and, when the
    connection drops (its state fails, or nothing has come from the room for `silent_s`),
    offers again, retrying with backoff while the server is down; it stops on 409 (the
    session ended)."""

    def __init__(self, url: str, sid: str, me: str, others: list[str], token: str,
                 packets: list[bytes], start: float, silent_s: float = 2.0) -> None:
        self.url, self.sid, self.me, self.others = url, sid, me, others
        self.auth = {"Authorization": f"Bearer {token}"}
        self.packets, self.start, self.silent_s = packets, start, silent_s
        self.pc: RTCPeerConnection | None = None
        self.heard = 0.0  #: wall time of the latest frame from the room
        self.connected = 0.0  #: wall time of the latest answer
        self.offers = 0  #: answered offers (1 + reconnects)
        self.attempts = 0  #: offers tried
        self.ended = False
        self._task: asyncio.Task[None] | None = None

    def run(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self.pc is not None:
            await self.pc.close()

    async def _run(self) -> None:
        async with aiohttp.ClientSession() as http:
            while not self.ended:
                await self._connect(http)
                while not self.ended and not self._dropped():
                    await asyncio.sleep(0.25)

    def _dropped(self) -> bool:
        assert self.pc is not None
        if self.pc.connectionState in ("failed", "closed", "disconnected"):
            return True
        # a fresh connection gets a few seconds to hear anyone before silence counts
        return time.time() - max(self.heard, self.connected + 6.0) > self.silent_s

    async def _connect(self, http: aiohttp.ClientSession) -> None:
        pause = 0.25
        while True:
            if self.pc is not None:
                await self.pc.close()
            self.heard = 0.0
            pc = self.pc = RTCPeerConnection()
            pc.addTransceiver(ScriptTrack(self.packets, self.start), direction="sendonly")
            slots = {}
            recv = [pc.addTransceiver("audio", direction="recvonly") for _ in self.others]

            @pc.on("track")
            def on_track(track: Any) -> None:
                async def drain() -> None:
                    try:
                        while True:
                            await track.recv()
                            self.heard = time.time()
                    except MediaStreamError:
                        pass

                asyncio.ensure_future(drain())

            await pc.setLocalDescription(await pc.createOffer())
            for o, tr in zip(self.others, recv, strict=True):
                slots[tr.mid] = o
            self.attempts += 1
            try:
                async with http.post(
                        f"{self.url}/api/sessions/{self.sid}/offer", headers=self.auth,
                        json={"type": "offer", "sdp": pc.localDescription.sdp,
                              "slots": slots}) as r:
                    if r.status == 409:
                        self.ended = True
                        return
                    if r.status == 200:
                        answer = await r.json()
                        await pc.setRemoteDescription(
                            RTCSessionDescription(answer["sdp"], answer["type"]))
                        self.offers += 1
                        self.connected = time.time()
                        return
            except aiohttp.ClientError:
                pass  # the server is down: try again
            await asyncio.sleep(pause)
            pause = min(2 * pause, 4.0)
