"""The hiring campaign: rows, per-role summaries and CSV from ended sessions; decisions and
self-reported groups through the API (kept apart, HR or the candidate only); adverse impact
and validity over the campaign; the HR page in real Chromium, filtered and exported."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from hr.campaign import campaign_rows, filter_rows, impact_report, role_summaries, rows_csv
from server.store import SessionRecord
from testkit.campaign import generated_sessions
from testkit.synth.roles import role_session
from testkit.synth.truth_events import truth_report
from tests.serverutil import running_server

ROLES = ["client_manager", "risk_control", "operations"]


@pytest.fixture(scope="module")
def sessions():
    return generated_sessions(truth_report(role_session("zh")), 20, ROLES, seed=4)


def test_rows_summaries_and_csv(sessions):
    rows = campaign_rows(sessions)
    assert len(rows) == 20 * 4 and {r["role"] for r in rows} == set(ROLES)
    mine = filter_rows(rows, role="risk_control")
    s = role_summaries(mine)["risk_control"]
    assert s["sessions"] == 7 and s["candidates"] == 28  # sessions 1, 4, … 19
    adv = sum(r["recommendation"] == "advance" for r in mine)
    assert s["pass_rate_recommended"] == round(adv / 28, 4)
    assert s["pass_rate_decided"] is None  # nobody has decided yet
    fits = sorted(r["fit"] for r in mine)
    assert s["fit"]["median"] == round((fits[13] + fits[14]) / 2, 1)
    parsed = list(csv.DictReader(io.StringIO(rows_csv(mine))))
    assert len(parsed) == 28 and {p["role"] for p in parsed} == {"risk_control"}
    assert [float(p["fit"]) for p in parsed] == [r["fit"] for r in mine]
    assert filter_rows(rows, since="2026-10-05", until="2026-10-06") == [
        r for r in rows if r["date"] in ("2026-10-05", "2026-10-06")]


def test_impact_uses_decisions_where_made_and_says_so(sessions):
    rows = campaign_rows(sessions)
    groups = {(r["session_id"], r["candidate_id"]): {"gender": "f" if i % 2 else "m"}
              for i, r in enumerate(rows) if i % 10}  # one in ten declined to say
    rows[1]["decision"] = "advance"
    rep = impact_report(rows, groups, "gender")
    assert rep["outcomes_from"] == {"decision": 1, "recommendation": 71, "no_group": 8}
    sel = rep["selection"]["groups"]
    assert sel["f"]["n"] + sel["m"]["n"] == 72
    assert rep["selection"]["reference"] in ("f", "m") and "rule" in rep["selection"]
    assert set(rep["score_differences"]["support"]) == {"f", "m"}


async def test_campaign_api_and_page(sessions, tmp_path):
    import dataclasses

    from analysis.settings import Settings

    settings = dataclasses.replace(Settings.from_env(), hr_profiles=tmp_path / "profiles")
    async with running_server(tmp_path, settings) as run:
        store = run.server.store
        for record, report in sessions:
            store.save(SessionRecord.from_json(record))
            store.save_report(record["id"], report)
        hr = run.hr()
        base = f"{run.url}/api/sessions/gen00"
        async with run.http.post(f"{base}/decisions/A", headers=hr,
                                 json={"decision": "advance", "by": "王经理"}) as r:
            assert r.status == 200
        async with run.http.post(f"{base}/decisions/A", headers=hr,
                                 json={"decision": "maybe", "by": "x"}) as r:
            assert r.status == 400
        assessor = run.server.token("assessor", "gen00")
        async with run.http.post(f"{base}/decisions/B", json={"decision": "hold", "by": "x"},
                                 headers={"Authorization": f"Bearer {assessor}"}) as r:
            assert r.status == 403  # HR decides
        cand = {"Authorization": f"Bearer {run.server.token('candidate', 'gen00', 'B')}"}
        async with run.http.put(f"{base}/groups/B", json={"gender": "f"}, headers=cand) as r:
            assert r.status == 200
        async with run.http.put(f"{base}/groups/A", json={"gender": "m"}, headers=cand) as r:
            assert r.status == 403  # only their own
        async with run.http.put(f"{base}/groups/B", json={"religion": "x"}, headers=cand) as r:
            assert r.status == 400
        kept = json.loads((tmp_path / "groups" / "gen00.json").read_text())
        assert kept == {"B": {"gender": "f"}}
        assert "gender" not in (tmp_path / "sessions" / "gen00" / "report.json").read_text()
        async with run.http.get(f"{run.url}/api/campaign?role=client_manager", headers=hr) as r:
            view = await r.json()
        assert {row["role"] for row in view["rows"]} == {"client_manager"}
        assert view["summary"]["client_manager"]["decided"]["advance"] == 1
        async with run.http.get(f"{run.url}/api/campaign/impact?attribute=gender",
                                headers=hr) as r:
            impact = await r.json()
        assert r.status == 200 and impact["outcomes_from"]["decision"] == 0
        assert "voice_fairness" in impact  # the sessions' mic/voice sections, pooled
        # later performance that follows logical structure: a usable correlation
        ratings = "candidate_id,rating,date\n" + "".join(
            f"{row['session_id']}/{row['candidate_id']},"
            f"{(row['scores']['logical_structure'] or 50) / 20:.2f},2027-01-01\n"
            for row in campaign_rows(sessions))
        async with run.http.post(f"{run.url}/api/campaign/ratings", data=ratings,
                                 headers=hr) as r:
            assert r.status == 200
        async with run.http.get(f"{run.url}/api/campaign/validity?role=operations",
                                headers=hr) as r:
            val = await r.json()
        assert val["fit"]["n"] == 24 and val["profile"] == "operations"  # sessions 2, 5, … 17
        async with run.http.post(f"{run.url}/api/campaign/validity/accept?role=operations",
                                 headers=hr) as r:
            accepted = await r.json()
        assert r.status == 200 and accepted["version"] == 2
        assert accepted["weights"] == val["suggested"]["weights"]
        new = await run.create(["X", "Y"], profile="operations")
        assert store.load(new["id"]).options["profile"]["version"] == 2
        assert store.report("gen02")["fit"]["profile"]["version"] == 1  # decided on v1
        await _page(run, tmp_path)


async def _page(run, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    url = f"{run.url}/campaign?token={run.server.token('hr')}"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium",
                                          args=["--no-sandbox", "--disable-gpu"])
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 900},
                                          accept_downloads=True)
            await page.goto(url)
            await page.wait_for_function("document.body.dataset.loaded === '80'")
            await page.select_option("#role", "operations")
            await page.wait_for_function("document.body.dataset.loaded === '24'")
            roles = await page.eval_on_selector_all("#rows tbody tr td:nth-child(4)",
                                                    "tds => tds.map(td => td.textContent)")
            assert set(roles) == {"operations"} and len(roles) == 24
            shot = tmp_path / "campaign.png"
            await page.screenshot(path=str(shot), full_page=True)
            async with page.expect_download() as dl:
                await page.click("#csv")
            path = await (await dl.value).path()
            rows = list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"))))
            assert len(rows) == 24 and {r["role"] for r in rows} == {"operations"}
        finally:
            await browser.close()
    assert shot.stat().st_size > 20_000
    keep = Path(__file__).resolve().parent.parent / "out"
    keep.mkdir(exist_ok=True)
    (keep / "campaign.png").write_bytes(shot.read_bytes())


def test_voice_fairness_pools_the_sessions_sections():
    from hr.campaign import voice_fairness

    def rep(r):
        return {"fairness": {"dimensions": {"support": {"mic_level_db": {"r": r, "n": 4}}}}}

    pooled = voice_fairness([rep(0.5), rep(-0.1), rep(None), {}])
    assert pooled == {"support": {"mic_level_db": {"mean_r": 0.2, "sessions": 2}}}
