"""Session-end webhooks against real aiohttp receivers on 127.0.0.1: the signed payload
arrives and verifies; a receiver that fails twice gets it on the third attempt; the WeCom
target gets a markdown message; every attempt is in the delivery log."""

import json

import pytest

from hr.fit import with_fit
from hr.profiles import find_profile
from hr.webhooks import WebhookTarget, deliver, verify_signature
from testkit.assessment import with_assessment
from testkit.synth.roles import role_session
from testkit.synth.truth_events import truth_report
from tests.serverutil import webhook_receiver

SECRET = "s3cret"


@pytest.fixture(scope="module")
def report():
    return with_fit(truth_report(role_session("en")), find_profile("operations"))


async def test_signed_payload_arrives(report, tmp_path):
    runner, url, got = await webhook_receiver(0)
    try:
        d = await deliver(WebhookTarget(url, SECRET), report, tmp_path / "webhooks.jsonl")
    finally:
        await runner.cleanup()
    assert d.ok and d.attempts == 1 and len(got) == 1
    body, headers = got[0]["body"], got[0]["headers"]
    assert verify_signature(body, SECRET, headers["X-LGD-Signature"])
    assert not verify_signature(body + b" ", SECRET, headers["X-LGD-Signature"])
    payload = json.loads(body)
    assert payload["event"] == "session.ended"
    assert (
        payload["portraits"]["A"]["scores"]["leadership"]
        == (report["portraits"]["A"]["dimensions"]["leadership"]["score"])
    )
    fit = report["fit"]["candidates"]["A"]
    assert payload["portraits"]["A"]["fit"]["fit"] == fit["fit"] is not None
    assert payload["portraits"]["A"]["fit"]["reasons"] == fit["reasons"]


async def test_receiver_failing_twice_gets_it_on_retry(report, tmp_path):
    runner, url, got = await webhook_receiver(2)
    log = tmp_path / "webhooks.jsonl"
    try:
        d = await deliver(WebhookTarget(url, SECRET, base_delay_s=0.05), report, log)
    finally:
        await runner.cleanup()
    assert d.ok and d.attempts == 3 and d.status == 200
    assert len(got) == 3 and len({g["headers"]["X-LGD-Delivery"] for g in got}) == 1
    assert verify_signature(got[2]["body"], SECRET, got[2]["headers"]["X-LGD-Signature"])
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["attempt"], e["ok"], e["status"]) for e in entries] == [
        (1, False, 503),
        (2, False, 503),
        (3, True, 200),
    ]


async def test_unreachable_target_gives_up_and_logs(report, tmp_path):
    runner, url, _ = await webhook_receiver(0)
    await runner.cleanup()  # nothing listens there any more
    log = tmp_path / "webhooks.jsonl"
    d = await deliver(WebhookTarget(url, attempts=2, base_delay_s=0.01), report, log)
    assert not d.ok and d.attempts == 2 and d.status is None and d.error
    assert len(log.read_text().splitlines()) == 2


async def test_wecom_markdown(report, tmp_path):
    runner, url, got = await webhook_receiver(0)
    try:
        d = await deliver(WebhookTarget(url, kind="wecom"), report, tmp_path / "w.jsonl")
    finally:
        await runner.cleanup()
    assert d.ok
    msg = json.loads(got[0]["body"])
    assert msg["msgtype"] == "markdown"
    content = msg["markdown"]["content"]
    for p in report["participants"]:
        assert p["name"] in content
    assert report["portraits"]["A"]["summary"] in content
    assert report["fit"]["candidates"]["A"]["summary"] in content  # the fit and its reasons


async def test_targets_from_settings_and_session_end(report, tmp_path):
    from analysis.settings import Settings
    from hr.webhooks import notify, targets

    runner, url, got = await webhook_receiver(0)
    try:
        s = Settings.from_env(
            {
                "LGD_WEBHOOKS_URL": url,
                "LGD_WEBHOOKS_SECRET": SECRET,
                "LGD_WEBHOOKS_WECOM_URL": url,
                "LGD_DATA_DIR": str(tmp_path),
            }
        )
        done = await notify("session.ended", report, targets(s.webhooks), s.data_dir)
    finally:
        await runner.cleanup()
    assert [d.ok for d in done] == [True, True] and len(got) == 2
    kinds = sorted("X-LGD-Signature" in g["headers"] for g in got)
    assert kinds == [False, True]  # the JSON target is signed, the WeCom robot is not
    assert len((tmp_path / "webhooks.jsonl").read_text().splitlines()) == 2
    assert await notify("session.ended", report, targets(Settings().webhooks), tmp_path) == []


async def test_assessment_events_carry_ratings_flags_and_consensus(report, tmp_path):
    assessed = with_assessment(report)
    runner, url, got = await webhook_receiver(0)
    try:
        d = await deliver(WebhookTarget(url, SECRET), assessed, tmp_path / "w.jsonl",
                          event="assessment.submitted")
        w = await deliver(WebhookTarget(url, kind="wecom"), assessed, tmp_path / "w.jsonl",
                          event="assessment.final")
    finally:
        await runner.cleanup()
    assert d.ok and w.ok
    body = got[0]["body"]
    assert got[0]["headers"]["X-LGD-Event"] == "assessment.submitted"
    assert verify_signature(body, SECRET, got[0]["headers"]["X-LGD-Signature"])
    sent = json.loads(body)
    section = assessed["assessment"]
    assert sent["assessment"]["ratings"] == section["ratings"]
    assert sent["assessment"]["consensus"] == section["consensus"]
    assert sent["assessment"]["agreement"] == section["agreement"]
    flagged = {(p, k) for p, dims in sent["washup"].items() for k, c in dims.items()
               if c["flag"]}
    assert flagged == {(f["candidate"], f["dimension"]) for f in section["flags"]}
    pid = next(iter(section["consensus"]))
    assert sent["washup"][pid]["leadership"]["consensus"]["rating"] == 4
    assert "Consensus recorded" in json.loads(got[1]["body"])["markdown"]["content"]
    log = [json.loads(x) for x in (tmp_path / "w.jsonl").read_text().splitlines()]
    assert [x["event"] for x in log] == ["assessment.submitted", "assessment.final"]
