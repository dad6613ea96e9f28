"""Playback in real Chromium (issue 16, "Must show"): a recorded session's page plays each
candidate's audio and video, decrypted by the server on the fly; clicking a piece of a
score's evidence plays that candidate from that moment (the audio and video elements' time
and the page's state say so); every media read and playback is audited. A screenshot is
kept."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analysis.settings import Settings
from server.audit import token_id
from server.reanalysis import reanalyse
from server.store import SessionRecord, SessionStore
from server.vault import load_vault, new_kek
from testkit.opus import opus_packets, to_48k
from testkit.synth import synthesize_session
from tests.serverutil import running_server
from tests.test_recording import record, vp8_packets

pytestmark = pytest.mark.slow  # a real Chromium page

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
STARTS = {"A": 0.0, "B": 0.7, "C": 1.3}  #: when each candidate's connection began


async def test_clicking_evidence_plays_that_candidate_there(tmp_path):
    from playwright.async_api import async_playwright

    kek = tmp_path / "kek"
    kek.write_text(new_kek())
    base = Settings.from_env()
    settings = dataclasses.replace(base, kek_file=kek, data_dir=tmp_path / "data",
                                   asr=dataclasses.replace(base.asr, enabled=False))
    sess = synthesize_session(3, "en", 7, duration_s=20.0)
    store = SessionStore(settings.data_dir, load_vault(kek, None))
    now = datetime.now(UTC).isoformat(timespec="seconds")
    rec = SessionRecord("pb1", sess.participants, "en", now, "ended", started_at=now,
                        ended_at=now, duration_s=21.0)
    store.save(rec)
    packets = {p: opus_packets(to_48k(sess.tracks[p][int(STARTS[p] * 16000):]))
               for p, _ in sess.participants}
    record(store, "pb1", packets, STARTS, vp8_packets(100), ("A", "B", "C"), fps=5.0)
    store.save_report("pb1", reanalyse(store, "pb1", settings))  # stands in for the live one
    report = store.report("pb1")
    assert report is not None
    async with running_server(settings.data_dir, settings) as run:
        link = run.server.token("assessor", "pb1")
        url = f"{run.url}/playback/pb1?token={link}"
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"])
            try:
                page = await browser.new_page(viewport={"width": 1200, "height": 1200})
                await page.goto(url)
                await page.wait_for_function("window.playback.ready", timeout=15_000)
                # a piece of evidence of a candidate who joined late, well into the session
                items = await page.eval_on_selector_all(
                    "#evidence .evidence", "es => es.map(e => [e.dataset.who, +e.dataset.at])")
                assert items, "no evidence with a time on the page"
                # (mid-session: the audio plays on while the test looks)
                who, at = min((i for i in items if i[0] != "A"), key=lambda i: abs(i[1] - 9))
                assert 3.0 < at < 15.0, items
                idx = items.index([who, at])
                await page.locator("#evidence .evidence").nth(idx).click()
                probe = """() => ({
                    p: window.playback,
                    els: [...document.querySelectorAll('audio')].map(a => ({
                        who: a.dataset.who, paused: a.paused, t: a.currentTime,
                        ready: a.readyState, err: a.error && a.error.message})),
                    cams: [...document.querySelectorAll('video')].map(a => ({
                        who: a.dataset.who, paused: a.paused, t: a.currentTime}))})"""
                try:
                    await page.wait_for_function(
                        f"window.playback.playing === '{who}' && "
                        f"!document.getElementById('audio-{who}-1').paused && "
                        f"document.getElementById('audio-{who}-1').currentTime > 0",
                        timeout=10_000)
                finally:
                    state = await page.evaluate(probe)
                    print(who, at, state)  # what the page did, shown when it fails
                assert state["p"]["error"] is None
                playing = [e for e in state["els"] if not e["paused"]]
                assert [e["who"] for e in playing] == [who]  # that candidate, and only them
                # at that moment on their own recording: session time minus their start
                assert playing[0]["t"] == pytest.approx(at - STARTS[who], abs=0.5)
                assert state["p"]["at"] == pytest.approx(at, abs=0.5)
                # their camera too, on the same clock, and no one else's
                cams = [e for e in state["cams"] if not e["paused"]]
                assert [e["who"] for e in cams] == [who] and len(state["cams"]) == 3
                assert cams[0]["t"] == pytest.approx(playing[0]["t"], abs=0.5)
                shot = tmp_path / "playback.png"
                await page.screenshot(path=str(shot), full_page=True)
                ARTIFACTS.mkdir(exist_ok=True)
                shutil.copy(shot, ARTIFACTS / "playback.png")
            finally:
                await browser.close()
        audit = [e for e in run.server.audit_log.read() if e.get("session") == "pb1"]
    actions = {e["action"] for e in audit}
    assert {"recordings.list", "report.read", "media.read", "media.playback"} <= actions
    plays = [e for e in audit if e["action"] == "media.playback"]
    assert plays[-1]["candidate"] == who and plays[-1]["at"] == pytest.approx(at, abs=0.01)
    assert all(e["who"]["role"] == "assessor" for e in audit)
    reads = [e for e in audit if e["action"] == "media.read"]
    assert {e["candidate"] for e in reads} == {"A", "B", "C"}  # all through the audited route
    assert {e["segment"].split(".")[2] for e in reads} == {"audio", "video"}
    # the media URLs carried a short-lived grant, never the link's own token
    assert all(e["who"]["token"] != token_id(link) for e in reads)
