"""Statistics across seeds: mean, sample standard deviation and a Student-t confidence interval.

Pure Python (``math`` only), so the numbers need neither SciPy nor the cluster extra. The
interval for the mean of ``n`` values is ``mean ± t(1 - a/2, n - 1) · s / sqrt(n)`` with ``s``
the sample standard deviation (divisor ``n - 1``) and ``t`` the Student-t quantile, computed
here from the regularized incomplete beta function (a continued fraction, as in every
numerical-analysis textbook) and inverted by bisection. With one value there is no spread:
``std`` and the interval are ``None``.

>>> round(t_quantile(0.975, 4), 4)
2.7764
>>> s = summarize([1.0, 2.0, 3.0, 4.0, 5.0])
>>> s.n, s.mean, round(s.std, 4), round(s.low, 4), round(s.high, 4)
(5, 3.0, 1.5811, 1.0368, 4.9632)
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

__all__ = ["Summary", "summarize", "t_quantile", "t_cdf"]


def _betacf(a, b, x):
    """Continued fraction of the incomplete beta function (modified Lentz's method)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def _betainc(a, b, x):
    """The regularized incomplete beta function I_x(a, b) for a, b > 0 and 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def _check_df(df, fn):
    if isinstance(df, bool) or not isinstance(df, numbers.Real) or not df > 0 or \
            not math.isfinite(df):
        raise ValueError(f"{fn}: degrees of freedom must be a finite number > 0, got {df!r}")
    return float(df)


def t_cdf(t, df):
    """P(T <= t) for Student's t distribution with ``df`` degrees of freedom.

    Raises:
        ValueError: ``df`` is not a finite number > 0, or ``t`` is NaN.
    """
    df = _check_df(df, "t_cdf")
    if isinstance(t, bool) or not isinstance(t, numbers.Real) or math.isnan(t):
        raise ValueError(f"t_cdf: t must be a number, got {t!r}")
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile(p, df):
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (e.g. 0.975, 4 -> 2.776).

    Args:
        p: a probability in (0, 1).
        df: degrees of freedom, a finite number > 0 (``n - 1`` for a sample of ``n``).

    Raises:
        ValueError: ``p`` outside (0, 1) or a bad ``df``.
    """
    df = _check_df(df, "t_quantile")
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 < p < 1.0:
        raise ValueError(f"t_quantile: p must be a probability in (0, 1), got {p!r}")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:        # bracket the quantile
        lo, hi = hi, hi * 2.0
        if hi > 1e300:
            return math.inf
    for _ in range(200):            # bisection to the float's precision
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class Summary:
    """Mean, spread and confidence interval of one metric across seeds.

    Attributes:
        n: how many values (seeds).
        mean: their mean.
        std: sample standard deviation (divisor ``n - 1``); None when ``n == 1``.
        low, high: the ``level`` confidence interval of the mean (Student t); None when ``n == 1``.
        level: the confidence level (0.95 by default).
    """

    n: int
    mean: float
    std: float | None
    low: float | None
    high: float | None
    level: float = 0.95

    @property
    def half_width(self):
        """Half the interval's width (``t · s / sqrt(n)``); None when ``n == 1``."""
        return None if self.low is None else (self.high - self.low) / 2.0


def summarize(values, level=0.95) -> Summary:
    """The :class:`Summary` of a list of finite numbers (one per seed).

    Args:
        values: one or more finite numbers.
        level: confidence level of the interval, in (0, 1).

    Raises:
        ValueError: no values, a value that is not a finite number, or a bad ``level``.
    """
    vals = list(values)
    if not vals:
        raise ValueError("summarize: no values")
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            raise ValueError(f"summarize: every value must be a finite number, got {v!r}")
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0.0 < level < 1.0:
        raise ValueError(f"summarize: level must be in (0, 1), got {level!r}")
    n = len(vals)
    mean = math.fsum(vals) / n
    if n == 1:
        return Summary(1, mean, None, None, None, level)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in vals) / (n - 1))
    half = t_quantile(0.5 + level / 2.0, n - 1) * std / math.sqrt(n)
    return Summary(n, mean, std, mean - half, mean + half, level)
