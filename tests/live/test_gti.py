"""The good time intervals in TAP (HE-OBSCORE-SPEC §8): ivoa.obscore_gti holds one row per GTI of every
published dataset, equal to what the test computes itself from the GTI HDUs with astropy, and the
transient query ("which datasets had good time at this instant?") finds exactly those.

"Exactly those" is checked for every dataset of every collection (HAWC's in test_hawc.py, where it is
published): at instants inside its GTIs, in the gaps between them, just inside and just outside their
edges, and in windows, the datasets the query returns are those whose GTIs, read here from the files
with astropy, have good time then. The time systems collection (timesys.py) has the same GTIs
written in TT, TAI and UTC around the leap second at the end of 2016.
"""

import os

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time

import timesys

COLLECTIONS = {"hess_dr1": ("hess_dir", "hdu-index.fits.gz"), "cta_1dc": ("cta_dir", "index/gps/hdu-index.fits.gz")}
TOLERANCE_DAYS = 1e-9  # 86 us: the service and the test both convert with astropy
# Days (0.9 ms): beyond the service's and the test's astropy differences, below any GTI's length.
EPSILON = 1e-8
HOUR = 1 / 24
# The documented transient query (README, /tap/examples) for many instants and windows at once: a
# table of them uploaded with the query.
PROBE_QUERY = """
    SELECT p.probe, o.obs_publisher_did FROM TAP_UPLOAD.probes AS p
    JOIN ivoa.obscore_gti AS g ON g.t_start <= p.hi AND g.t_stop >= p.lo
    JOIN ivoa.obscore AS o ON o.obs_publisher_did = g.obs_publisher_did
    WHERE o.obs_collection = '{collection}'"""


def gti_of_files(data_dir, index_name):
    """{dataset key: sorted [(start, stop)] in MJD UTC} from every GTI HDU the hdu-index names. The key
    is the OBS_ID, or '<OBS_ID>-<EVENT_CLASS>-<EVENT_TYPE>' for an event subset (HE-OBSCORE-SPEC §7)."""
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
        key = str(int(row["OBS_ID"]))
        if "EVENT_CLASS" in row.colnames:
            key += f"-{row['EVENT_CLASS'].strip()}-{int(row['EVENT_TYPE'])}"
        found[key] = sorted(zip(starts.tolist(), stops.tolist()))
    return found


def gti_of_service(tap, schema):
    found = {}
    for row in tap.search(f"SELECT o.obs_id, g.t_start, g.t_stop FROM ivoa.obscore AS o JOIN ivoa.obscore_gti AS g"
                          f" ON g.obs_publisher_did = o.obs_publisher_did WHERE o.obs_publisher_did LIKE"
                          f" 'ivo://%/{schema}?%'", maxrec=100000):
        found.setdefault(str(row["obs_id"]), []).append((row["t_start"], row["t_stop"]))
    return {obs_id: sorted(intervals) for obs_id, intervals in found.items()}


def probes(gtis):
    """(lo, hi) windows in MJD UTC around every dataset's GTIs ({key: [(start, stop)]}): instants in
    the middle of its first and last GTI, just inside and just outside its first start and its last
    stop, in the middle of its longest gap and a window filling that gap, and an hour either side
    of its first GTI's middle."""
    found = []
    for intervals in gtis.values():
        (first_start, first_stop), (last_start, last_stop) = intervals[0], intervals[-1]
        middle = (first_start + first_stop) / 2
        instants = [middle, (last_start + last_stop) / 2, first_start + EPSILON, first_start - EPSILON,
                    last_stop - EPSILON, last_stop + EPSILON]
        found += [(t, t) for t in instants] + [(middle - HOUR, middle + HOUR)]
        gaps = [(stop, start) for (_, stop), (start, _) in zip(intervals, intervals[1:]) if start - stop > 3 * EPSILON]
        if gaps:
            gap_start, gap_stop = max(gaps, key=lambda gap: gap[1] - gap[0])
            found += [((gap_start + gap_stop) / 2,) * 2, (gap_start + EPSILON, gap_stop - EPSILON)]
    return found


def had_good_time(gtis, lo, hi):
    """The keys of the datasets with good time in [lo, hi], from their GTIs ({key: array of (start, stop)
    rows})."""
    return {key for key, intervals in gtis.items() if np.any((intervals[:, 0] <= hi) & (intervals[:, 1] >= lo))}


def check_good_time(tap, service, schema, collection, gtis):
    """The transient query through TAP, for every probe of every dataset of a collection, returns
    the datasets the files say had good time then."""
    windows = probes(gtis)
    table = Table({"probe": np.arange(len(windows)), "lo": [w[0] for w in windows], "hi": [w[1] for w in windows]})
    result = tap.search(PROBE_QUERY.format(collection=collection), uploads={"probes": table}, maxrec=1000000)
    prefix = f"ivo://{service.instance.site.authority}/{schema}?"
    answered = {}
    for row in result:
        answered.setdefault(int(row["probe"]), set()).add(row["obs_publisher_did"])
    arrays = {key: np.asarray(intervals, dtype=float) for key, intervals in gtis.items()}
    for number, (lo, hi) in enumerate(windows):
        expected = {prefix + key for key in had_good_time(arrays, lo, hi)}
        assert answered.get(number, set()) == expected, (number, lo, hi)
    return windows


@pytest.mark.parametrize("schema", sorted(COLLECTIONS))
def test_every_gti_of_every_observation(schema, tap, request):
    fixture, index_name = COLLECTIONS[schema]
    files = gti_of_files(request.getfixturevalue(fixture), index_name)
    service = gti_of_service(tap, schema)
    assert sorted(service) == sorted(files)
    for obs_id, intervals in files.items():
        assert len(service[obs_id]) == len(intervals), obs_id
        assert np.allclose(service[obs_id], intervals, rtol=0, atol=TOLERANCE_DAYS), obs_id


@pytest.mark.parametrize("schema", sorted(COLLECTIONS))
def test_good_time_of_every_observation_at_instants_and_windows(schema, tap, service, request):
    fixture, index_name = COLLECTIONS[schema]
    gtis = gti_of_files(request.getfixturevalue(fixture), index_name)
    windows = check_good_time(tap, service, schema, service.collection(schema).obs_collection, gtis)
    assert len(windows) >= 7 * len(gtis)


def test_the_transient_query(tap, hess_dir):
    """Good time at an instant: the middle of 23523's GTI finds it, a second before its start does not."""
    [(start, stop)] = gti_of_files(hess_dir, "hdu-index.fits.gz")["23523"]
    query = ("SELECT o.obs_id FROM ivoa.obscore AS o JOIN ivoa.obscore_gti AS g ON g.obs_publisher_did ="
             " o.obs_publisher_did WHERE g.t_start <= {x!r} AND g.t_stop >= {x!r}")
    inside = {str(r["obs_id"]) for r in tap.search(query.format(x=(start + stop) / 2))}
    assert "23523" in inside
    before = {str(r["obs_id"]) for r in tap.search(query.format(x=start - 1 / 86400))}
    assert "23523" not in before


# ---- TT, TAI and UTC, across a leap second (timesys.py)


@pytest.fixture(scope="module")
def time_systems(service):
    """The time systems collection, published for this module: {OBS_ID: its GTIs from the files}."""
    service.instance.prepare([timesys.SCHEMA])
    yield gti_of_files(service.collection(timesys.SCHEMA).data_dir, "hdu-index.fits.gz")
    service.instance.drop_collection(timesys.SCHEMA)


def utc_mjd(iso):
    return float(Time(iso, scale="utc").mjd)


def test_tt_tai_and_utc_files_give_the_same_intervals(time_systems, tap):
    designed = [(utc_mjd(start), utc_mjd(stop)) for start, stop in timesys.GTI_UTC]
    published = gti_of_service(tap, timesys.SCHEMA)
    assert sorted(published) == sorted(time_systems) == sorted(timesys.SYSTEMS)
    for obs_id in timesys.SYSTEMS:
        assert np.allclose(time_systems[obs_id], designed, rtol=0, atol=TOLERANCE_DAYS), obs_id
        assert np.allclose(published[obs_id], designed, rtol=0, atol=TOLERANCE_DAYS), obs_id


def test_good_time_around_the_leap_second(time_systems, tap, service):
    """Inside the leap second (first GTI), in the gap after it, and in the second GTI: the same answer
    for the observations in TT, TAI and UTC; and every probe of test_gti's kind."""
    every = {f"ivo://{service.instance.site.authority}/{timesys.SCHEMA}?{obs_id}" for obs_id in timesys.SYSTEMS}
    query = ("SELECT DISTINCT o.obs_publisher_did FROM ivoa.obscore AS o JOIN ivoa.obscore_gti AS g"
             " ON g.obs_publisher_did = o.obs_publisher_did WHERE g.t_start <= {x!r} AND g.t_stop >= {x!r}"
             f" AND o.obs_collection = '{timesys.COLLECTION}'")
    for iso, good in (("2016-12-31T23:59:60.200", True), ("2017-01-01T00:00:00.300", False),
                      ("2017-01-01T00:00:00.800", True), ("2017-01-01T00:00:01.200", True)):
        found = {row["obs_publisher_did"] for row in tap.search(query.format(x=utc_mjd(iso)))}
        assert found == (every if good else set()), iso
    check_good_time(tap, service, timesys.SCHEMA, timesys.COLLECTION, time_systems)


def test_counting_without_the_leap_second_would_be_wrong():
    """What the collection is for: 00:00:00.8 UTC has good time, but read as MJDREF + seconds/86400
    (no leap second) the UTC file's second GTI would start at 00:00:01.6."""
    (_, _), (second_start, _) = timesys.seconds_since_mjdref("UTC")
    naive = timesys.MJDREF + second_start / 86400.0
    assert naive > utc_mjd("2017-01-01T00:00:01.5")
    assert utc_mjd("2017-01-01T00:00:00.800") < naive
