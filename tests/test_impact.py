"""Adverse impact and validity: reference computations from published or generated data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from hr.impact import Outcome, score_difference, score_differences, selection_rates
from hr.profiles import find_profile
from hr.validity import (
    RatingsError,
    accept,
    correlation,
    parse_ratings,
    suggest_weights,
    validity_report,
)


def outcomes(group: str, n: int, selected: int) -> list[Outcome]:
    return [Outcome(f"{group}{i}", group, i < selected) for i in range(n)]


def test_four_fifths_on_the_uniform_guidelines_example():
    """Uniform Guidelines Questions and Answers (1979), the four-fifths example: hiring
    rates 60 % (whites), 45 % (American Indians), 48 % (Hispanics), 51 % (Blacks); impact
    ratios 75 %, 80 %, 85 %: adverse impact indicated for American Indians only. (Rates as
    published; 100 applicants per group here.)"""
    r = selection_rates(outcomes("white", 100, 60) + outcomes("american_indian", 100, 45)
                        + outcomes("hispanic", 100, 48) + outcomes("black", 100, 51))
    g = r["groups"]
    assert r["reference"] == "white" and not r["warnings"]
    assert {k: v["impact_ratio"] for k, v in g.items()} == {
        "american_indian": 0.75, "black": 0.85, "hispanic": 0.8, "white": 1.0}
    assert {k for k, v in g.items() if v["flag"] == "adverse_impact"} == {"american_indian"}
    p = stats.fisher_exact([[45, 55], [60, 40]])[1]
    assert g["american_indian"]["fisher_p"] == round(p, 4)


def test_no_flag_at_or_above_four_fifths():
    r = selection_rates(outcomes("a", 100, 50) + outcomes("b", 100, 40))  # 0.4 / 0.5 = 0.8
    assert r["groups"]["b"]["impact_ratio"] == 0.8 and r["groups"]["b"]["flag"] is None


def test_small_samples_give_a_warning_not_a_verdict():
    r = selection_rates(outcomes("a", 6, 4) + outcomes("b", 5, 1))
    assert r["groups"]["b"]["impact_ratio"] == pytest.approx(0.3, abs=1e-4)
    assert r["groups"]["b"]["flag"] is None
    assert len(r["warnings"]) == 1 and "too few" in r["warnings"][0]


def test_score_difference_is_welch():
    rng = np.random.default_rng(3)
    a, b = list(rng.normal(60, 10, 25)), list(rng.normal(55, 14, 40))
    d = score_difference(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert d["diff"] == round(np.mean(a) - np.mean(b), 3)
    assert d["ci"] == [round(ref.low, 3), round(ref.high, 3)]
    assert score_difference([1.0], b)["diff"] is None
    per = score_differences({"x": {"support": 70.0}, "y": {"support": 50.0},
                             "z": {"support": 60.0}}, {"x": "f", "y": "m", "z": "m"})
    assert per["support"]["f"]["n"] == [1, 2] and per["support"]["f"]["diff"] is None


def test_correlations_and_intervals_equal_scipy_on_a_known_cohort():
    """A generated cohort whose performance correlates 0.6 with one dimension."""
    rng = np.random.default_rng(7)
    n = 200
    logic = rng.normal(60, 12, n)
    noise = rng.normal(0, 1, n)
    perf = 0.6 * (logic - 60) / 12 + np.sqrt(1 - 0.36) * noise
    support = rng.normal(55, 10, n)  # unrelated
    ids = [f"c{i}" for i in range(n)]
    scores = {c: {"logical_structure": float(logic[i]), "support": float(support[i])}
              for i, c in enumerate(ids)}
    ratings = {c: float(perf[i]) for i, c in enumerate(ids)}
    fits = {c: 0.5 * s["logical_structure"] + 0.5 * s["support"] for c, s in scores.items()}
    rep = validity_report(scores, fits, ratings, find_profile("risk_control"))
    got = rep["dimensions"]["logical_structure"]
    ref = stats.pearsonr(logic, perf)
    ci = ref.confidence_interval(0.95)
    assert got["r"] == round(ref.statistic, 4) and got["n"] == n
    assert got["ci"] == [round(ci.low, 4), round(ci.high, 4)]
    assert 0.5 < got["r"] < 0.7  # the known correlation, within sampling error
    assert rep["dimensions"]["support"]["ci"][0] < 0 < rep["dimensions"]["support"]["ci"][1]
    assert correlation([1.0, 2.0], [1.0, 2.0])["r"] is None  # too few pairs: no number
    new = rep["suggested"]
    assert abs(sum(new["weights"].values()) - 1) < 1e-9 and new["version"] == 2
    old = find_profile("risk_control")
    assert new["weights"]["logical_structure"] > old.weights["logical_structure"]
    assert accept(old, new).version == 2 and old.version == 1  # old decisions keep v1


def test_ratings_csv():
    text = "candidate_id,rating,date\na,3.5,2026-01-01\na,4.0,2026-06-01\nb,2,2026-03-01\n"
    assert parse_ratings(text) == {"a": 4.0, "b": 2.0}
    with pytest.raises(RatingsError, match="line 3"):
        parse_ratings("candidate_id,rating,date\na,3,2026-01-01\nb,excellent,2026-01-02\n")
    assert suggest_weights(find_profile("operations"), {}) is None
