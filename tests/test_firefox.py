"""The candidate page in Firefox: a Firefox candidate and a Chromium candidate hear each other.

Firefox (Debian's firefox-esr, headless) uses its built-in fake devices (a tone and a test
pattern); Chromium plays a scripted track. Both pages report what they receive.

Firefox gathers no loopback candidate (whatever `media.peerconnection.ice.loopback` says),
so here the server also offers this machine's own address: packets to a local address are
still routed over the loopback interface and never leave the machine.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from lgd.simulate import (
    LEAD_IN_S,
    auto_join_options,
    die_with_parent,
    launch_chromium,
    write_fake_wav,
)
from testkit.synth import RoomConfig, synthesize_session
from tests.serverutil import running_server

pytestmark = pytest.mark.slow  # real Firefox and Chromium

FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox")
PREFS = {
    "media.navigator.streams.fake": True,  # built-in fake microphone and camera
    "media.navigator.permission.disabled": True,
    "media.autoplay.default": 0,
    "media.autoplay.blocking_policy": 0,
    "media.peerconnection.ice.loopback": True,  # the test server is on 127.0.0.1 only
    "media.peerconnection.ice.obfuscate_host_addresses": False,
    "browser.shell.checkDefaultBrowser": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.enabled": False,
    "app.update.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
}


def own_address() -> str:
    import ifaddr

    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and not ip.ip.startswith("127."):
                return ip.ip
    raise RuntimeError("no local IPv4 address")


def launch_firefox(url: str, profile: Path) -> subprocess.Popen:
    profile.mkdir(parents=True)
    lines = [
        f'user_pref("{k}", {str(v).lower() if isinstance(v, bool) else v});'
        for k, v in PREFS.items()
    ]
    (profile / "user.js").write_text("\n".join(lines) + "\n")
    assert FIREFOX is not None
    return subprocess.Popen(
        [FIREFOX, "--headless", "--no-remote", "--profile", str(profile), url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )


@pytest.mark.skipif(FIREFOX is None, reason="firefox-esr is installed by scripts/bootstrap")
async def test_firefox_and_chromium_candidates_hear_each_other(tmp_path):
    session = synthesize_session(3, "en", 5, RoomConfig(bleed_db=(-20.0, -20.0)), 20.0)
    track = session.tracks["A"]
    wav = tmp_path / "a.wav"
    write_fake_wav(track, wav)
    hosts = f"127.0.0.1,{own_address()}"
    async with running_server(tmp_path / "data", ice_host_addresses=hosts) as run:
        s = await run.create(["C", "F"])
        start_at = time.time() + 6.0
        opts = auto_join_options(start_at)
        browsers = [
            launch_chromium(f"{s['links']['join']['C']}&{opts}", tmp_path / "chromium", wav, None),
            launch_firefox(f"{s['links']['join']['F']}&{opts}", tmp_path / "firefox"),
        ]
        try:
            await asyncio.sleep(start_at + LEAD_IN_S + len(track) / 16000 - time.time())
            async with run.http.get(f"{run.url}/api/sessions/{s['id']}?envelopes=1",
                                    headers=run.hr()) as r:
                stats = (await r.json())["stats"]
        finally:
            for b in browsers:
                b.terminate()
            for b in browsers:
                try:
                    b.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    b.kill()
    clients = stats["clients"]
    print({k: {kk: vv for kk, vv in v.items() if kk != "envelope"} for k, v in clients.items()})
    print(stats["room"]["connected"], stats["audio_frames_in"])
    assert set(clients) == {"C", "F"}, f"pages that joined and reported: {sorted(clients)}"
    assert clients["F"]["state"] == "connected" and clients["C"]["state"] == "connected"
    # Each browser's own receive statistics (getStats): the other's audio decoded with
    # little concealment, and its video decoded. (Headless Firefox has no audio output, so
    # its WebAudio level meter stays silent; the decoder statistics are what it offers.)
    for me in ("C", "F"):
        rtp = clients[me]["rtp"]
        audio = next(r for k, r in rtp.items() if k.startswith("audio"))
        video = next(r for k, r in rtp.items() if k.startswith("video"))
        assert audio["packets"] > 20 * 50 * 0.7, (me, audio)
        assert audio["concealed"] < 0.05 * audio["samples"], (me, audio)
        assert video["frames"] > 50, (me, video)
    heard_by_c = np.array(clients["C"]["envelope"]["F"], dtype=float)
    assert len(heard_by_c) > 50  # Chromium's meter ran on Firefox's (fake, silent) audio
    assert stats["audio_frames_in"]["F"] > 200 and stats["audio_frames_in"]["C"] > 200
