"""The statistics of scores and records against scipy's values (scipy 1.15.3, computed once:
`scipy.stats.t.ppf`, `t.cdf`, `t.ppf(0.975, n - 1) * sem(values)` and `ttest_ind(challenger,
holder, equal_var=False, alternative="less").pvalue`); the platform itself needs no scipy."""

import pytest

from evaluation.stats import (
    confidence_half_width,
    one_sample_p_lower,
    t_cdf,
    t_quantile,
    welch_p_lower,
)


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [
        (0.975, 1, 12.706204736432095),
        (0.975, 2, 4.302652729696142),
        (0.975, 4, 2.7764451051977987),
        (0.995, 7, 3.4994832973505026),
        (0.95, 30, 1.6972608865939574),
        (0.975, 2.5, 3.5746548420118773),
    ],
)
def test_t_quantiles(p: float, df: float, expected: float) -> None:
    assert t_quantile(p, df) == pytest.approx(expected, rel=1e-9)
    assert t_quantile(1 - p, df) == pytest.approx(-expected, rel=1e-9)


@pytest.mark.parametrize(
    ("t", "df", "expected"),
    [
        (-2.0, 3, 0.06966298427942155),
        (0.5, 10, 0.6860531971285135),
        (1.7, 2.3, 0.892652404095964),
        (-0.3, 1, 0.4072264209222577),
    ],
)
def test_t_cdf(t: float, df: float, expected: float) -> None:
    assert t_cdf(t, df) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize(
    ("challenger", "holder", "expected"),
    [
        ([2.801, 2.799, 2.803], [2.815, 2.812, 2.818], 0.002057898229104268),
        ([2.810, 2.790, 2.820], [2.815, 2.812, 2.818], 0.22281619494589305),
        ([3.0, 3.1], [3.05, 3.2, 3.1, 3.15], 0.17025021655691652),
        ([2.5, 2.6, 2.55, 2.52, 2.58], [2.6, 2.61], 0.01953180296569978),
        ([1.0, 1.0001, 0.9999], [1.0, 1.0002, 1.0001], 0.1439320673633454),
    ],
)
def test_welch_one_sided(challenger: list[float], holder: list[float], expected: float) -> None:
    assert welch_p_lower(challenger, holder) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([2.801, 2.799, 2.803], 0.004968275423439097),
        ([3.0, 3.5], 3.176551184108024),
        ([1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7], 0.20478246722841167),
    ],
)
def test_confidence_interval_of_the_mean(values: list[float], expected: float) -> None:
    assert confidence_half_width(values) == pytest.approx(expected, rel=1e-9)


def test_too_few_seeds_have_no_interval_nor_test() -> None:
    assert confidence_half_width([2.8]) is None
    assert welch_p_lower([2.8], [2.9, 2.91]) is None
    # No spread on either side: the order is certain.
    assert welch_p_lower([2.8, 2.8], [2.9, 2.9]) == 0.0
    assert welch_p_lower([2.9, 2.9], [2.8, 2.8]) == 1.0


@pytest.mark.parametrize(
    ("values", "reference", "expected"),
    [([2.5, 2.52, 2.49], 2.6, 0.004110463158842144), ([2.59, 2.62, 2.58, 2.61], 2.6, 0.5)],
)
def test_one_sample_one_sided(values: list[float], reference: float, expected: float) -> None:
    """`scipy.stats.ttest_1samp(values, reference, alternative="less").pvalue`."""
    assert one_sample_p_lower(values, reference) == pytest.approx(expected, rel=1e-9)
