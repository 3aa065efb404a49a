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

from .times import quiet_leap_seconds

MAX_ORDER = 61
DEFAULT_ORDER = 35
MICROSECONDS_PER_DAY = 86_400_000_000


def microseconds_since_jd0(time, rounding):
    """Integer µs since JD 0 in TCB of an astropy Time array, rounded down ('floor') or up ('ceil').

    JD × 86 400 000 000 is about 2e17, beyond float64's exact integers (9e15): the whole days and the
    fraction of day are therefore kept apart and combined with Python integers.
    """
    with quiet_leap_seconds():
        tcb = time.tcb
    jd1, jd2 = np.atleast_1d(tcb.jd1), np.atleast_1d(tcb.jd2)
    days = np.floor(jd1) + np.floor(jd2)
    fraction = (jd1 - np.floor(jd1)) + (jd2 - np.floor(jd2))  # in [0, 2)
    microseconds = fraction * MICROSECONDS_PER_DAY
    round_function = np.floor if rounding == "floor" else np.ceil
    return [int(day) * MICROSECONDS_PER_DAY + int(round_function(us)) for day, us in zip(days, microseconds)]


def cell_ranges(intervals_us, order=DEFAULT_ORDER):
    """Sorted, merged, inclusive ranges (first, last) of the order-`order` cells overlapping the intervals.

    `intervals_us` holds (start, stop) pairs in µs since JD 0, each the half-open interval [start, stop).
    Intervals with stop <= start cover nothing and are dropped.
    """
    shift = MAX_ORDER - order
    ranges = sorted((start >> shift, (stop - 1) >> shift) for start, stop in intervals_us if stop > start)
    merged = []
    for first, last in ranges:
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


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


def gti_tmoc(starts, stops, order=DEFAULT_ORDER):
    """The ASCII TMOC of GTIs given as astropy Times (any scale): one MOC over all rows (spec §4.3)."""
    intervals = zip(microseconds_since_jd0(starts, "floor"), microseconds_since_jd0(stops, "ceil"))
    return ascii_tmoc(canonical_cells(cell_ranges(intervals, order), order), order)
