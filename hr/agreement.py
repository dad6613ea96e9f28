"""How far assessors agree: ICC(2,k) on ratings, Cohen's and Fleiss' kappa on categories.

- ICC(2,k) (Shrout & Fleiss 1979, case 2, the mean of k raters): every candidate rated by
  the same k assessors, who are a sample of possible assessors.
      ICC(2,k) = (BMS − EMS) / (BMS + (JMS − EMS) / n)
  with BMS, JMS, EMS the between-targets, between-judges and residual mean squares of the
  two-way ANOVA without replication, n targets.
- Cohen's kappa for two raters, Fleiss' kappa for more (each item rated by the same number of
  raters), on the 1–5 scale points as categories.
"""

from __future__ import annotations

from collections import Counter

import numpy as np


def icc2k(x: list[list[float]]) -> float | None:
    """x: n targets × k judges, complete. None when undefined (n < 2, k < 2, no spread)."""
    a = np.asarray(x, dtype=np.float64)  # (n targets, k judges)
    if a.ndim != 2 or a.shape[0] < 2 or a.shape[1] < 2 or np.isnan(a).any():
        return None
    n, k = a.shape
    grand = a.mean()
    ss_rows = k * ((a.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((a.mean(axis=0) - grand) ** 2).sum()
    ss_err = ((a - grand) ** 2).sum() - ss_rows - ss_cols
    bms, jms, ems = ss_rows / (n - 1), ss_cols / (k - 1), ss_err / ((n - 1) * (k - 1))
    den = bms + (jms - ems) / n
    return None if den == 0 else float((bms - ems) / den)


def cohen_kappa(a: list[object], b: list[object]) -> float | None:
    if len(a) != len(b) or not a:
        return None
    n = len(a)
    po = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[c] * cb[c] for c in set(ca) | set(cb)) / (n * n)
    return None if pe == 1 else (po - pe) / (1 - pe)


def fleiss_kappa(counts: list[list[int]]) -> float | None:
    """counts: items × categories, how many raters put each item in each category (the
    same number of raters per item)."""
    m = np.asarray(counts, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] < 1:
        return None
    r = m.sum(axis=1)
    if r.min() < 2 or (r != r[0]).any():
        return None
    n_raters, n_items = r[0], m.shape[0]
    p_cat = m.sum(axis=0) / (n_items * n_raters)
    p_item = ((m * m).sum(axis=1) - n_raters) / (n_raters * (n_raters - 1))
    pbar, pe = p_item.mean(), (p_cat ** 2).sum()
    return None if pe == 1 else float((pbar - pe) / (1 - pe))


def category_counts(ratings: list[list[int]], categories: range = range(1, 6)
                    ) -> list[list[int]]:
    """items × raters ratings → items × categories counts (for `fleiss_kappa`)."""
    return [[row.count(c) for c in categories] for row in ratings]
