"""The GTIs as a time MOC (MOC 2.0), checked cell by cell on hand-computed cases."""

import numpy as np
import pytest
from astropy.time import Time

from ingest.tmoc import (ascii_tmoc, canonical_cells, cell_ranges, gti_tmoc, microseconds_since_jd0)

CELL = 2 ** 26  # µs in an order-35 cell: order 61 is 1 µs, each order up doubles it


def test_cells_overlapping_an_interval():
    # [3 CELL + 5 µs, 7 CELL): starts inside cell 3, ends exactly where cell 7 begins → cells 3, 4, 5, 6
    assert cell_ranges([(3 * CELL + 5, 7 * CELL)]) == [(3, 6)]
    # one µs past the boundary reaches into cell 7
    assert cell_ranges([(3 * CELL + 5, 7 * CELL + 1)]) == [(3, 7)]
    # a one-µs interval inside cell 12400
    assert cell_ranges([(12400 * CELL + 1, 12400 * CELL + 2)]) == [(12400, 12400)]


def test_overlapping_and_touching_intervals_merge():
    intervals = [(10 * CELL, 12 * CELL), (11 * CELL, 13 * CELL), (13 * CELL, 14 * CELL), (20 * CELL, 21 * CELL)]
    assert cell_ranges(intervals) == [(10, 13), (20, 20)]


def test_empty_intervals_are_dropped():
    assert cell_ranges([(5 * CELL, 5 * CELL), (6 * CELL, 2 * CELL)]) == []


def test_canonical_form_merges_siblings_into_parents():
    # cells 3..6 at order 35: 3 alone, 4+5 are the siblings of order-34 cell 2, 6 alone (its sibling 7
    # is not in the MOC)
    assert canonical_cells([(3, 6)]) == {34: [2], 35: [3, 6]}
    # cells 0..7: one order-32 cell
    assert canonical_cells([(0, 7)]) == {32: [0]}
    # cells 12345..12350: 12345 | 12346+12347 (34/6173) | 12348+12349 (34/6174) | 12350
    assert canonical_cells([(12345, 12350)]) == {34: [6173, 6174], 35: [12345, 12350]}


def test_ascii_serialisation():
    assert ascii_tmoc({34: [6173, 6174], 35: [12345, 12350, 12400]}) == "t34/6173-6174 35/12345 12350 12400"
    # the deepest order written is above the MOC order: the MOC order is stated with an empty list
    assert ascii_tmoc({32: [0]}) == "t32/0 35/"
    assert ascii_tmoc({35: [1, 2, 3, 7]}) == "t35/1-3 7"


def test_microseconds_since_jd0_in_tcb():
    # JD 2451545.0 TCB (2000-01-01T12:00 TCB) is exactly 2451545 × 86 400 000 000 µs after JD 0
    t = Time([2451545.0], format="jd", scale="tcb")
    assert microseconds_since_jd0(t, "floor") == [2451545 * 86_400_000_000]
    later = Time([2451545.0], [1.5 / 86_400_000_000], format="jd", scale="tcb")  # 1.5 µs later
    assert microseconds_since_jd0(later, "floor") == [2451545 * 86_400_000_000 + 1]
    assert microseconds_since_jd0(later, "ceil") == [2451545 * 86_400_000_000 + 2]


def test_gti_tmoc_converts_to_tcb():
    # A GTI of 10 minutes starting at JD 2451545.0 TCB, handed over in TT (the conversion back to TCB
    # is the module's job). It starts at µs 211813488000000000 = 3156266927 × 2**26 + 48259072, i.e.
    # inside cell 3156266927, and ends 600 s later at 648259072 µs into that cell, inside cell
    # 3156266927 + 9: cells 3156266927 … 3156266936.
    bounds_tcb = Time([[2451545.0], [2451545.0]], [[0.0], [600.0 / 86400.0]], format="jd", scale="tcb")
    assert divmod(2451545 * 86_400_000_000, CELL) == (3156266927, 48259072)
    assert (48259072 + 600_000_000) // CELL == 9
    moc = gti_tmoc(bounds_tcb.tt)
    # canonical: 3156266927 (odd, alone) | 3156266928-3156266935 (8 aligned cells = 32/394533366)
    # | 3156266936 (its sibling 3156266937 is not covered)
    assert 3156266928 == 394533366 * 8
    assert moc == "t32/394533366 35/3156266927 3156266936"


def test_real_gti_covers_its_span(hess_collection, site):
    from ingest import read_observation
    row = read_observation(hess_collection, site, "23523").row
    assert row["t_intervals"] == "t31/197411476 33/789645903 789645908 34/1579291818 35/"
    # 26 order-35 cells ≈ 1745 s cover the 1687 s GTI
    cells = 16 + 2 * 4 + 2
    assert 1687 <= cells * CELL / 1e6 < 1687 + 2 * CELL / 1e6


@pytest.mark.parametrize("order", [31, 35])
def test_order_is_a_parameter(order):
    shift = 61 - order
    ranges = cell_ranges([(0, 3 << shift)], order)
    assert ranges == [(0, 2)]
    assert ascii_tmoc(canonical_cells(ranges, order), order) == f"t{order - 1}/0 {order}/2"


def test_many_times_convert_to_tcb_as_exactly_as_one_by_one():
    """39 000 GTI bounds over two months (a HAWC observation): TCB - TT interpolated between daily
    exact values gives the same µs as ERFA's series at every time."""
    from ingest.tmoc import SAMPLED_FROM, microseconds_since_jd0

    rng = np.random.default_rng(1)
    seconds = np.sort(rng.uniform(0, 62 * 86400, 39_000))
    times = Time(57200, seconds / 86400, format="mjd", scale="tai")
    assert len(times) > SAMPLED_FROM
    for rounding in ("floor", "ceil"):
        fast = microseconds_since_jd0(times, rounding)
        exact = np.array([microseconds_since_jd0(times[i:i + 1], rounding)[0]
                          for i in range(0, len(times), 397)])
        assert np.abs(fast[::397] - exact).max() <= 1  # a µs at most, where rounding falls apart
