"""radar.js and graph.js render a report in headless Chromium: the demo page, served from
127.0.0.1, draws one radar per candidate and every typed edge of the graph (DOM after the
scripts ran), and its screenshot is not blank."""

import re
import subprocess
from pathlib import Path

import pytest
from aiohttp import web

from core.codec import to_dict
from interaction.portraits import PortraitModel
from testkit.synth.roles import role_session
from testkit.synth.truth_events import truth_events, truth_report

STATIC = Path(__file__).resolve().parent.parent / "dashboard" / "static"


@pytest.fixture(scope="module")
def session():
    return role_session("en")


@pytest.fixture(scope="module")
def report(session):
    return truth_report(session)


def _live_update(session, until_s: float) -> dict:
    """A real mid-session PortraitUpdate (the model fed the first `until_s` of the events),
    in its wire form."""
    model = PortraitModel([p for p, _ in session.participants], session.language)
    for ev in truth_events(session.truth, session.language):
        if getattr(ev, "until", 0.0) > until_s:
            break
        model.push(ev)
    return to_dict(model.flush()[0])


async def _serve(report, update=None):
    async def report_json(_: web.Request) -> web.Response:
        return web.json_response(report)

    async def update_json(_: web.Request) -> web.Response:
        return web.json_response(update)

    app = web.Application()
    app.router.add_get("/report.json", report_json)
    app.router.add_get("/update.json", update_json)
    app.router.add_static("/", STATIC)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/portraits-demo.html"


async def _chromium(tmp_path, *args):
    import asyncio

    proc = await asyncio.create_subprocess_exec(
        "/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=5000", *args,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out, _ = await asyncio.wait_for(proc.communicate(), 90)
    return out.decode()


async def test_demo_page_draws_radars_and_graph(report, tmp_path):
    runner, url = await _serve(report)
    try:
        dom = await _chromium(tmp_path, "--dump-dom", url)
        shot = tmp_path / "demo.png"
        await _chromium(tmp_path, "--window-size=1200,1200", f"--screenshot={shot}", url)
    finally:
        await runner.cleanup()
    assert f'data-rendered="{len(report["portraits"])}"' in dom
    assert dom.count("lgd-radar-shape") == len(report["portraits"])
    drawn = re.findall(r'class="lgd-edge lgd-edge-(\w+)" data-src="(\w+)" data-dst="(\w+)"', dom)
    assert sorted(drawn) == sorted((e["type"], e["src"], e["dst"])
                                   for e in report["graph"]["edges"])
    assert '<p id="status"></p>' in dom  # no load error shown
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 30_000  # a blank 1200x1200 page compresses to a few kB


async def test_live_update_redraws_the_radars(session, report, tmp_path):
    update = _live_update(session, 40.0)
    pid, dim = "A", "participation"
    live, final = update["scores"][pid][dim], report["portraits"][pid]["dimensions"][dim]["score"]
    assert round(live) != round(final)  # the update says something the report does not
    runner, url = await _serve(report, update)
    try:
        dom = await _chromium(tmp_path, "--dump-dom", url + "?update=update.json")
    finally:
        await runner.cleanup()
    assert f'data-updated-at="{update["at"]}:{len(update["scores"])}"' in dom
    radar = dom.split('id="radar-A"')[1].split("</svg>")[0]
    label = re.search(r'data-dimension="participation"[^>]*>([^<]*)<', radar)
    assert label is not None and label.group(1) == f"participation {round(live)}"
