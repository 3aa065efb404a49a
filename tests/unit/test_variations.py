"""The variations of real GADF files (HE-OBSCORE-SPEC §5, and those the issue names), each built as a
small synthetic collection (tests/unit/minigadf.py) that differs from a valid one in that one respect.

Where a variation must not change what is published, the test compares the whole row with the row of
the unvaried collection; otherwise it asserts the values the variation must give.
"""

import os

import numpy as np
import pytest
from astropy.io import fits

from ingest import read_collection
from ingest.config import CollectionConfig, SiteLocation
from tests.unit.minigadf import (EVENTS_HEADER, OBS_ID, PSF_FWHM_ARCSEC, T_MIN, IndexRow, Layout, aeff_hdu,
                                 bkg_hdu, edisp_hdu, edit_header, events_hdu, gti_hdu, obs_index_values,
                                 observation_hdus, observation_rows, psf_hdu, rad_max_hdu, write_collection,
                                 write_fits, write_hdu_index, write_obs_index)

approx = pytest.approx


def collection(directory, obs_index="obs-index.fits.gz", **values):
    """The configuration of a synthetic collection in `directory` (nothing configured but what is given)."""
    return CollectionConfig(name="mini", schema="mini", obs_collection="MINI", data_dir=str(directory),
                            obs_index=obs_index, **values)


def read(directory, site, /, **values):
    """{obs_id: ObservationResult} of the collection in `directory`."""
    return {result.dataset: result for result in read_collection(collection(directory, **values), site)}


def read_one(directory, site, /, **values):
    """The result of the only (or first) observation; it must have been read."""
    result = next(iter(read(directory, site, **values).values()))
    assert result.error is None, str(result.error)
    return result


def row_of(directory, site, /, **values):
    return read_one(directory, site, **values).row


def without(row, *columns):
    return {key: value for key, value in row.items() if key not in columns}


def data_file(directory, obs_id=OBS_ID):
    return os.path.join(str(directory), "data", f"obs_{obs_id}.fits.gz")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, site):
    """The row of the unvaried collection."""
    return row_of(write_collection(tmp_path_factory.mktemp("baseline")), site)


def test_the_unvaried_collection(tmp_path, site):
    result = read_one(write_collection(tmp_path), site)
    row = result.row
    assert result.notes == ()
    assert row["obs_id"] == str(OBS_ID)
    assert row["t_min"] == approx(T_MIN, abs=1e-8)
    assert row["t_max"] == approx(T_MIN + 1687 / 86400, abs=1e-8)
    assert row["s_resolution"] == approx(PSF_FWHM_ARCSEC, rel=1e-6)
    assert row["em_res_power"] == approx(5.0, rel=1e-5)  # migration pdf of FWHM 0.2
    assert row["s_fov"] == 6.0  # twice the largest AEFF offset
    assert (row["energy_min"], row["energy_max"]) == (approx(0.7e12), approx(50e12))  # LO_THRES, max(ENERGY)
    assert row["irf_class"] == "full-enclosure" and row["rad_max"] is None
    assert (row["geo_lon"], row["geo_lat"], row["geo_alt"]) == (16.5002222222222, -23.2717777777778, 1835.0)
    assert (row["obs_mode"], row["scan_mode"], row["target_name"]) == ("WOBBLE", "on-the-fly-cross-map",
                                                                       "Crab Nebula")


# ---- where the IRFs are, and which kind they are


def test_irfs_in_a_shared_calibration_file(tmp_path, site, baseline):
    """Two observations whose IRFs are in one file of a calibration directory the index climbs to."""
    rows = []
    for obs_id in (OBS_ID, 1002):
        write_fits(tmp_path / "data" / f"obs_{obs_id}.fits.gz", [events_hdu(header={"OBS_ID": obs_id}), gti_hdu()])
        rows += [IndexRow(obs_id, "events", "events", "../data", f"obs_{obs_id}.fits.gz", "EVENTS"),
                 IndexRow(obs_id, "gti", "gti", "../data", f"obs_{obs_id}.fits.gz", "GTI")]
        rows += [IndexRow(obs_id, t, t, "../caldb/bcf", "irf_file.fits", t.upper())
                 for t in ("aeff", "edisp", "psf", "bkg")]
    write_fits(tmp_path / "caldb" / "bcf" / "irf_file.fits", [aeff_hdu(), edisp_hdu(), psf_hdu(), bkg_hdu()])
    write_hdu_index(tmp_path / "index" / "hdu-index.fits.gz", rows)
    results = read(tmp_path / "index", site, obs_index=None)
    assert [r.error for r in results.values()] == [None, None]
    for result in results.values():
        # events + GTI only in both layouts, so even access_estsize is the same
        assert without(result.row, "obs_id", "obs_publisher_did", "zen_pnt", "zenith", "event_count") == \
            without(baseline, "obs_id", "obs_publisher_did", "zen_pnt", "zenith", "event_count")


def test_point_like_irfs_with_a_rad_max_keyword(tmp_path, site):
    directory = write_collection(tmp_path, Layout(irfs=("aeff", "edisp"), point_like=True))
    edit_header(data_file(directory), "AEFF", {"RAD_MAX": 0.1})
    row = row_of(directory, site)
    assert (row["irf_class"], row["rad_max"]) == ("point-like", 0.1)
    assert row["s_resolution"] is None  # no PSF
    # no full-enclosure AEFF: the 99th percentile of the event offsets (1.44 deg), rounded up
    assert row["s_fov"] == 3.0
    assert row["em_res_power"] == approx(5.0, rel=1e-5)
    assert row["energy_min"] == approx(0.7e12)


@pytest.mark.parametrize("values,expected", [([0.1] * 4, 0.1), ([0.1, 0.12, 0.15, 0.2], None)],
                         ids=["constant", "energy-dependent"])
def test_point_like_irfs_with_a_rad_max_2d_hdu(tmp_path, site, values, expected):
    layout = Layout(irfs=("aeff", "edisp", "rad_max"), point_like=True)
    directory = write_collection(tmp_path, layout)
    write_fits(data_file(directory), observation_hdus(OBS_ID, layout)[:-1] + [rad_max_hdu(values)])
    row = row_of(directory, site)
    assert (row["irf_class"], row["rad_max"], row["s_resolution"]) == ("point-like", expected, None)


@pytest.mark.parametrize("hduclass,hduclas4", [("GADF", "AEFF_2D"), ("OGIP", "2D"), ("OGIP", "AEFF_2D")])
def test_hduclass_and_hduclas4_spellings(tmp_path, site, baseline, hduclass, hduclas4):
    directory = write_collection(tmp_path)
    for hdu in ("AEFF", "EDISP", "PSF", "BKG"):
        edit_header(data_file(directory), hdu, {"HDUCLASS": hduclass})
    edit_header(data_file(directory), "AEFF", {"HDUCLAS4": hduclas4})
    assert row_of(directory, site) == baseline


@pytest.mark.parametrize("hduclas2", ["RPSF", "PSF"])
def test_psf_found_by_hduclas2_in_either_spelling(tmp_path, site, baseline, hduclas2):
    """HDU_NAME names no HDU of the file: the PSF is the HDU whose HDUCLAS2 says so."""
    directory = write_collection(tmp_path)
    edit_header(data_file(directory), "PSF", {"HDUCLAS2": hduclas2, "EXTNAME": "POINT SPREAD FUNCTION"})
    rows = observation_rows()
    rows[-2].hdu_name = "PSF_TABLE_NOT_AN_EXTNAME"
    write_hdu_index(os.path.join(directory, "hdu-index.fits.gz"), rows)
    assert row_of(directory, site) == baseline


# ---- missing keywords and placeholders


def test_events_and_gti_without_hduclas_keywords(tmp_path, site, baseline):
    absent = {"HDUCLASS": None, "HDUDOC": None, "HDUVERS": None, "HDUCLAS1": None}
    row = row_of(write_collection(tmp_path, Layout(events_header=absent, gti_header=absent)), site)
    assert row["hdu_version"] is None
    assert without(row, "hdu_version") == without(baseline, "hdu_version")


@pytest.mark.parametrize("index_mode,expected", [(None, "POINTING"), ("WOBBLE", "WOBBLE")])
def test_no_obs_mode(tmp_path, site, index_mode, expected):
    """Absent from the header: the obs-index's, else POINTING (there is an RA_PNT)."""
    directory = write_collection(tmp_path, Layout(events_header={"OBS_MODE": None}))
    write_obs_index(os.path.join(directory, "obs-index.fits.gz"), [obs_index_values(OBS_MODE=index_mode)])
    row = row_of(directory, site)
    assert row["obs_mode"] == expected
    assert row["scan_mode"] == "on-the-fly-cross-map"  # the target is 0.5 deg from the pointing
    assert row["tracking_mode"] == "sidereal"


@pytest.mark.parametrize("configured", [None, "Configured array"])
def test_no_instrume(tmp_path, site, configured):
    directory = write_collection(tmp_path, Layout(events_header={"INSTRUME": None}))
    assert row_of(directory, site, instrument_name=configured)["instrument_name"] == configured


def test_placeholders_are_not_published(tmp_path, site):
    """CTA 1DC writes ALT_PNT = 90, AZ_PNT = 0, ZEN_PNT = 0, N_TELS = 0 and RA_OBJ = DEC_OBJ = 0 for 'unknown'."""
    placeholders = {"ALT_PNT": 90.0, "AZ_PNT": 0.0, "N_TELS": 0, "RA_OBJ": 0.0, "DEC_OBJ": 0.0}
    directory = write_collection(tmp_path, Layout(events_header=placeholders))
    write_obs_index(os.path.join(directory, "obs-index.fits.gz"), [obs_index_values(ZEN_PNT=0.0)])
    result = read_one(directory, site)
    for column in ("alt_pnt", "az_pnt", "zen_pnt", "zenith", "n_tels", "ra_obj", "dec_obj"):
        assert result.row[column] is None, column
    # nothing left to confirm the header's site with: not published either
    assert (result.row["geo_lon"], result.row["geo_lat"], result.row["geo_alt"]) == (None, None, None)
    assert {note.keyword for note in result.notes} == {"ALT_PNT", "N_TELS", "RA_OBJ", "GEOLON"}
    assert all(note.hdu == "EVENTS" and note.path.endswith("obs_1001.fits.gz") for note in result.notes)


def test_a_wrong_geolon_is_not_published(tmp_path, site):
    """CTA 1DC's GEOLON (79.4, the Indian Ocean) puts the pointing 50 deg away from ALT_PNT."""
    directory = write_collection(tmp_path, Layout(events_header={"GEOLON": 79.4041}))
    result = read_one(directory, site)
    assert (result.row["geo_lon"], result.row["geo_lat"], result.row["geo_alt"]) == (None, None, None)
    assert [note.keyword for note in result.notes] == ["GEOLON"]
    assert "does not match ALT_PNT" in result.notes[0].message
    # the configuration's site is published whatever the header says
    configured = SiteLocation(name="Here", geo_lon=16.5, geo_lat=-23.27, geo_alt=1800.0)
    row = row_of(directory, site, site=configured)
    assert (row["site_name"], row["geo_lon"], row["geo_lat"], row["geo_alt"]) == ("Here", 16.5, -23.27, 1800.0)


def test_altitude_in_km(tmp_path, site):
    directory = write_collection(tmp_path, Layout(events_header={"ALTITUDE": (1.835, "[km] Altitude of array")}))
    result = read_one(directory, site)
    assert result.row["geo_alt"] == 1835.0 and result.row["geo_lon"] == 16.5002222222222
    assert [note.keyword for note in result.notes] == ["ALTITUDE"]


def test_duplicate_header_keywords_use_the_first_value(tmp_path, site, baseline):
    directory = write_collection(tmp_path)
    hdus = observation_hdus()
    hdus[0].header.append(("OBJECT", "Not the Crab"))
    hdus[0].header.append(("RA_PNT", 12.0))
    write_fits(data_file(directory), hdus)
    result = read_one(directory, site)
    assert result.row == baseline
    assert sorted(note.keyword for note in result.notes) == ["OBJECT", "RA_PNT"]
    assert "written 2 times" in result.notes[0].message


@pytest.mark.parametrize("equinox", ["", fits.card.UNDEFINED], ids=["empty string", "no value"])
def test_empty_equinox_means_j2000(tmp_path, site, baseline, equinox):
    directory = write_collection(tmp_path)
    hdus = observation_hdus()
    hdus[0].header["EQUINOX"] = equinox
    write_fits(data_file(directory), hdus)
    assert row_of(directory, site) == baseline


# ---- identifiers, times, positions, dates


@pytest.mark.parametrize("hdu_index_format,obs_index_format,header_obs_id", [
    ("K", "K", 1001.0), ("D", "D", "1001"), ("10A", "K", 1001), ("K", "10A", " 1001 "), ("10A", "10A", "1001."),
])
def test_obs_id_as_text_or_float(tmp_path, site, hdu_index_format, obs_index_format, header_obs_id):
    directory = write_collection(tmp_path, Layout(events_header={"OBS_ID": header_obs_id}))
    write_hdu_index(os.path.join(directory, "hdu-index.fits.gz"), observation_rows(), hdu_index_format)
    write_obs_index(os.path.join(directory, "obs-index.fits.gz"), [obs_index_values()],
                    obs_id_format=obs_index_format)
    row = row_of(directory, site)
    assert row["obs_id"] == "1001"
    assert row["zen_pnt"] == approx(90.0 - EVENTS_HEADER["ALT_PNT"])  # only the obs-index has ZEN_PNT


@pytest.mark.parametrize("timesys", ["UTC", "utc"])
def test_utc_times_count_leap_seconds(tmp_path, site, timesys):
    """TIMESYS UTC with MJDREFI written as a float: 800 days of seconds after MJD 57000 UTC end 2 s before
    MJD 57800, because 2015-06-30 and 2016-12-31 had a leap second each."""
    start = 800 * 86400.0
    reference = {"MJDREFI": 57000.0, "MJDREFF": 0.0, "TIMESYS": timesys, "TSTART": start, "TSTOP": start + 1800}
    layout = Layout(events_header=reference, gti_header={"MJDREFI": 57000.0, "MJDREFF": 0.0, "TIMESYS": timesys})
    directory = write_collection(tmp_path, layout)
    hdus = observation_hdus(OBS_ID, layout)
    hdus[1] = gti_hdu([start], [start + 1800], header=layout.gti_header)
    write_fits(data_file(directory), hdus)
    # The obs-index counts from its own MJDREF (H.E.S.S.', in TT): the same instants there.
    shift = (57000 - 51910 - 0.000742870370370241) * 86400 + 69.184  # TT - UTC in 2017: 69.184 s
    write_obs_index(os.path.join(directory, "obs-index.fits.gz"),
                    [obs_index_values(TSTART=start + shift, TSTOP=start + 1800 + shift)])
    row = row_of(directory, site)
    assert row["t_min"] == approx(57800 - 2 / 86400, abs=1e-9)
    assert row["t_max"] == approx(57800 + 1798 / 86400, abs=1e-9)
    assert (row["mjdrefi"], row["mjdreff"], row["timesys"]) == (57000.0, 0.0, timesys)


@pytest.mark.parametrize("turns", [1, -1], ids=["RA+360", "RA-360"])
def test_ra_beyond_360_and_negative(tmp_path, site, baseline, turns):
    ra = EVENTS_HEADER["RA_PNT"] + 360.0 * turns
    directory = write_collection(tmp_path, Layout(events_header={"RA_PNT": ra}))
    write_obs_index(os.path.join(directory, "obs-index.fits.gz"), [obs_index_values(RA_PNT=ra)])
    row = row_of(directory, site)
    assert row["ra_pnt"] == ra  # as in the file
    assert 0 <= row["s_ra"] < 360 and row["s_ra"] == approx(baseline["s_ra"], abs=1e-9)
    assert row["s_dec"] == approx(baseline["s_dec"], abs=1e-9)
    assert np.allclose(row["s_region"], baseline["s_region"], atol=1e-9)


@pytest.mark.parametrize("changes,expected", [
    ({}, ("2004-12-04", "22:08:10.184")),
    ({"DATE-OBS": None, "DATE_OBS": "2004-12-04"}, ("2004-12-04", "22:08:10.184")),
    ({"DATE-OBS": "2004-12-04T22:08:10.184", "TIME-OBS": None}, ("2004-12-04T22:08:10.184", None)),
    ({"DATE-OBS": None, "TIME-OBS": None, "DATE_OBS": "2004-12-04T22:08:10"}, ("2004-12-04T22:08:10", None)),
], ids=["DATE-OBS", "DATE_OBS", "DATE-OBS with time", "DATE_OBS with time"])
def test_both_date_obs_spellings(tmp_path, site, baseline, changes, expected):
    """DATE-OBS is kept as written and never parsed: the times come from the GTI."""
    row = row_of(write_collection(tmp_path, Layout(events_header=changes)), site)
    assert (row["date_obs"], row["time_obs"]) == expected
    assert row["t_min"] == baseline["t_min"]


# ---- indexes and files


def test_index_tables_recognised_by_their_columns(tmp_path, site, baseline):
    """An hdu-index whose HDU is named OBS_INDEX (and an obs-index named otherwise), behind another table."""
    directory = write_collection(tmp_path)
    write_hdu_index(os.path.join(directory, "hdu-index.fits.gz"), observation_rows(), extname="OBS_INDEX")
    write_obs_index(os.path.join(directory, "obs-index.fits.gz"), [obs_index_values()], extname="HDU_INDEX")
    assert row_of(directory, site) == baseline


def test_empty_file_dir(tmp_path, site, baseline):
    directory = write_collection(tmp_path)
    os.rename(data_file(directory), os.path.join(directory, "obs_1001.fits.gz"))
    write_hdu_index(os.path.join(directory, "hdu-index.fits.gz"), observation_rows(file_dir=""))
    assert row_of(directory, site) == baseline


def test_non_gadf_files_beside_the_data(tmp_path, site, baseline):
    """Only files an index references are read: nothing else in the directories matters."""
    directory = write_collection(tmp_path)
    for folder in (directory, os.path.join(directory, "data")):
        with open(os.path.join(folder, "README.txt"), "w") as f:
            f.write("terms of use\n")
        with open(os.path.join(folder, "broken.fits.gz"), "wb") as f:
            f.write(b"\x1f\x8b not really gzip")
        with open(os.path.join(folder, "preview.png"), "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n")
        fits.PrimaryHDU(np.zeros((4, 4))).writeto(os.path.join(folder, "image.fits"))
    assert row_of(directory, site) == baseline


def test_gzip_and_plain_fits_side_by_side(tmp_path, site, baseline):
    """Events in a plain file, IRFs in a gzip file named .fits (told apart by content, not name)."""
    import gzip

    directory = write_collection(tmp_path)
    hdus = observation_hdus()
    write_fits(os.path.join(directory, "data", "events_1001.fits"), hdus[:2])
    irf_file = write_fits(os.path.join(directory, "data", "irfs.fits.gz"), hdus[2:])
    os.rename(irf_file, os.path.join(directory, "data", "irfs_1001.fits"))
    with open(os.path.join(directory, "data", "irfs_1001.fits"), "rb") as f:
        assert f.read(2) == b"\x1f\x8b" and gzip.GzipFile(fileobj=f)  # really gzip
    rows = observation_rows(file_name="events_1001.fits")
    for row in rows[2:]:
        row.file_name = "irfs_1001.fits"
    write_hdu_index(os.path.join(directory, "hdu-index.fits.gz"), rows)
    assert row_of(directory, site) == baseline
