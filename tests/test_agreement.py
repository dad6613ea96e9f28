"""Agreement statistics against published worked examples."""

from __future__ import annotations

import pytest

from hr.agreement import category_counts, cohen_kappa, fleiss_kappa, icc2k

#: Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges.
SHROUT_FLEISS = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9],
                 [6, 2, 4, 7]]


def test_icc_2k_on_the_shrout_fleiss_table():
    assert icc2k(SHROUT_FLEISS) == pytest.approx(0.62, abs=0.005)  # their Table 4: .62
    assert icc2k([[1, 1], [1, 1]]) is None  # no spread: undefined, not a number
    assert icc2k([[1, 2]]) is None


def test_fleiss_kappa_on_fleiss_1971_as_worked_in_the_literature():
    """10 subjects, 14 raters, 5 categories: kappa 0.210."""
    counts = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0],
              [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2],
              [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    assert fleiss_kappa(counts) == pytest.approx(0.210, abs=0.0005)
    assert category_counts([[1, 1, 5], [2, 3, 3]]) == [[2, 0, 0, 0, 1], [0, 1, 2, 0, 0]]


def test_cohen_kappa_textbook_example():
    """50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15: po 0.7, pe 0.5, kappa 0.4."""
    a = ["y"] * 25 + ["n"] * 25
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa([], []) is None
