"""The statistics behind scores and records, in plain Python (no numpy or scipy at run time;
the tests check them against scipy's values): the Student t distribution, a mean's confidence
interval over seeds, and Welch's one-sided t-test between two submissions' seeds."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

_EPSILON = 1e-15
_TINY = 1e-300


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the regularised incomplete beta function (modified Lentz)."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, 10_000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            result *= c * d
        if abs(c * d - 1.0) < _EPSILON:
            break
    return result


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T ≤ t) for Student's t with ``df`` degrees of freedom."""
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t (bisection on :func:`t_cdf`, to 1e-12)."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must be between 0 and 1")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        low, high = high, high * 2.0
    for _ in range(200):
        middle = (low + high) / 2.0
        if t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
        if high - low < 1e-12 * max(1.0, high):
            break
    return (low + high) / 2.0


def confidence_half_width(values: Sequence[float], confidence: float = 0.95) -> float | None:
    """Half the width of the two-sided ``confidence`` interval of the mean of ``values``
    (Student's t over the seeds); None with fewer than two values."""
    if len(values) < 2:
        return None
    spread = statistics.stdev(values) / math.sqrt(len(values))
    return t_quantile(0.5 + confidence / 2.0, len(values) - 1) * spread


def welch_p_lower(challenger: Sequence[float], holder: Sequence[float]) -> float | None:
    """One-sided Welch t-test: the p-value of "the challenger's mean is lower than the
    holder's" (lower scores are better). None when either side has fewer than two values.
    Identical seeds on both sides (no spread at all) give 0 or 1: the order is certain."""
    if len(challenger) < 2 or len(holder) < 2:
        return None
    mean_c, mean_h = statistics.fmean(challenger), statistics.fmean(holder)
    var_c = statistics.variance(challenger) / len(challenger)
    var_h = statistics.variance(holder) / len(holder)
    if var_c + var_h == 0.0:
        return 0.0 if mean_c < mean_h else 1.0
    t = (mean_c - mean_h) / math.sqrt(var_c + var_h)
    df = (var_c + var_h) ** 2 / (var_c**2 / (len(challenger) - 1) + var_h**2 / (len(holder) - 1))
    return t_cdf(t, df)


def one_sample_p_lower(values: Sequence[float], reference: float) -> float | None:
    """One-sided one-sample t-test: the p-value of "the mean of ``values`` is lower than
    ``reference``" (a record holder with a single seed). None with fewer than two values."""
    if len(values) < 2:
        return None
    mean = statistics.fmean(values)
    spread = statistics.stdev(values) / math.sqrt(len(values))
    if spread == 0.0:
        return 0.0 if mean < reference else 1.0
    return t_cdf((mean - reference) / spread, len(values) - 1)
