"""The exercise's phases in real Chromium: two assessors' dashboards and a candidate's page
show the same phase and the same countdown (within 1 s) on the server's session clock; the
candidate reads the case; one assessor moves the exercise on and every page follows."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest

from lgd.simulate import auto_join_options, write_fake_wav
from tests.serverutil import running_server

pytestmark = pytest.mark.slow  # three real Chromium pages

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


async def _state(page) -> tuple[str | None, float | None]:
    got = await page.evaluate("[document.body.dataset.phase, document.body.dataset.left]")
    return got[0], (None if got[1] is None else float(got[1]))


async def test_phases_and_timer_agree_across_pages(tmp_path):
    from playwright.async_api import async_playwright

    wav = tmp_path / "a.wav"
    t = np.arange(16000 * 30) / 16000
    write_fake_wav((0.2 * np.sin(2 * np.pi * 220 * t) * (t % 2 < 1)).astype(np.float32), wav)
    async with running_server(tmp_path / "data", ice_host_addresses="127.0.0.1") as run:
        s = await run.create(["A", "B"], assessors=[{"id": "a1", "lead": True}, {"id": "a2"}],
                             phases=[{"name": "reading", "duration_s": 4},
                                     {"name": "discussion", "duration_s": 120},
                                     {"name": "summary", "duration_s": 60}],
                             case={"title": "某银行网点转型",
                                   "text": "请讨论网点转型的三项优先措施。"})
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={wav}",
                "--allow-loopback-in-peer-connection",
                "--autoplay-policy=no-user-gesture-required"])
            try:
                dashboards = []
                for aid in ("a1", "a2"):
                    page = await browser.new_page(viewport={"width": 1200, "height": 800})
                    await page.goto(s["links"]["assessors"][aid])
                    dashboards.append(page)
                cand = await browser.new_page(viewport={"width": 900, "height": 700})
                await cand.goto(s["links"]["join"]["A"] + "&" + auto_join_options(
                    time.time(), video=False))
                pages = [*dashboards, cand]
                for page in pages:  # the candidate's join starts the session clock
                    await page.wait_for_function("document.body.dataset.phase === 'reading'",
                                                 timeout=30_000)
                assert await cand.evaluate("!document.getElementById('case').hidden")
                assert "转型" in await cand.inner_text("#case-text")
                for page in pages:
                    await page.wait_for_function(
                        "document.body.dataset.phase === 'discussion'", timeout=30_000)
                await asyncio.sleep(1.0)
                lefts = [(await _state(page))[1] for page in pages]
                assert None not in lefts and max(lefts) - min(lefts) <= 1.0, lefts  # type: ignore[operator]
                await dashboards[1].click("#next-phase")
                for page in pages:
                    await page.wait_for_function("document.body.dataset.phase === 'summary'",
                                                 timeout=10_000)
                lefts = [(await _state(page))[1] for page in pages]
                assert max(lefts) - min(lefts) <= 1.0, lefts  # type: ignore[operator]
                ARTIFACTS.mkdir(exist_ok=True)
                await dashboards[0].screenshot(path=str(ARTIFACTS / "phases-dashboard.png"))
                await cand.screenshot(path=str(ARTIFACTS / "phases-candidate.png"))
            finally:
                await browser.close()
        async with run.http.post(f"{run.url}/api/sessions/{s['id']}/end",
                                 headers=run.hr()) as r:
            report = await r.json()
    assert [ph["name"] for ph in report["phases"]] == ["reading", "discussion", "summary"]
