"""Job profiles and overall fit: profiles are validated with the line of each mistake; the fit
is a pure function of the portrait and the profile, checked by hand; every reason points at
evidence the report holds."""

from __future__ import annotations

import pytest

from hr.fit import candidate_fit, fit_section, with_fit
from hr.profiles import BUNDLED, ProfileError, dump_profile, find_profile, parse_profile
from interaction.dimensions import KEYS
from testkit.synth.roles import role_session
from testkit.synth.truth_events import truth_report

GOOD = """\
id: analyst
version: 2
name: {zh: 分析岗, en: Analyst}
weights:
  evidence: 0.5
  logical_structure: 0.3
  participation: 0.2
keywords: [数据, data]
thresholds: {advance: 60, hold: 45}
suggestions:
  evidence: {zh: 多用数据, en: Use data}
"""


@pytest.fixture(scope="module")
def report():
    return truth_report(role_session("zh"))


@pytest.mark.parametrize("name", ["client_manager", "risk_control", "operations"])
def test_bundled_profiles_are_valid(name):
    p = find_profile(name)
    assert p.id == name and abs(sum(p.weights.values()) - 1) < 1e-9
    assert set(p.weights) <= set(KEYS) and p.keywords and p.suggestions
    assert parse_profile(dump_profile(p)) == p  # what HR saves is what it loads


@pytest.mark.parametrize(("text", "line", "words"), [
    (GOOD.replace("participation: 0.2", "participation: 0.3"), 4, "sum to 1"),
    (GOOD.replace("participation: 0.2", "charisma: 0.2"), 7, "unknown dimension 'charisma'"),
    (GOOD.replace("keywords:", "keyword:"), 8, "unknown key 'keyword'"),
    (GOOD.replace("logical_structure: 0.3", "logical_structure: lots"), 6, "must be a number"),
    (GOOD.replace("{advance: 60, hold: 45}", "{advance: 40, hold: 45}"), 9, "hold <= advance"),
    (GOOD.replace("version: 2", "version: 0"), 2, "version"),
    (GOOD.replace("weights:\n", "weights: [\n"), 6, "not valid YAML"),
    (GOOD + "weights: {}\n", 12, "given twice"),
])
def test_a_bad_profile_names_its_line(text, line, words):
    with pytest.raises(ProfileError) as err:
        parse_profile(text, "analyst.yaml")
    assert f"analyst.yaml:{line}:" in str(err.value) and words in str(err.value), err.value


def test_unknown_profile_lists_the_known_ones(tmp_path):
    with pytest.raises(ProfileError, match="client_manager"):
        find_profile("astronaut")
    (tmp_path / "analyst.yaml").write_text(GOOD.replace("id: analyst", "id: other"))
    with pytest.raises(ProfileError, match="does not match"):
        find_profile("analyst", tmp_path)


def test_fit_by_hand(report):
    """One candidate, computed from the portrait's numbers with the formula written out."""
    profile = parse_profile(GOOD)
    pid = next(iter(report["portraits"]))
    dims = report["portraits"][pid]["dimensions"]
    s = {k: dims[k]["score"] for k in ("evidence", "logical_structure", "participation")}
    assert all(v is not None for v in s.values())
    want = (0.5 * s["evidence"] + 0.3 * s["logical_structure"] + 0.2 * s["participation"]) / 1.0
    got = candidate_fit(report, pid, profile)
    assert got["fit"] == round(want, 1)
    assert got["recommendation"] == ("advance" if want >= 60 else "hold" if want >= 45
                                     else "reject")
    assert got["confirmed_by"] is None  # never an automatic decision
    pulls = {r["dimension"]: r["pull"] for r in got["reasons"]}
    assert pulls["evidence"] == round(0.5 * (s["evidence"] - 50), 2)
    assert got["profile"] == "analyst" and got["profile_version"] == 2


def test_fit_is_a_pure_function(report):
    profile = find_profile("client_manager")
    a = fit_section(report, profile)
    b = fit_section(report, profile)
    assert a == b and report.get("fit") is None  # the report itself is left alone
    assert with_fit(report, None) is report


def test_every_reason_links_to_evidence_in_the_report(report):
    profile = find_profile("operations")
    fits = fit_section(report, profile)["candidates"]
    assert {f["recommendation"] for f in fits.values()} <= {"advance", "hold", "reject"}
    n = 0
    for pid, f in fits.items():
        assert f["reasons"] and f["summary"]
        for r in f["reasons"]:
            held = report["portraits"][pid]["dimensions"][r["dimension"]]["evidence"]
            for e in r["evidence"]:
                assert e in held
                n += 1
        lines = {(u["start"], u["text"][:80]) for u in report["transcript"] if u["who"] == pid}
        for e in f["keywords"]["evidence"]:
            assert (e["at"], e["detail"]) in lines
    assert n > 0


def test_too_little_scored_gives_no_fit(report):
    profile = parse_profile(GOOD.replace(
        "  evidence: 0.5\n  logical_structure: 0.3\n  participation: 0.2\n",
        "  stress_resilience: 0.6\n  participation: 0.4\n"))
    pid = next(iter(report["portraits"]))
    got = candidate_fit(report, pid, profile)  # affect is off: stress_resilience is null
    assert got["fit"] is None and got["recommendation"] is None
    assert got["unscored"] == ["stress_resilience"] and "40%" in got["why_no_fit"]


def test_the_bundled_directory_is_what_the_package_ships():
    assert sorted(p.stem for p in BUNDLED.glob("*.yaml")) == [
        "client_manager", "operations", "risk_control"]


def test_the_feedback_page_carries_the_profiles_suggestions(report):
    from hr.feedback import render_feedback_html

    fitted = with_fit(report, find_profile("client_manager"))
    for pid, f in fitted["fit"]["candidates"].items():
        page = render_feedback_html(fitted, pid)
        for s in f["suggestions"]:
            assert s["text"] in page
        assert str(f["fit"]) not in page  # suggestions only: no score, no recommendation
    assert any(f["suggestions"] for f in fitted["fit"]["candidates"].values())
