"""Good time intervals as a time MOC (IVOA MOC 2.0), serialised in the MOC 2.0 ASCII form.

What MOC 2.0 says (REC 2022-07-27), and where this module does it:
- §3.2/§4.2: TMOC time is JD in the TCB scale, at the barycentre; at the deepest order, 61, a cell is 1 µs
  and its index is the number of µs since JD = 0.  → `microseconds_since_jd0`
- §4.2.1: two cells 2M and 2M+1 at order N form cell M at order N-1: a cell of order N lasts 2**(61-N) µs.
  → `cell_ranges`
- The default order, 35, has cells of 2**26 µs ≈ 67.1 s (the spec's order ≤ 35).
- §7.1 canonical form: cells sorted, no overlap, and two sibling cells must be written as their parent.
  → `canonical_cells`
- §4.3.2 ASCII serialisation: "order/index" pairs, ranges "low-high", the order may be omitted when it
  repeats, a trailing "order/" gives the MOC order when it is deeper than the deepest cell written, and a
  leading 't' marks a TMOC.  → `ascii_tmoc`

A GTI is [START, STOP): every order-35 cell that overlaps it, even by one µs, is in the MOC, so the MOC
covers the GTIs completely (an upper approximation, as MOC 2.0 §3.1 says a MOC generally is).

No barycentric correction is applied to the GTIs (they are topocentric times); the scale conversion to TCB
is exact, the ignored light-travel time (< 500 s) is far below what users of `t_intervals` ask of it.
"""

import numpy as np
from astropy.time import Time

from .times import quiet_leap_seconds

MAX_ORDER = 61
DEFAULT_ORDER = 35
MICROSECONDS_PER_DAY = 86_400_000_000
SAMPLED_FROM = 64  # times: from this many on, TCB - TT is interpolated (tcb_jd)


def microseconds_since_jd0(time, rounding):
    """Integer µs since JD 0 in TCB of an astropy Time array (an int64 array), rounded down ('floor')
    or up ('ceil')."""
    return _microseconds(*tcb_jd(time), rounding)


def _microseconds(jd1, jd2, rounding):
    """Integer µs since JD 0 of two-part JDs (TCB).

    JD × 86 400 000 000 is about 2e17, beyond float64's exact integers (9e15) but well inside int64
    (9e18): the whole days and the fraction of day are kept apart, and combined as integers.
    """
    days = (np.floor(jd1) + np.floor(jd2)).astype(np.int64)
    fraction = (jd1 - np.floor(jd1)) + (jd2 - np.floor(jd2))  # in [0, 2)
    round_function = np.floor if rounding == "floor" else np.ceil
    return days * MICROSECONDS_PER_DAY + round_function(fraction * MICROSECONDS_PER_DAY).astype(np.int64)


def tcb_jd(time):
    """(jd1, jd2) arrays of an astropy Time array in TCB.

    ERFA's TDB series costs 15 µs per time: 1.2 s for the 39 000 GTI bounds of one HAWC
    observation. TCB - TT is a linear drift plus periodic terms of a year down to a few days (no
    diurnal one without an observatory location), so for many times it is computed exactly once a
    day over their span and interpolated in between, which is exact to far below the µs this
    module counts in (tests/unit/test_tmoc.py compares both).
    """
    with quiet_leap_seconds():
        tt = time.tt
        jd1, jd2 = np.atleast_1d(tt.jd1), np.atleast_1d(tt.jd2)
        if jd1.size <= SAMPLED_FROM:
            tcb = tt.tcb
            return np.atleast_1d(tcb.jd1), np.atleast_1d(tcb.jd2)
        base = float(np.min(jd1))
        days = (jd1 - base) + jd2  # since base, exact enough to interpolate at
        grid = np.arange(np.floor(days.min()), np.ceil(days.max()) + 1.0)
        samples = Time(np.full(len(grid), base), grid, format="jd", scale="tt")
        sampled_tcb = samples.tcb
        offset = (sampled_tcb.jd1 - samples.jd1) + (sampled_tcb.jd2 - samples.jd2)  # TCB - TT, days
    return jd1, jd2 + np.interp(days, grid, offset)


def cell_ranges(intervals_us, order=DEFAULT_ORDER):
    """Sorted, merged, inclusive ranges (first, last) of the order-`order` cells overlapping the intervals.

    `intervals_us` holds (start, stop) pairs in µs since JD 0, each the half-open interval [start, stop).
    Intervals with stop <= start cover nothing and are dropped. (Array operations throughout: wide-field
    observatories have tens of thousands of GTIs per observation.)
    """
    pairs = np.asarray(list(intervals_us) if not isinstance(intervals_us, np.ndarray) else intervals_us,
                       dtype=np.int64).reshape(-1, 2)
    pairs = pairs[pairs[:, 1] > pairs[:, 0]]
    if not len(pairs):
        return []
    shift = MAX_ORDER - order
    firsts, lasts = pairs[:, 0] >> shift, (pairs[:, 1] - 1) >> shift
    by_first = np.argsort(firsts, kind="stable")
    firsts, lasts = firsts[by_first], np.maximum.accumulate(lasts[by_first])
    # a new range starts where a cell lies beyond every cell before it, plus one (adjacent ones merge)
    starts = np.flatnonzero(np.r_[True, firsts[1:] > lasts[:-1] + 1])
    ends = np.r_[starts[1:] - 1, len(firsts) - 1]
    return [(int(first), int(last)) for first, last in zip(firsts[starts], lasts[ends])]


def canonical_cells(ranges, order=DEFAULT_ORDER):
    """The MOC 2.0 well-formed cell list of inclusive order-`order` ranges: {order: [cell, ...]}.

    Each range is cut into the largest aligned blocks of 2**k cells, and a block of 2**k cells at `order`
    is the single cell (first >> k) at order `order - k`; this never leaves two siblings side by side.
    """
    cells = {}
    for first, last in ranges:
        position, end = first, last + 1
        while position < end:
            size = 1
            # grow the block while it stays aligned, inside the range, and above order 0
            while (position % (size * 2) == 0 and position + size * 2 <= end and size * 2 <= 1 << order):
                size *= 2
            level = size.bit_length() - 1
            cells.setdefault(order - level, []).append(position >> level)
            position += size
    return {cell_order: sorted(indices) for cell_order, indices in sorted(cells.items())}


def ascii_tmoc(cells, order=DEFAULT_ORDER):
    """MOC 2.0 ASCII serialisation of canonical cells, e.g. 't34/6173-6174 35/12345 12350'."""
    parts = []
    for cell_order, indices in sorted(cells.items()):
        parts.append(f"{cell_order}/" + " ".join(_ranges_text(indices)))
    if not cells or max(cells) < order:
        parts.append(f"{order}/")  # states the MOC order when no cell of that order is written
    return "t" + " ".join(parts)


def _ranges_text(indices):
    texts, start = [], None
    for position, index in enumerate(indices):
        if start is None:
            start = index
        if position + 1 == len(indices) or indices[position + 1] != index + 1:
            texts.append(str(start) if start == index else f"{start}-{index}")
            start = None
    return texts


def gti_tmoc(bounds, order=DEFAULT_ORDER):
    """The ASCII TMOC of GTIs: one MOC over all rows (spec §4.3). bounds: an astropy Time (any scale)
    of shape (2, n), the starts and the stops, converted to TCB together (each conversion of an
    astropy Time has a fixed cost that, for the few GTIs of an IACT run, is most of the work)."""
    jd1, jd2 = tcb_jd(bounds)
    intervals = np.stack([_microseconds(jd1[0], jd2[0], "floor"), _microseconds(jd1[1], jd2[1], "ceil")], axis=1)
    return ascii_tmoc(canonical_cells(cell_ranges(intervals, order), order), order)
