"""The published numbers are the numbers in the files.

For every H.E.S.S. DR1 observation, the values in ivoa.obscore are compared with values this test
computes itself from the FITS files with astropy, without the ingest package.
"""

import os

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time

COLUMNS = ["t_min", "t_max", "t_exptime", "s_ra", "s_dec", "ev_xel", "energy_min", "energy_max"]


def _hdu(hdul, name):
    return hdul[[h.name.upper() for h in hdul].index(name)]


def values_from_files(data_dir):
    """obs_id -> expected values, computed the textbook way from EVENTS, GTI and AEFF."""
    index = Table.read(os.path.join(data_dir, "hdu-index.fits.gz"))
    expected = {}
    for row in index[index["HDU_TYPE"] == "events"]:
        path = os.path.join(data_dir, row["FILE_DIR"].strip(), row["FILE_NAME"].strip())
        with fits.open(path) as hdul:
            hdr = _hdu(hdul, "EVENTS").header
            energy = u.Quantity(_hdu(hdul, "EVENTS").data["ENERGY"],
                                _hdu(hdul, "EVENTS").columns["ENERGY"].unit).to_value(u.TeV)
            gti = _hdu(hdul, "GTI").data
            aeff = _hdu(hdul, "AEFF").header
            tref = Time(hdr["MJDREFI"], hdr["MJDREFF"], format="mjd", scale=hdr["TIMESYS"].lower())
            unit = u.Unit(hdr.get("TIMEUNIT", "s"))
            # The pointing is given in FK5 J2000; ObsCore positions are ICRS.
            icrs = SkyCoord(hdr["RA_PNT"], hdr["DEC_PNT"], unit="deg",
                            frame=hdr.get("RADECSYS", "fk5").lower()).icrs
            expected[str(int(hdr["OBS_ID"]))] = {
                "t_min": (tref + gti["START"].min() * unit).utc.mjd,
                "t_max": (tref + gti["STOP"].max() * unit).utc.mjd,
                "t_exptime": hdr["LIVETIME"],
                "s_ra": icrs.ra.deg % 360,
                "s_dec": icrs.dec.deg,
                "ev_xel": len(energy),
                "energy_min": max(aeff["LO_THRES"], energy.min()) * 1e12,
                "energy_max": min(aeff["HI_THRES"], energy.max()) * 1e12,
            }
    return expected


@pytest.fixture(scope="module")
def expected(hess_dir):
    return values_from_files(hess_dir)


@pytest.fixture(scope="module")
def published(tap, service):
    rows = tap.search(f"SELECT obs_id, {', '.join(COLUMNS)} FROM ivoa.obscore"
                      f" WHERE obs_collection='{service.collection().obs_collection}'",
                      maxrec=10000)
    return {str(r["obs_id"]): r for r in rows}


def test_every_observation_is_published(published, expected):
    assert len(published) == 105
    assert set(published) == set(expected)


# Tolerances: t_min/t_max are doubles (1e-9 d is 0.1 ms); t_exptime is an ObsCore real.
TOLERANCE = {"t_min": dict(rtol=0, atol=1e-9), "t_max": dict(rtol=0, atol=1e-9),
             "t_exptime": dict(rtol=1e-6, atol=0), "s_ra": dict(rtol=0, atol=1e-9),
             "s_dec": dict(rtol=0, atol=1e-9), "energy_min": dict(rtol=1e-6, atol=0),
             "energy_max": dict(rtol=1e-6, atol=0)}


@pytest.mark.parametrize("column", COLUMNS)
def test_published_values_equal_the_files(published, expected, column):
    wrong = []
    for obs_id, values in expected.items():
        got = published[obs_id][column]
        if column == "ev_xel":
            ok = int(got) == values[column]
        else:
            ok = np.isclose(float(got), values[column], **TOLERANCE[column])
        if not ok:
            wrong.append(f"{obs_id}: published {got!r}, files say {values[column]!r}")
    assert not wrong, f"{column} differs for {len(wrong)} observations:\n" + "\n".join(wrong[:10])


def test_golden_values_of_obs_23523(tap, service):
    """The worked example of HE-OBSCORE-SPEC.md §1–2."""
    row = tap.search("SELECT * FROM ivoa.obscore NATURAL JOIN ivoa.obscore_hea"
                     " WHERE obs_id='23523'")[0]
    assert row["dataproduct_type"] == "event-list"
    assert row["calib_level"] == 2
    assert row["obs_collection"] == "HESS-DL3-DR1"
    assert row["target_name"] == "Crab Nebula"
    assert row["s_ra"] == pytest.approx(83.633326, abs=1e-6)
    assert row["s_dec"] == pytest.approx(21.514450, abs=1e-6)
    assert row["s_fov"] == pytest.approx(5.0)
    assert row["s_resolution"] == pytest.approx(443, rel=0.05)
    assert row["t_min"] == pytest.approx(53343.92159722, abs=1e-8)
    assert row["t_exptime"] == pytest.approx(1581.737, abs=1e-3)
    assert row["em_min"] == pytest.approx(1.2398e-20, rel=1e-4)
    assert row["em_max"] == pytest.approx(1.4235e-18, rel=1e-4)
    assert row["em_res_power"] == pytest.approx(2.96, rel=0.05)
    assert row["ev_xel"] == 7613
    assert row["energy_min"] == pytest.approx(8.7096e11, rel=1e-4)
    assert row["energy_max"] == pytest.approx(1.0e14, rel=1e-6)
    assert row["s_ref_energy"] == row["em_ref_energy"] == 1e12
    assert row["s_ref_oaa"] == row["em_ref_oaa"] == 0.5
    assert row["instrument_name"] == "H.E.S.S. Phase I"
    assert row["facility_name"] == "H.E.S.S."
    assert row["obs_mode"] == "WOBBLE"
    assert row["tracking_mode"] == row["tracking_type"] == "sidereal"
    assert row["pointing_mode"] == row["array_pointing_mode"] == "parallel"
    assert row["analysis_mode"] == "std"
    assert row["messenger_name"] == "photon" and row["messenger_pdgid"] == "+22"
    assert row["s_calib_status"] == row["t_calib_status"] == row["em_calib_status"] == "calibrated"
    assert row["em_ucd"] == "em.energy" and row["em_unit"] == "TeV"
    assert row["obs_publisher_did"] == f"ivo://{service.instance.site.authority}/hess_dr1?23523"
    assert row["access_format"] == "application/x-votable+xml;content=datalink"
    # MOC 2.0 ASCII: the GTI 22:08:10-22:36:17 UTC in cells of order <= 35, ending with the order.
    assert row["t_intervals"].startswith("t") and row["t_intervals"].endswith(" 35/")
