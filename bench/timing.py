"""Medians, spread and percentiles of repeated measurements.

Shared machines are noisy: a benchmark repeats each measurement and reports the median with the
spread (the interquartile range relative to the median), never a single run or a mean, which one
outlier moves.
"""

import math
import time


def percentile(values, q):
    """The q-th percentile (0..100) of values, linearly interpolated (numpy's default)."""
    data = sorted(values)
    if not data:
        return math.nan
    pos = (len(data) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def median(values):
    return percentile(values, 50)


def spread(values):
    """The interquartile range relative to the median (0.1 = the middle half of the runs lies
    within 10 % of the median's size); nan for fewer than 2 values."""
    if len(values) < 2:
        return math.nan
    m = median(values)
    return (percentile(values, 75) - percentile(values, 25)) / m if m else math.nan


def timed(function, *args, **kwargs):
    """(seconds, result) of one call."""
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def repeat(function, runs, warmup=1):
    """The durations in seconds of `runs` calls of function(), after `warmup` untimed calls (to
    fill caches and connection pools, which a real client meets warm too)."""
    for _ in range(warmup):
        function()
    return [timed(function)[0] for _ in range(runs)]


class Stats:
    """Summary of a list of durations (seconds)."""

    def __init__(self, durations):
        self.durations = list(durations)
        self.n = len(self.durations)
        self.p50 = median(self.durations)
        self.p95 = percentile(self.durations, 95)
        self.p99 = percentile(self.durations, 99)
        self.spread = spread(self.durations)

    def __repr__(self):
        return f"Stats(n={self.n}, p50={self.p50:.4f}, p95={self.p95:.4f}, spread={self.spread:.2f})"
