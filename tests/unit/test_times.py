"""GTI times → UTC MJD (spec §4.2) on small GTI files, in TT and in UTC."""

import numpy as np
import pytest
from astropy.io import fits

from ingest.errors import IngestError
from ingest.fitsfiles import FitsFiles
from ingest.times import read_time_reference, utc_mjd

SECONDS_PER_DAY = 86400.0


@pytest.fixture
def files():
    with FitsFiles() as opened:
        yield opened


def gti_file(tmp_path, files, keywords, starts, stops, name="gti.fits"):
    """A FITS file whose GTI HDU has these header keywords and rows; returns the LocatedHdu, read back."""
    table = fits.BinTableHDU.from_columns([
        fits.Column(name="START", format="D", unit="s", array=np.array(starts, dtype=float)),
        fits.Column(name="STOP", format="D", unit="s", array=np.array(stops, dtype=float))], name="GTI")
    for key, value in keywords.items():
        table.header[key] = value
    path = tmp_path / name
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(path)
    return next(hdu for hdu in files.get(str(path)).hdus if hdu.name == "GTI")


def test_tt_reference(tmp_path, files):
    # The CTA 1DC reference (MJD 51544.5 TT), written lower case; 664502400 s later is 2021-01-21.
    keywords = {"MJDREFI": 51544, "MJDREFF": 0.5, "TIMESYS": "tt"}
    gti = gti_file(tmp_path, files, keywords, [664502400.0], [664504200.0])
    reference = read_time_reference(gti)
    start = utc_mjd(reference.times(gti.column("START"))[0])
    naive = 51544 + 0.5 + 664502400.0 / SECONDS_PER_DAY  # the textbook formula: right in TT only
    assert naive == 59235.5
    # TT - UTC in 2021 is 32.184 s + 37 leap seconds
    assert (naive - start) * SECONDS_PER_DAY == pytest.approx(69.184, abs=1e-5)
    assert start == pytest.approx(59235.49919926, abs=5e-9)


def test_utc_reference_counts_the_leap_second(tmp_path, files):
    # UTC reference 2016-12-31T00:00:00, MJDREFI written as a float; two days of SI seconds later the
    # leap second 2016-12-31T23:59:60 has passed: the UTC clock reads 2017-01-01T23:59:59.
    gti = gti_file(tmp_path, files, {"MJDREFI": 57753.0, "MJDREFF": 0.0, "TIMESYS": "utc"}, [0.0], [172800.0])
    reference = read_time_reference(gti)
    assert (reference.mjdrefi, reference.scale) == (57753.0, "utc")
    stop = utc_mjd(reference.times(gti.column("STOP"))[0])
    naive = 57753.0 + 172800.0 / SECONDS_PER_DAY
    assert naive == 57755.0
    assert stop == pytest.approx(57755.0 - 1.0 / SECONDS_PER_DAY, abs=1e-10)
    assert (naive - stop) * SECONDS_PER_DAY == pytest.approx(1.0, abs=1e-5)


def test_single_mjdref_keyword(tmp_path, files):
    gti = gti_file(tmp_path, files, {"MJDREF": 51910.00074287037, "TIMESYS": "TT", "TIMEUNIT": "s"}, [0.0], [1.0])
    reference = read_time_reference(gti)
    assert reference.mjdrefi == 51910.0
    # a single double holds an MJD to ~1e-11 d (1 µs): the reason GADF splits it in MJDREFI/MJDREFF
    assert reference.mjdreff == pytest.approx(0.00074287037, abs=1e-10)


def test_timezero_is_added(tmp_path, files):
    keywords = {"MJDREFI": 51544, "MJDREFF": 0.5, "TIMESYS": "TT", "TIMEZERO": 10.0}
    gti = gti_file(tmp_path, files, keywords, [0.0], [1.0])
    reference = read_time_reference(gti)
    t = reference.times([0.0])[0]
    assert (t.tt.mjd - 51544.5) * SECONDS_PER_DAY == pytest.approx(10.0, abs=1e-6)


@pytest.mark.parametrize("keywords,missing", [
    ({"MJDREFF": 0.5, "TIMESYS": "TT"}, "MJDREFI"),
    ({"MJDREFI": 51544, "MJDREFF": 0.5}, "TIMESYS"),
])
def test_undatable_file_is_rejected(tmp_path, files, keywords, missing):
    gti = gti_file(tmp_path, files, keywords, [0.0], [1.0])
    with pytest.raises(IngestError) as caught:
        read_time_reference(gti)
    assert (caught.value.hdu, caught.value.keyword) == ("GTI", missing)
    assert str(caught.value) == f"gti.fits[GTI] {missing}: missing mandatory keyword"


def test_unknown_time_scale_is_rejected(tmp_path, files):
    gti = gti_file(tmp_path, files, {"MJDREFI": 51544, "MJDREFF": 0.5, "TIMESYS": "GMT"}, [0.0], [1.0])
    with pytest.raises(IngestError, match="GMT"):
        read_time_reference(gti)
