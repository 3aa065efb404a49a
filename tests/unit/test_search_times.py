"""Times as people give them (search/times.py) to the MJD (UTC) of the tables: ISO and MJD in UTC, TT
and TAI, mission elapsed time with each collection's MJDREF read from its files, leap seconds, and
bad input. Expected values are worked out by hand from the offsets of the time scales (TT - TAI =
32.184 s; TAI - UTC = 32 s in 2004, 35 s until 2015-06-30, 36 s until 2016-12-31, 37 s since),
not by the conversion under test."""

import os

import pytest
from astropy.io import fits

from ingest.times import TimeReference
from search.times import MET, TimeInputError, convert, time_range

MS_IN_DAYS = 0.001 / 86400  # a millisecond as a fraction of a day


def utc_mjd(text, system="UTC", reference=None, **kwargs):
    return convert(text, system, reference, **kwargs).mjd


def day_fraction(hours, minutes, seconds, day_seconds=86400):
    """The fraction of a UTC day (of day_seconds: 86401 with a leap second) at a time of day."""
    return (hours * 3600 + minutes * 60 + seconds) / day_seconds


# ---- UTC, TT, TAI: ISO and MJD


def test_iso_utc():
    # 2004-12-04 is MJD 53343
    assert utc_mjd("2004-12-04T22:00:00") == pytest.approx(53343 + day_fraction(22, 0, 0), abs=MS_IN_DAYS)
    assert utc_mjd("2004-12-04 22:00:00.250") == pytest.approx(53343 + day_fraction(22, 0, 0.25),
                                                               abs=MS_IN_DAYS)
    assert utc_mjd("2004-12-04T22:00:00Z") == utc_mjd("2004-12-04T22:00:00")
    assert utc_mjd("2004-12-04T22:00") == utc_mjd("2004-12-04T22:00:00")


@pytest.mark.parametrize("system, ahead", [("TT", 64.184), ("TAI", 32.0)])
def test_iso_and_mjd_in_tt_and_tai_of_2004(system, ahead):
    """In 2004 TT is 64.184 s and TAI 32 s ahead of UTC."""
    expected = 53343 + day_fraction(22, 0, 0)
    assert utc_mjd("2004-12-04T22:01:04.184" if system == "TT" else "2004-12-04T22:00:32",
                   system) == pytest.approx(expected, abs=MS_IN_DAYS)
    assert utc_mjd(repr(expected + ahead / 86400), system) == pytest.approx(expected, abs=MS_IN_DAYS)


def test_mjd_utc_is_taken_as_it_is():
    assert utc_mjd("53343.5") == 53343.5
    assert utc_mjd(" 53343 ") == 53343.0


def test_a_date_alone_is_the_start_of_the_day_or_the_end_of_a_range():
    start, stop = time_range("2004-12-04", "2004-12-04")
    assert (start.mjd, stop.mjd) == (53343.0, 53344.0)
    assert not start.day_end and stop.day_end
    assert "the end of that day" in stop.describe()
    start, stop = time_range("2004-12-04", "2004-12-04", "TT")
    assert stop.mjd - start.mjd == pytest.approx(1.0, abs=MS_IN_DAYS)


# ---- leap seconds


def test_the_utc_day_of_a_leap_second_has_86401_seconds():
    """2016-12-31 ends with 23:59:60: its end as a range is 2017-01-01 00:00, not one SI day after
    its start (which is 23:59:60)."""
    start, stop = time_range("2016-12-31", "2016-12-31")
    assert (start.mjd, stop.mjd) == (57753.0, 57754.0)
    leap = utc_mjd("2016-12-31T23:59:60")
    assert leap == pytest.approx(57753 + day_fraction(23, 59, 60, 86401), abs=1e-12)
    assert utc_mjd("2016-12-31T23:59:59") < leap < 57754.0


def test_tt_across_the_leap_second_of_2016_12_31():
    """TT - UTC is 68.184 s before the leap second and 69.184 s after: TT 00:01:09.184 is UTC
    midnight of 2017-01-01, TT 00:01:08.184 the leap second itself, and TT 00:01:07.184 UTC 23:59:59."""
    assert utc_mjd("2017-01-01T00:01:09.184", "TT") == pytest.approx(57754.0, abs=MS_IN_DAYS)
    assert utc_mjd("2017-01-01T00:01:08.184", "TT") == pytest.approx(
        57753 + day_fraction(23, 59, 60, 86401), abs=MS_IN_DAYS)
    assert utc_mjd("2017-01-01T00:01:07.184", "TT") == pytest.approx(
        57753 + day_fraction(23, 59, 59, 86401), abs=MS_IN_DAYS)
    # the same instants as MJD (TT): TT days have 86400 s
    assert utc_mjd(repr(57754 + 69.184 / 86400), "TT") == pytest.approx(57754.0, abs=MS_IN_DAYS)
    # TAI - UTC is 37 s since 2017
    assert utc_mjd("2017-01-01T00:00:37", "TAI") == pytest.approx(57754.0, abs=MS_IN_DAYS)


def test_a_second_60_only_in_utc_and_only_on_a_leap_second_day():
    with pytest.raises(TimeInputError, match="exists only in UTC"):
        convert("2016-12-31T23:59:60", "TT")
    with pytest.raises(TimeInputError, match="no leap second"):
        convert("2015-01-01T23:59:60")


# ---- mission elapsed time, with each collection's MJDREF as its files give it


def file_reference(path, hdu=1):
    header = fits.getheader(path, hdu)
    return TimeReference(header["MJDREFI"], header["MJDREFF"], header["TIMESYS"])


@pytest.fixture(scope="module")
def hess_reference(hess_dir):
    return file_reference(os.path.join(hess_dir, "obs-index.fits.gz"))


@pytest.fixture(scope="module")
def cta_reference(cta_index_dir):
    return file_reference(os.path.join(cta_index_dir, "obs-index.fits.gz"))


@pytest.fixture(scope="module")
def hawc_reference():
    from tests.conftest import HAWC_DIR

    path = os.path.join(HAWC_DIR, "events", "EventList_Crab_fHitbin5GP.fits.gz")
    if not os.path.exists(path):
        pytest.skip(f"HAWC Crab pass 4 not found at {HAWC_DIR}")
    return file_reference(path)


def test_hess_met(hess_reference):
    """H.E.S.S. counts TT seconds from 2001-01-01 00:00:00 UTC (MJDREF 51910 + 64.184 s, in TT);
    no leap second until 2005-12-31. Obs 23523 starts at TSTART 123890826 s, which its obs-index
    row writes as DATE-OBS 2004-12-04, TIME-OBS 22:08:10.184 (TT)."""
    assert (hess_reference.mjdrefi, hess_reference.timesys) == (51910, "TT")
    assert utc_mjd("0", MET, hess_reference) == pytest.approx(51910.0, abs=MS_IN_DAYS)
    tstart = utc_mjd("123890826", MET, hess_reference)
    assert tstart == pytest.approx(51910 + 123890826 / 86400, abs=MS_IN_DAYS)
    assert tstart == pytest.approx(utc_mjd("2004-12-04T22:08:10.184", "TT"), abs=MS_IN_DAYS)
    assert "2004-12-04 22:07:06.000 UTC" in convert("123890826", MET, hess_reference).describe()


def test_cta_1dc_met(cta_reference):
    """CTA 1DC counts TT seconds from MJD 51544.5 TT (2000-01-01 12:00 TT = 11:58:55.816 UTC);
    664502400 s later is 2021-01-21 12:00 TT, which is 11:58:50.816 UTC (TT - UTC = 69.184 s)."""
    assert (cta_reference.mjdrefi + cta_reference.mjdreff, cta_reference.timesys) == (51544.5, "TT")
    assert utc_mjd("0", MET, cta_reference) == pytest.approx(
        51544 + day_fraction(11, 58, 55.816), abs=MS_IN_DAYS)
    assert utc_mjd("664502400", MET, cta_reference) == pytest.approx(
        59235 + day_fraction(11, 58, 50.816), abs=MS_IN_DAYS)


def test_hawc_met_across_the_leap_second_of_2015_06_30(hawc_reference):
    """HAWC counts TAI seconds from MJD 44244 TAI (1980-01-06 00:00:00 TAI = 1980-01-05 23:59:41
    UTC). 2015-07-01 00:00:00 UTC is 00:00:36 TAI: (57204 - 44244) days and 36 s after MJDREF. One
    second before is the leap second 2015-06-30 23:59:60, two seconds before 23:59:59."""
    assert (hawc_reference.mjdrefi, hawc_reference.mjdreff, hawc_reference.timesys) == (44244, 0, "TAI")
    assert utc_mjd("0", MET, hawc_reference) == pytest.approx(
        44243 + day_fraction(23, 59, 41), abs=MS_IN_DAYS)
    midnight = (57204 - 44244) * 86400 + 36
    assert utc_mjd(str(midnight), MET, hawc_reference) == pytest.approx(57204.0, abs=MS_IN_DAYS)
    assert utc_mjd(str(midnight - 1), MET, hawc_reference) == pytest.approx(
        57203 + day_fraction(23, 59, 60, 86401), abs=MS_IN_DAYS)
    assert utc_mjd(str(midnight - 2), MET, hawc_reference) == pytest.approx(
        57203 + day_fraction(23, 59, 59, 86401), abs=MS_IN_DAYS)
    # the textbook MJDREF + MET / 86400 is the TAI MJD: 36 s off
    naive = 44244 + midnight / 86400
    assert (naive - 57204.0) * 86400 == pytest.approx(36.0, abs=0.001)


# ---- bad input: a TimeInputError naming the part that is wrong


@pytest.mark.parametrize("text, system, part, message", [
    ("garbage", "UTC", "start", "is not a time"),
    ("2004-13-04", "UTC", "start", "is not a time"),
    ("2004-12-04T25:00", "TT", "start", "is not a time"),
    ("nan", "UTC", "start", "not a finite number"),
    ("2004", "UTC", "start", "outside 1960-2100"),
    ("1119744036", "UTC", "start", "choose MET"),
    ("2004-12-04T22:00:00Z", "TT", "start", "means UTC"),
    ("2004-12-04", MET, "start", "is not a number"),
    ("123890826", "GPS", "system", "is not one of"),
])
def test_bad_times(text, system, part, message):
    reference = TimeReference(51910, 64.184 / 86400, "TT") if system == MET else None
    with pytest.raises(TimeInputError, match=message) as caught:
        convert(text, system, reference)
    assert caught.value.part == part
    assert (system if part == "system" else text) in caught.value.message


def test_a_met_needs_its_collection():
    with pytest.raises(TimeInputError, match="choose the collection") as caught:
        convert("123890826", MET)
    assert caught.value.part == "reference"


def test_a_range_must_not_end_before_it_starts():
    for start, stop in (("53344", "53343.5"), ("2004-12-05", "2004-12-04"),
                        ("2004-12-05T00:00:00", "2004-12-04")):
        with pytest.raises(TimeInputError, match="ends .* before it starts") as caught:
            time_range(start, stop)
        assert caught.value.part == "stop"
    # an instant, and a range within one day
    assert time_range("53343.9", "53343.9")[0].mjd == 53343.9
    assert time_range("2004-12-04T12:00", "2004-12-04")[1].mjd == 53344.0


def test_empty_fields_give_no_time():
    assert time_range("", None) == (None, None)
    assert time_range("  ", "53344")[0] is None
