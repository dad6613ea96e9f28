"""The assessor's workflow in real Chromium, on one session with two assessor dashboards and
four candidates who join over WebRTC:
- the exercise's phases advance and the countdown agrees across all six pages within 1 s;
  the candidates read the case; an assessor moves the exercise on and every page follows;
- each assessor bookmarks, notes and rates; a reload mid-session loses nothing;
- assessor a1 cannot read a2's ratings before both have submitted;
- the wash-up shows both ratings, the machine's score and the flag; the lead records the
  consensus and a2's page shows it; HR's sessions page lists the session and the assessors'
  calibration. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest

from hr.washup import machine_on_scale
from lgd.simulate import auto_join_options, write_fake_wav
from testkit.synth.voices import Voice, render
from tests.serverutil import bearer, running_server, token_of

pytestmark = pytest.mark.slow  # seven real Chromium pages

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CANDIDATES = ["A", "B", "C", "D"]


async def _left(page) -> float:
    got = await page.evaluate("document.body.dataset.left")
    assert got is not None
    return float(got)


async def _timers_agree(pages) -> None:
    """What the pages show at one moment: read together, not one after another (on a busy
    machine six reads in a row span seconds of countdown)."""
    lefts = await asyncio.gather(*(_left(p) for p in pages))
    assert max(lefts) - min(lefts) <= 1.0, lefts


async def test_two_assessors_and_four_candidates_run_the_exercise(tmp_path):
    from playwright.async_api import async_playwright

    wav = tmp_path / "voice.wav"  # real speech (a tone is not speech to the VAD), looped
    said = render(Voice("en-us+m3", 50, 160, "m"), "I think the budget should go to training")
    gap = np.zeros(16000, np.float32)
    write_fake_wav(np.concatenate([said, gap] * 8).astype(np.float32), wav)
    async with running_server(tmp_path / "data", ice_host_addresses="127.0.0.1") as run:
        s = await run.create(CANDIDATES, assessors=[{"id": "a1", "name": "王评委", "lead": True},
                                                    {"id": "a2", "name": "李评委"}],
                             phases=[{"name": "reading", "duration_s": 30},
                                     {"name": "discussion", "duration_s": 120},
                                     {"name": "summary", "duration_s": 60}],
                             case={"title": "某银行网点转型",
                                   "text": "请讨论网点转型的三项优先措施。"})
        sid = s["id"]
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={wav}",
                "--allow-loopback-in-peer-connection",
                "--autoplay-policy=no-user-gesture-required"])
            try:
                a1 = await browser.new_page(viewport={"width": 1200, "height": 1400})
                a2 = await browser.new_page(viewport={"width": 1200, "height": 1400})
                link_token = token_of(s["links"]["assessors"]["a1"])
                carried: list[str] = []  # requests of a1's page that sent the 7-day token
                a1.on("request", lambda rq: carried.append(rq.url.split("?")[0]) if (
                    link_token in rq.url or link_token in (rq.headers.get("authorization")
                                                           or "")) else None)
                await a1.goto(s["links"]["assessors"]["a1"])
                await a2.goto(s["links"]["assessors"]["a2"])
                cands = []
                for pid in CANDIDATES:  # the first to join starts the clock: reading
                    page = await browser.new_page(viewport={"width": 800, "height": 600})
                    await page.goto(s["links"]["join"][pid] + "&" + auto_join_options(
                        time.time(), video=False))
                    cands.append(page)
                pages = [a1, a2, *cands]

                # the exercise: reading (the case), then discussion, timers in step
                for page in pages:
                    await page.wait_for_function("document.body.dataset.phase === 'reading'",
                                                 timeout=30_000)
                await _timers_agree(pages)
                for page in cands:
                    assert await page.evaluate("!document.getElementById('case').hidden")
                    # (open while reading, folded after: its text stays in the page)
                    assert "转型" in (await page.text_content("#case-text") or "")
                for page in pages:
                    await page.wait_for_function(
                        "document.body.dataset.phase === 'discussion'", timeout=30_000)
                await _timers_agree(pages)

                # each assessor bookmarks, notes and rates while they talk
                for page in (a1, a2):
                    await page.wait_for_selector("#assess-panel:not([hidden])")
                    await page.click("#bookmark")
                    await page.wait_for_function("document.body.dataset.notes === '1'")
                    await page.select_option("#note-cand", "B")
                    await page.select_option("#note-dim", "turn_taking")
                    await page.fill("#note-text", "cut in on A")
                    await page.click("#note-add")
                    await page.wait_for_function("document.body.dataset.notes === '2'")
                await a1.select_option('select[data-c="B"][data-d="turn_taking"]', "1")
                await a1.wait_for_function("document.body.dataset.saved")
                await a2.select_option('select[data-c="B"][data-d="turn_taking"]', "4")
                await a2.wait_for_function("document.body.dataset.saved")
                await a1.reload()  # nothing entered is lost
                await a1.wait_for_function("document.body.dataset.notes === '2'")
                assert await a1.eval_on_selector(
                    'select[data-c="B"][data-d="turn_taking"]', "s => s.value") == "1"
                await a1.wait_for_function("document.body.dataset.phase === 'discussion'")
                await _timers_agree(pages)

                # one assessor moves the exercise on; every page follows, in step
                await a2.click("#next-phase")
                for page in pages:
                    await page.wait_for_function("document.body.dataset.phase === 'summary'",
                                                 timeout=10_000)
                await _timers_agree(pages)
                ARTIFACTS.mkdir(exist_ok=True)
                await a1.screenshot(path=str(ARTIFACTS / "exercise-a1-live.png"),
                                    full_page=True)
                await cands[0].screenshot(path=str(ARTIFACTS / "exercise-candidate.png"))

                async with run.http.post(f"{run.url}/api/sessions/{sid}/end",
                                         headers=run.hr()) as r:
                    report = await r.json()
                # a cell where machine and people must differ: both rate away from it
                cell = next(((p, k) for p in ("C", "D", "A", "B")
                             for k, d in report["portraits"][p]["dimensions"].items()
                             if d["score"] is not None and (p, k) != ("B", "turn_taking")),
                            None)
                assert cell is not None, "the machine scored nothing: no speech was heard"
                who, scored = cell
                machine = machine_on_scale(report["portraits"][who]["dimensions"][scored][
                    "score"])
                away = "1" if machine >= 3 else "5"
                for page in (a1, a2):
                    await page.select_option(f'select[data-c="{who}"][data-d="{scored}"]', away)
                    await page.wait_for_function("document.body.dataset.saved")

                # blind until both submitted
                await a1.click("#submit-ratings")
                await a1.wait_for_function("document.body.dataset.submitted === 'true'")
                async with run.http.get(f"{run.url}/api/sessions/{sid}/ratings", headers=bearer(
                        token_of(s["links"]["assessors"]["a1"]))) as r:
                    seen = await r.json()
                assert seen["all"] is None and seen["mine"]["B"]["turn_taking"] == 1
                assert await a1.evaluate("document.body.dataset.washup") is None
                assert "a2 4" not in await a1.inner_text("body")
                await a2.click("#submit-ratings")
                for page in (a1, a2):
                    await page.wait_for_function("Number(document.body.dataset.washup) > 0",
                                                 timeout=15_000)

                # the wash-up: both ratings, the machine's score, the flag; the consensus
                text = await a1.inner_text("#washup")
                assert "a1 1" in text and "a2 4" in text
                row = f'#washup tr[data-c="{who}"][data-d="{scored}"]'
                assert "flag" in (await a1.get_attribute(row, "class") or "")
                # as the page writes a number (JavaScript: 5.0 is "5")
                assert f"{machine:g}" in await a1.inner_text(row)
                await a1.select_option(f"{row} select.cc", "2")
                await a1.fill(f"{row} input.cr", "spoke little in the summary")
                await a1.click(f"{row} button[data-agree]")
                await a1.wait_for_function("document.body.dataset.consensus === '1'")
                await a2.wait_for_function("document.body.dataset.consensus === '1'",
                                           timeout=10_000)
                assert "spoke little" in await a2.inner_text(row)
                await a1.screenshot(path=str(ARTIFACTS / "exercise-a1-washup.png"),
                                    full_page=True)
                await a2.screenshot(path=str(ARTIFACTS / "exercise-a2-washup.png"),
                                    full_page=True)

                # the link's token went only to open the page and to get short-lived ones
                assert carried and {u.split("/")[-1] if "/api/" in u else "page"
                                    for u in carried} <= {"grant", "page"}, carried

                # HR: the sessions view with the assessors' calibration
                hr = await browser.new_page(viewport={"width": 1300, "height": 900})
                await hr.goto(f"{run.url}/sessions?token={run.server.token('hr')}")
                await hr.wait_for_function("document.body.dataset.assessors === '2'")
                assert sid in await hr.inner_text("#sessions")
                assert "王评委" in await hr.inner_text("#calibration")
                await hr.check("#flagged")
                await hr.wait_for_function("document.body.dataset.loaded === '1'")
                await hr.screenshot(path=str(ARTIFACTS / "exercise-hr-sessions.png"),
                                    full_page=True)
            finally:
                await browser.close()
        async with run.http.get(f"{run.url}/api/sessions/{sid}/report",
                                headers=run.hr()) as r:
            final = await r.json()
    assert [ph["name"] for ph in final["phases"]] == ["reading", "discussion", "summary"]
    section = final["assessment"]
    assert section["ratings"]["a2"]["B"]["turn_taking"] == 4
    assert section["consensus"][who][scored]["rating"] == 2
    assert {n["kind"] for n in section["notes"]["a1"]} == {"bookmark", "note"}
    assert any(f["candidate"] == who and f["dimension"] == scored for f in section["flags"])
