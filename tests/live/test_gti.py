"""The good time intervals in TAP (HE-OBSCORE-SPEC §8): ivoa.obscore_gti holds one row per GTI of every
published dataset, equal to what the test computes itself from the GTI HDUs with astropy, and the
transient query ("which datasets had good time at this instant?") finds exactly those."""

import os

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time

COLLECTIONS = {"hess_dr1": ("hess_dir", "hdu-index.fits.gz"), "cta_1dc": ("cta_dir", "index/gps/hdu-index.fits.gz")}
TOLERANCE_DAYS = 1e-9  # 86 us: the service and the test both convert with astropy


def gti_of_files(data_dir, index_name):
    """{obs_id: sorted [(start, stop)] in MJD UTC} from every GTI HDU the hdu-index names."""
    index_path = os.path.join(data_dir, index_name)
    found = {}
    for row in Table.read(index_path):
        if row["HDU_TYPE"].strip().lower() != "gti":
            continue
        path = os.path.join(os.path.dirname(index_path), row["FILE_DIR"].strip(), row["FILE_NAME"].strip())
        with fits.open(path) as hdulist:
            gti = hdulist[row["HDU_NAME"].strip()]
            header = gti.header
            reference = Time(header["MJDREFI"], header["MJDREFF"], format="mjd", scale=header["TIMESYS"].lower())
            starts = (reference + np.asarray(gti.data["START"], dtype=float) * u.s).utc.mjd
            stops = (reference + np.asarray(gti.data["STOP"], dtype=float) * u.s).utc.mjd
        found[str(int(row["OBS_ID"]))] = sorted(zip(starts.tolist(), stops.tolist()))
    return found


def gti_of_service(tap, schema):
    found = {}
    for row in tap.search(f"SELECT o.obs_id, g.t_start, g.t_stop FROM ivoa.obscore AS o JOIN ivoa.obscore_gti AS g"
                          f" ON g.obs_publisher_did = o.obs_publisher_did WHERE o.obs_publisher_did LIKE"
                          f" 'ivo://%/{schema}?%'", maxrec=100000):
        found.setdefault(str(row["obs_id"]), []).append((row["t_start"], row["t_stop"]))
    return {obs_id: sorted(intervals) for obs_id, intervals in found.items()}


@pytest.mark.parametrize("schema", sorted(COLLECTIONS))
def test_every_gti_of_every_observation(schema, tap, request):
    fixture, index_name = COLLECTIONS[schema]
    files = gti_of_files(request.getfixturevalue(fixture), index_name)
    service = gti_of_service(tap, schema)
    assert sorted(service) == sorted(files)
    for obs_id, intervals in files.items():
        assert len(service[obs_id]) == len(intervals), obs_id
        assert np.allclose(service[obs_id], intervals, rtol=0, atol=TOLERANCE_DAYS), obs_id


def test_the_transient_query(tap, hess_dir):
    """Good time at an instant: the middle of 23523's GTI finds it, a second before its start does not."""
    [(start, stop)] = gti_of_files(hess_dir, "hdu-index.fits.gz")["23523"]
    query = ("SELECT o.obs_id FROM ivoa.obscore AS o JOIN ivoa.obscore_gti AS g ON g.obs_publisher_did ="
             " o.obs_publisher_did WHERE g.t_start <= {x!r} AND g.t_stop >= {x!r}")
    inside = {str(r["obs_id"]) for r in tap.search(query.format(x=(start + stop) / 2))}
    assert "23523" in inside
    before = {str(r["obs_id"]) for r in tap.search(query.format(x=start - 1 / 86400))}
    assert "23523" not in before
