"""Two assessors in real Chromium: each bookmarks, notes and rates on their own dashboard; a
reload loses nothing; neither sees the other's ratings before both submitted; then both see
the wash-up with the machine's scores and the flags. Screenshots are kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.events import Interruption, SpeechEnded, SpeechHorizon, SpeechStarted, Turn
from tests.serverutil import running_server

pytestmark = pytest.mark.slow  # two real Chromium pages

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


async def test_two_assessors_rate_blind_then_see_the_washup(tmp_path):
    from playwright.async_api import async_playwright

    async with running_server(tmp_path, auto_start=False) as run:
        s = await run.create(["A", "B"], assessors=[{"id": "a1", "lead": True}, {"id": "a2"}],
                             phases=[])
        sid = s["id"]
        live = run.server.live[sid]
        await live.start()
        await live.analysed(live.feed_events([
            SpeechStarted("A", 0.5), SpeechEnded("A", 0.5, 6.0), Turn("A", 0.5, 6.0),
            SpeechStarted("B", 5.0), Interruption("B", "A", 5.0, True), SpeechEnded("B", 5.0, 11),
            Turn("B", 6.0, 11.0), SpeechHorizon(14.0)]))
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path="/usr/bin/chromium",
                                              args=["--no-sandbox", "--disable-gpu"])
            try:
                a1 = await browser.new_page(viewport={"width": 1200, "height": 1400})
                a2 = await browser.new_page(viewport={"width": 1200, "height": 1400})
                await a1.goto(s["links"]["assessors"]["a1"])
                await a2.goto(s["links"]["assessors"]["a2"])
                for page in (a1, a2):
                    await page.wait_for_selector("#assess-panel:not([hidden])")
                await a1.click("#bookmark")
                await a1.wait_for_function("document.body.dataset.notes === '1'")
                await a1.select_option("#note-cand", "B")
                await a1.select_option("#note-dim", "turn_taking")
                await a1.fill("#note-text", "cut in on A")
                await a1.click("#note-add")
                await a1.wait_for_function("document.body.dataset.notes === '2'")
                await a1.select_option('select[data-c="B"][data-d="turn_taking"]', "1")
                await a1.wait_for_function("document.body.dataset.saved")
                await a1.reload()  # nothing entered is lost
                await a1.wait_for_function("document.body.dataset.notes === '2'")
                assert await a1.eval_on_selector(
                    'select[data-c="B"][data-d="turn_taking"]', "s => s.value") == "1"
                await a2.select_option('select[data-c="B"][data-d="turn_taking"]', "5")
                await a2.wait_for_function("document.body.dataset.saved")
                await a1.click("#submit-ratings")
                await a1.wait_for_function("document.body.dataset.submitted === 'true'")
                async with run.http.get(
                        f"{run.url}/api/sessions/{sid}/ratings",
                        headers={"Authorization": "Bearer " + s["links"]["assessors"]["a2"]
                                 .split("token=")[1]}) as r:
                    assert (await r.json())["all"] is None  # a2 cannot read a1's yet
                assert await a2.evaluate("document.body.dataset.washup") is None
                await a2.click("#submit-ratings")
                for page in (a1, a2):
                    await page.wait_for_function("Number(document.body.dataset.washup) > 0",
                                                 timeout=15_000)
                text = await a1.inner_text("#washup")
                assert "a1 1" in text and "a2 5" in text
                ARTIFACTS.mkdir(exist_ok=True)
                await a1.screenshot(path=str(ARTIFACTS / "assessor-a1.png"), full_page=True)
                await a2.screenshot(path=str(ARTIFACTS / "assessor-a2.png"), full_page=True)
            finally:
                await browser.close()
        await asyncio.sleep(0)
