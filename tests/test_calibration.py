"""Assessor calibration across sessions (hr/calibration.py), against numbers worked by hand."""

from hr.calibration import AssessedSession, calibration


def _report(scores):
    return {"portraits": {p: {"dimensions": {k: {"score": v} for k, v in dims.items()}}
                          for p, dims in scores.items()}}


def test_leniency_and_agreement_with_the_consensus():
    two = {"a1": {"name": "王", "lead": True, "candidates": ["A", "B"]},
           "a2": {"name": "李", "lead": False, "candidates": ["A", "B"]}}
    s1 = AssessedSession(
        "s1", two,
        ratings={"a1": {"A": {"support": 4, "leadership": 5}, "B": {"support": 3}},
                 "a2": {"A": {"support": 2, "leadership": 3}, "B": {"support": 3}}},
        submitted={"a1": "t", "a2": "t"},
        consensus={"A": {"support": {"rating": 3, "reason": "r", "by": "a1"}}},
        report=_report({"A": {"support": 50, "leadership": 25}, "B": {"support": None}}))
    blind = AssessedSession(  # a2 has not submitted: still blind, not counted
        "s2", two, ratings={"a1": {"A": {"support": 1}}}, submitted={"a1": "t"},
        consensus={}, report=None)
    alone = AssessedSession(
        "s3", {"x": {"name": "王", "lead": True, "candidates": ["A"]}},
        ratings={"x": {"A": {"support": 4, "leadership": None}}}, submitted={"x": "t"},
        consensus={"A": {"support": {"rating": 4, "reason": "r", "by": "x"}}}, report=None)
    got = calibration([s1, blind, alone])["assessors"]
    wang, li = got["王"], got["李"]
    # 王: +1 vs the consensus, +2 and 0 vs 李's ratings (s1); 0 vs the consensus (s3)
    assert (wang["sessions"], wang["ratings"], wang["compared"]) == (2, 4, 4)
    assert wang["leniency"] == 0.75 and wang["mean_abs_diff"] == 0.75
    assert (wang["consensus_cells"], wang["exact"], wang["within_one"]) == (2, 0.5, 1.0)
    assert wang["vs_machine"] == 2.0  # 4 − 3.0 and 5 − 2.0
    assert wang["calibrate"] and wang["why"] == ["lenient by 0.75"]
    assert li["leniency"] == -1.0 and li["exact"] == 0.0 and li["vs_machine"] == 0.0
    assert li["why"] == ["severe by 1.00"]


def test_the_within_one_rule_needs_enough_consensus_cells():
    one = {"a": {"name": "赵", "lead": True, "candidates": ["A"]}}
    dims = ["support", "leadership", "turn_taking", "participation", "influence"]
    far = AssessedSession(
        "s", one, ratings={"a": {"A": {d: (5 if i % 2 else 1) for i, d in enumerate(dims)}}},
        submitted={"a": "t"},
        consensus={"A": {d: {"rating": 3, "reason": "r", "by": "a"} for d in dims}},
        report=None)
    got = calibration([far])["assessors"]["赵"]
    assert got["within_one"] == 0.0 and got["leniency"] == -0.4  # (−2 +2 −2 +2 −2)/5
    assert got["why"] == ["within one point of the consensus 0%"]
    few = AssessedSession(
        "s", one, ratings={"a": {"A": {"support": 1, "leadership": 5}}}, submitted={"a": "t"},
        consensus={"A": {d: {"rating": 3, "reason": "r", "by": "a"}
                         for d in ("support", "leadership")}}, report=None)
    got = calibration([few])["assessors"]["赵"]
    assert got["within_one"] == 0.0 and got["leniency"] == 0.0
    assert got["calibrate"] is False  # two cells: too few for a verdict
