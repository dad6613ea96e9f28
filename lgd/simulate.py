"""`lgd simulate`: rehearse a discussion with real WebRTC clients.

One headless Chromium per candidate joins the room with its recording as the fake
microphone (and optionally a Y4M file as the fake camera). All browsers open their
devices at the same wall-clock moment (`startAt` in the join link), so the recordings
play in step as they would in a real room; the server hears them over WebRTC exactly as
it hears real candidates.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import wave
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

from media.files import load_tracks

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-dev-shm-usage",
    "--mute-audio",
]
LEAD_IN_S = 1.0  # silence before the recording: every browser is capturing by then
TAIL_S = 1.5  # silence after it: the session ends before the fake device loops


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    raise RuntimeError("no chromium found: apt-get install chromium")


@dataclass
class Simulation:
    server: str
    session: dict[str, Any]
    start_at: float  #: epoch s at which the browsers open their devices
    duration_s: float  #: of the padded recordings
    workdir: Path
    browsers: list[subprocess.Popen] = field(default_factory=list)
    lead_in_s: float = LEAD_IN_S

    @property
    def sid(self) -> str:
        return str(self.session["id"])

    @property
    def assessor(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.session['assessor_token']}"}

    async def wait_played(self) -> None:
        """Until every recording has played once (plus the analysis delay)."""
        await asyncio.sleep(max(0.0, self.start_at + self.duration_s - TAIL_S + 0.6 - time.time()))

    async def end(self, http: aiohttp.ClientSession) -> dict[str, Any]:
        """End the session; the answer waits for every stage to finish (ASR may be minutes
        behind on a small machine that also runs all the browsers)."""
        async with http.post(
            f"{self.server}/api/sessions/{self.sid}/end",
            headers=self.assessor,
            timeout=aiohttp.ClientTimeout(total=None, sock_read=3600),
        ) as r:
            r.raise_for_status()
            return await r.json()

    async def get(self, http: aiohttp.ClientSession, path: str) -> dict[str, Any]:
        async with http.get(
            f"{self.server}/api/sessions/{self.sid}{path}", headers=self.assessor
        ) as r:
            r.raise_for_status()
            return await r.json()

    async def file_offsets(self, http: aiohttp.ClientSession) -> dict[str, float]:
        """Where each recording's t=0 fell on the session clock (s), from the moment each
        browser opened its fake microphone; for comparing the report with a script."""
        info = await self.get(http, "")
        started = datetime.fromisoformat(info["started_at"]).timestamp()
        clients = info.get("stats", {}).get("clients", {})
        return {
            pid: c["capture_started_ms"] / 1000.0 + self.lead_in_s - started
            for pid, c in clients.items()
            if c.get("capture_started_ms")
        }

    def close(self) -> None:
        for b in self.browsers:
            if b.poll() is None:
                b.terminate()
        for b in self.browsers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                b.wait(timeout=5)
            if b.poll() is None:
                b.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


def write_fake_wav(samples: np.ndarray, path: Path, rate: int = 16000) -> None:
    """Chromium's fake microphone reads 16-bit PCM WAV and loops it."""
    pad_in = np.zeros(int(LEAD_IN_S * rate), np.float32)
    pad_out = np.zeros(int(TAIL_S * rate), np.float32)
    pcm = np.clip(np.concatenate([pad_in, samples, pad_out]) * 32767, -32768, 32767)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype("<i2").tobytes())


async def start_simulation(
    http: aiohttp.ClientSession,
    server: str,
    hr_token: str,
    tracks: dict[str, Path],
    names: dict[str, str] | None = None,
    videos: dict[str, Path] | None = None,
    language: str = "zh",
    launch_s: float | None = None,
    camera: bool = True,
    cpus: set[int] | None = None,
) -> Simulation:
    """Create a session on `server` and launch one headless Chromium per track (on the
    given `cpus` only, when set: a latency measurement keeps the browsers off the server's
    core)."""
    loaded = load_tracks(tracks, pad_short=True)
    names = names or {}
    body = {
        "participants": [{"id": pid, "name": names.get(pid, pid)} for pid in loaded.ids],
        "language": language,
        "phases": [],  # a rehearsal plays recordings of a free discussion: no exercise timer
    }
    async with http.post(
        f"{server}/api/sessions", json=body, headers={"Authorization": f"Bearer {hr_token}"}
    ) as r:
        if r.status != 201:
            raise RuntimeError(f"cannot create the session: {r.status} {await r.text()}")
        session = await r.json()
    workdir = Path(tempfile.mkdtemp(prefix="lgd-simulate-"))
    # Browsers start in turn; give them time to be ready before the common start.
    start_at = time.time() + (launch_s if launch_s is not None else 4.0 + 1.5 * len(loaded.ids))
    sim = Simulation(server, session, start_at, loaded.duration_s + LEAD_IN_S + TAIL_S, workdir)
    for i, pid in enumerate(loaded.ids):
        wav = workdir / f"{pid}.wav"
        write_fake_wav(loaded.samples[i], wav)
        url = f"{session['links']['join'][pid]}&{auto_join_options(start_at, camera)}"
        video = videos.get(pid) if videos else None
        sim.browsers.append(launch_chromium(url, workdir / f"profile-{pid}", wav, video, cpus))
    return sim


def auto_join_options(start_at: float, video: bool = True) -> str:
    """Join-link options of a simulated candidate: no consent click, raw levels, small
    video (or camera off), devices opened at `start_at` (epoch s)."""
    return f"auto=1&raw=1&video={'low' if video else 'none'}&startAt={int(start_at * 1000)}"


def launch_chromium(url: str, profile: Path, wav: Path, video: Path | None,
                    cpus: set[int] | None = None) -> subprocess.Popen:
    flags = [
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        f"--use-file-for-fake-audio-capture={wav}",
    ]
    if video is not None:
        flags.append(f"--use-file-for-fake-video-capture={video}")
    return subprocess.Popen(
        [chromium_path(), *flags, url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: die_with_parent(cpus),
    )


def die_with_parent(cpus: set[int] | None = None) -> None:
    """In the child before exec: a browser must not outlive a killed simulation (Linux);
    with `cpus`, it and every process it starts run on those cores only."""
    import ctypes
    import signal

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if cpus:
        os.sched_setaffinity(0, cpus)


async def run(
    server: str,
    hr_token: str,
    tracks: dict[str, Path],
    names: dict[str, str],
    videos: dict[str, Path],
    language: str,
    out: Path | None,
    on_ready=None,
) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        sim = await start_simulation(http, server, hr_token, tracks, names, videos, language)
        try:
            if on_ready is not None:
                on_ready(sim)
            await sim.wait_played()
            print("the recordings have played; ending the session (the analysis finishes "
                  "its backlog first)", flush=True)
            report = await sim.end(http)
        finally:
            sim.close()
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, ensure_ascii=False, indent=1))
    return report
