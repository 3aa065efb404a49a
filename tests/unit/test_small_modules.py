"""errors, values, modes and sky: the small building blocks."""

import datetime
import math

import numpy as np
import pytest

from ingest import modes, sky
from ingest.errors import IngestError
from ingest.values import as_float, as_int, parse_datetime, plain


def test_ingest_error_text():
    path = "/data/hess_dl3_dr1_obs_id_023523.fits.gz"
    error = IngestError("missing mandatory keyword", path, "EVENTS", "MJDREFI")
    assert str(error) == "hess_dl3_dr1_obs_id_023523.fits.gz[EVENTS] MJDREFI: missing mandatory keyword"
    assert (error.path, error.hdu, error.keyword) == (path, "EVENTS", "MJDREFI")
    assert str(IngestError("file not found", "/x/a.fits")) == "a.fits: file not found"
    assert str(IngestError("bad")) == "bad"


def test_plain_values():
    assert plain(np.int64(3)) == 3 and type(plain(np.int64(3))) is int
    assert plain(np.float32(48.61021)) == 48.61021
    assert type(plain(np.float64(1.5))) is float
    assert plain("  TT  ") == "TT" and plain("   ") is None and plain(b"ab ") == "ab"
    assert plain(float("nan")) is None
    assert plain(np.bool_(True)) is True
    assert as_float("1835.") == 1835.0 and as_float("x") is None
    assert as_int(23523.0) == 23523 and as_int(1.5) is None
    assert parse_datetime("2018-05-06T09:14:31") == datetime.datetime(2018, 5, 6, 9, 14, 31)
    assert parse_datetime("06/05/18") == datetime.datetime(2018, 5, 6)
    assert parse_datetime("never") is None


@pytest.mark.parametrize("obs_mode,offset,tracking,scan", [
    ("WOBBLE", 0.5, "sidereal", "on-the-fly-cross-map"),
    ("POINTING", 0.0, "sidereal", "on-source"),
    ("POINTING", 0.7, "sidereal", "on-the-fly-cross-map"),
    ("POINTING", None, "sidereal", "on-source"),
    ("RASTER", None, "sidereal", "raster-map"),
    ("SCAN", None, "sidereal", "raster-map"),
    ("DRIFT", None, "fixed-az-el-transit", "drift-scan"),
])
def test_modes(obs_mode, offset, tracking, scan):
    assert modes.tracking_mode(obs_mode) == tracking
    assert modes.scan_mode(obs_mode, offset) == scan


def test_obs_mode_and_pointing_mode():
    assert modes.obs_mode("wobble ", True) == "WOBBLE"
    assert modes.obs_mode(None, True) == "POINTING"
    assert modes.obs_mode(None, False) is None
    assert [modes.pointing_mode(v) for v in (None, 0, 0.0, 12.0, -3.0)] == [
        "parallel", "parallel", "parallel", "convergent", "divergent"]
    assert modes.analysis_mode(None, None, "South_z20_50h") == "South_z20_50h"
    assert modes.analysis_mode("std", "cfg", "irf") == "std"


def test_normalise_ra():
    assert [sky.normalise_ra(v) for v in (-0.5, 360.0, 725.0, 83.6)] == [359.5, 0.0, 5.0, 83.6]


def test_pointing_icrs():
    # FK5 J2000 → ICRS moves the Crab pointing of H.E.S.S. 23523 by ~30 mas (the spec's worked values)
    ra, dec = sky.pointing_icrs(83.633333333333, 21.514444444444)
    assert (ra, dec) == (pytest.approx(83.633326, abs=5e-7), pytest.approx(21.514450, abs=5e-7))
    assert sky.pointing_icrs(-10.0, 5.0, "ICRS") == (350.0, 5.0)


def test_circle_polygon_is_counter_clockwise_on_the_sky():
    vertices = sky.circle_polygon(359.9, 10.0, 1.0, vertices=8)
    ras, decs = zip(*vertices)
    corner = math.degrees(math.atan(math.tan(math.radians(1.0)) / math.cos(math.pi / 8)))
    assert all(0 <= r < 360 for r in ras)
    assert list(sky.offsets_deg(ras, decs, 359.9, 10.0)) == pytest.approx([corner] * 8, abs=1e-9)
    # north first, then east (RA increasing): counter-clockwise as seen on the sky
    assert decs[0] == pytest.approx(10.0 + corner) and ras[0] == pytest.approx(359.9)
    assert decs[2] == pytest.approx(10.0, abs=0.01)
    assert (ras[2] - 359.9) % 360 == pytest.approx(corner / math.cos(math.radians(10)), rel=1e-3)


def test_circle_polygon_edges_touch_the_circle():
    """Everything in the field of view is inside the polygon: the middle of each great-circle edge
    is at the circle's radius from the centre, the closest an edge comes."""
    ra0, dec0, radius = 83.63, 22.01, 2.5
    vertices = sky.circle_polygon(ra0, dec0, radius)
    for (ra1, dec1), (ra2, dec2) in zip(vertices, vertices[1:] + vertices[:1]):
        a, b = _unit(ra1, dec1), _unit(ra2, dec2)
        middle = [x + y for x, y in zip(a, b)]
        ra_m = math.degrees(math.atan2(middle[1], middle[0])) % 360
        dec_m = math.degrees(math.asin(middle[2] / math.sqrt(sum(x * x for x in middle))))
        assert float(sky.offsets_deg(ra_m, dec_m, ra0, dec0)) == pytest.approx(radius, abs=1e-9)


def _unit(ra, dec):
    ra, dec = math.radians(ra), math.radians(dec)
    return (math.cos(dec) * math.cos(ra), math.cos(dec) * math.sin(ra), math.sin(dec))


def test_circle_radius_from_data_subspace_keywords():
    header = {"DSTYP1": "TIME", "DSVAL1": "TABLE",
              "DSTYP3": "POS(RA,DEC)", "DSVAL3": "CIRCLE(267.6812,-29.6075,5)"}
    assert sky.circle_radius(header) == 5.0
    assert sky.circle_radius({"DSTYP1": "ENERGY", "DSVAL1": "0.03:160"}) is None
