"""HAWC's Crab events (pass 4) published beside H.E.S.S. and CTA 1DC: a wide-field drift-scan
observatory whose one observation comes in ten event subsets (2 event classes × 5 fHit bins), each
with its own event list, ~39 000 GTIs (TIMESYS TAI) and IRF maps (HE-OBSCORE-SPEC §7).

Every value is compared with what the test computes itself from the files with astropy; the
packages and the bundle are opened with gammapy 2.1. The collection is published by the module's
fixture and dropped at its end; one subset is proprietary (rights.py).
"""

import io
import json
import os
import subprocess
import tarfile

import astropy.units as u
import numpy as np
import pytest
import requests
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time

from instance import PROJECT_ROOT
from rights import MEMBER, PROPRIETARY_SUBSET
from test_datalink import GAMMAPY_PYTHON, expected_links, link_set
from test_gti import check_good_time, gti_of_files
from test_webform import Page, search

NAME, COLLECTION = "hawc_crab_pass4", "HAWC-CRAB-PASS4"
OBS_ID = "103000133"
DID = "ivo://cherenkov-dl3.vo/hawc_crab_pass4?{}"
DEBIAN_PYTHON = "/usr/bin/python3"
GAMMAPY_OPEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gammapy_open.py")


# ---- what the files say, read here with astropy


@pytest.fixture(scope="module")
def subsets(hawc_dir):
    """{event_type ('GP-5'): {hdu_type: path}} from HAWC's hdu-index."""
    found = {}
    for row in Table.read(os.path.join(hawc_dir, "hdu-index.fits.gz")):
        key = f"{row['EVENT_CLASS'].strip()}-{int(row['EVENT_TYPE'])}"
        found.setdefault(key, {})[row["HDU_TYPE"].strip()] = os.path.join(
            hawc_dir, row["FILE_DIR"].strip(), row["FILE_NAME"].strip())
    assert len(found) == 10
    return found


def expected(paths):
    """The values of one subset, from its EVENTS and GTI HDUs: TAI seconds since MJDREF to UTC MJD."""
    with fits.open(paths["events"]) as hdulist:
        events, gti = hdulist["EVENTS"], hdulist["GTI"]
        reference = Time(events.header["MJDREFI"], events.header["MJDREFF"], format="mjd",
                         scale=gti.header["TIMESYS"].lower())
        energies = np.asarray(events.data["ENERGY"]) * 1e12  # TeV (TUNIT) to eV
        return {
            "ev_xel": len(events.data), "ra": np.asarray(events.data["RA"]), "dec": np.asarray(events.data["DEC"]),
            "t_min": (reference + np.min(gti.data["START"]) * u.s).utc.mjd,
            "t_max": (reference + np.max(gti.data["STOP"]) * u.s).utc.mjd,
            "naive_t_min": events.header["MJDREFI"] + np.min(gti.data["START"]) / 86400.0,
            "t_exptime": events.header["LIVETIME"],
            "energy_min": float(np.min(energies)), "energy_max": float(np.max(energies)),
        }


# ---- the published collection


def run(service, *arguments):
    return subprocess.run(
        [DEBIAN_PYTHON, "-m", "instance", *arguments, "--instance", service.instance.name,
         "--collection", NAME, "--port", str(service.instance.port), "--collections", service.collections_file],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def published(service, hawc_dir):
    out = run(service, "ingest")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    yield out.stdout + out.stderr
    run(service, "drop")


@pytest.fixture(scope="module")
def rows(published, tap):
    result = tap.search(
        "SELECT obs_publisher_did, obs_id, event_type, ev_xel, t_min, t_max, t_exptime, energy_min, energy_max,"
        " s_ra, s_dec, s_fov, s_region, t_intervals, obs_mode, tracking_mode, scan_mode, pointing_mode,"
        " data_rights FROM ivoa.obscore NATURAL JOIN ivoa.obscore_hea"
        f" WHERE obs_collection = '{COLLECTION}'")
    return {row["event_type"]: row for row in result}


def test_one_dataset_per_event_subset(rows, subsets):
    assert sorted(rows) == sorted(subsets)
    for event_type, row in rows.items():
        assert row["obs_id"] == OBS_ID
        assert row["obs_publisher_did"] == DID.format(f"{OBS_ID}-{event_type}")


def test_values_are_those_of_the_files(rows, subsets):
    for event_type, row in rows.items():
        files = expected(subsets[event_type])
        assert row["ev_xel"] == files["ev_xel"], event_type
        assert row["t_min"] == pytest.approx(files["t_min"], abs=1e-8), event_type
        # TAI is 35 s ahead of UTC in June 2015 (36 s after the leap second of June 30, which the
        # GTIs span): MJDREF + START / 86400 is not the UTC time
        assert abs(row["t_min"] - files["naive_t_min"]) * 86400.0 == pytest.approx(35.0, abs=0.01)
        assert row["t_max"] == pytest.approx(files["t_max"], abs=1e-8), event_type
        assert row["t_exptime"] == pytest.approx(files["t_exptime"], rel=1e-7)  # ObsCore: a real
        # IRF maps give no safe energy range: the range is that of the events
        assert row["energy_min"] == pytest.approx(files["energy_min"], rel=1e-9)
        assert row["energy_max"] == pytest.approx(files["energy_max"], rel=1e-9)
        assert row["t_intervals"].startswith("t")


def test_a_drift_scan_is_described_as_one(rows):
    for row in rows.values():
        assert (row["obs_mode"], row["tracking_mode"], row["scan_mode"]) == (
            "DRIFT", "fixed-az-el-transit", "drift-scan")
        assert row["pointing_mode"] == "parallel"  # no CONV_DEP: every detector looks at the zenith


def test_the_region_holds_every_event(rows, subsets):
    from ingest.sky import offsets_deg
    for event_type, row in rows.items():
        files = expected(subsets[event_type])
        offsets = offsets_deg(files["ra"], files["dec"], row["s_ra"], row["s_dec"])
        assert offsets.max() <= row["s_fov"] / 2.0 < offsets.max() + 0.1 + 1e-9


def test_a_search_on_the_crab_finds_every_subset(published, tap):
    result = tap.search(f"SELECT obs_publisher_did FROM ivoa.obscore WHERE obs_collection = '{COLLECTION}'"
                        " AND 1 = CONTAINS(POINT('ICRS', 83.633, 22.0145), s_region)")
    assert len(result) == 10


def test_ingest_again_changes_nothing(published, service):
    query = f"SELECT obs_publisher_did, xmin::text FROM {NAME}.obs ORDER BY 1"
    before = service.instance.db.query(query)
    out = run(service, "ingest")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert service.instance.db.query(query) == before


def test_one_subset_withdrawn_and_back(published, service, hawc_dir, tmp_path, tap):
    """An hdu-index without GP-7's rows withdraws that subset alone; with them it is back."""
    link = service.collection(NAME).data_dir
    for name in os.listdir(hawc_dir):
        if name != "hdu-index.fits.gz":
            os.symlink(os.path.join(hawc_dir, name), tmp_path / name)
    index = Table.read(os.path.join(hawc_dir, "hdu-index.fits.gz"))
    keep = [not (row["EVENT_CLASS"].strip() == "GP" and int(row["EVENT_TYPE"]) == 7) for row in index]
    index[keep].write(tmp_path / "hdu-index.fits.gz")
    count = "SELECT COUNT(*) AS n FROM ivoa.obscore_hea WHERE obs_publisher_did LIKE '%hawc_crab_pass4%'"
    try:
        os.unlink(link)
        os.symlink(tmp_path, link)
        out = run(service, "ingest")
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        assert f"withdrew observation {OBS_ID}-GP-7" in out.stdout + out.stderr
        assert tap.search(count)[0]["n"] == 9
        gone = tap.search(f"SELECT * FROM ivoa.obscore WHERE obs_publisher_did = '{DID.format(OBS_ID + '-GP-7')}'")
        assert len(gone) == 0
        gtis = tap.search("SELECT COUNT(*) AS n FROM ivoa.obscore_gti"
                          f" WHERE obs_publisher_did = '{DID.format(OBS_ID + '-GP-7')}'")
        assert gtis[0]["n"] == 0
    finally:
        os.unlink(link)
        os.symlink(hawc_dir, link)
    out = run(service, "ingest")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert tap.search(count)[0]["n"] == 10


def gtis_of_file(path):
    """The GTIs of an event file, sorted, in MJD (UTC), as astropy converts them (TAI to UTC)."""
    with fits.open(path) as hdulist:
        gti = hdulist["GTI"]
        reference = Time(gti.header["MJDREFI"], gti.header["MJDREFF"], format="mjd",
                         scale=gti.header["TIMESYS"].lower())
        order = np.argsort(gti.data["START"])
        starts = (reference + np.asarray(gti.data["START"][order], dtype=float) * u.s).utc.mjd
        stops = (reference + np.asarray(gti.data["STOP"][order], dtype=float) * u.s).utc.mjd
    return starts, stops


def test_every_gti_is_in_the_gti_table_and_gaps_are_gaps(rows, subsets, tap):
    """39 250 GTIs of GP-5 in ivoa.obscore_gti as astropy converts them (TAI to UTC); an instant in
    the longest gap between two of them, inside t_min..t_max, does not find GP-5; one inside does."""
    starts, stops = gtis_of_file(subsets["GP-5"]["events"])
    did = DID.format(OBS_ID + "-GP-5")
    service = tap.search(f"SELECT t_start, t_stop FROM ivoa.obscore_gti WHERE obs_publisher_did = '{did}'"
                         " ORDER BY t_start", maxrec=100000)
    assert len(service) == len(starts) > 39000
    assert np.allclose(np.asarray(service["t_start"]), starts, rtol=0, atol=1e-9)
    assert np.allclose(np.asarray(service["t_stop"]), stops, rtol=0, atol=1e-9)
    gap = int(np.argmax(starts[1:] - stops[:-1]))
    query = (f"SELECT COUNT(*) AS n FROM ivoa.obscore_gti WHERE obs_publisher_did = '{did}'"
             " AND t_start <= {x!r} AND t_stop >= {x!r}")
    # float(): numpy 2's repr of a float64 is "np.float64(...)", no ADQL number
    in_gap = float((stops[gap] + starts[gap + 1]) / 2)
    assert rows["GP-5"]["t_min"] < in_gap < rows["GP-5"]["t_max"]
    assert tap.search(query.format(x=in_gap))[0]["n"] == 0
    assert tap.search(query.format(x=float((starts[gap] + stops[gap]) / 2)))[0]["n"] == 1


def test_good_time_of_every_subset_at_instants_and_windows(published, subsets, hawc_dir, tap, service):
    """test_gti's check for HAWC: for instants and windows around each subset's GTIs (in them, in
    their longest gap, at their edges), the transient query returns the subsets whose GTIs, read
    from the files with astropy, have good time then."""
    gtis = gti_of_files(hawc_dir, "hdu-index.fits.gz")
    assert sorted(gtis) == sorted(f"{OBS_ID}-{event_type}" for event_type in subsets)
    check_good_time(tap, service, NAME, COLLECTION, gtis)


# ---- the web search page on HAWC's gaps and its mission elapsed time


def test_the_search_page_matches_good_time_not_the_envelope(rows, subsets, service):
    """An instant in the longest gap between HAWC's GTIs (the ten subsets share them), given as
    HAWC's mission elapsed time: the search page's default (good time intervals) does not find
    HAWC, "start to end" does."""
    with fits.open(subsets["GP-5"]["events"]) as hdulist:
        starts, stops = (np.sort(np.asarray(hdulist["GTI"].data[c], dtype=float)) for c in ("START", "STOP"))
    gap = int(np.argmax(starts[1:] - stops[:-1]))
    in_gap = repr(float((stops[gap] + starts[gap + 1]) / 2))
    met = dict(time_from=in_gap, time_to=in_gap, time_scale="MET", met_collection=COLLECTION,
               collection=COLLECTION)
    assert search(service, **met) == set()
    assert search(service, **met, time_match="envelope") == {OBS_ID}


def test_hawc_met_after_the_leap_second_of_2015_06_30(rows, subsets, service, tap):
    """HAWC counts TAI seconds; 2015-07-01 00:00:00 UTC comes 36 leap seconds after the TAI
    midnight. The middle of the first GTI after it, given as MET, finds HAWC, and the page reads it
    as the UTC time that GTI has in ivoa.obscore_gti."""
    midnight = (57204 - 44244) * 86400 + 36  # MET of 2015-07-01 00:00:00 UTC (TAI - UTC = 36 s)
    with fits.open(subsets["GP-5"]["events"]) as hdulist:
        gti = hdulist["GTI"].data
        first = int(np.argmin(np.where(gti["START"] > midnight, gti["START"], np.inf)))
        start, stop = float(gti["START"][first]), float(gti["STOP"][first])
    middle = repr((start + stop) / 2)
    page = Page(service, time_from=middle, time_to=middle, time_scale="MET",
                met_collection=COLLECTION, collection=COLLECTION)
    assert not page.errors and page.obs_ids == {OBS_ID}
    did = DID.format(OBS_ID + "-GP-5")
    [row] = tap.search(f"SELECT t_start, t_stop FROM ivoa.obscore_gti WHERE obs_publisher_did = '{did}'"
                       " AND t_start >= 57204 ORDER BY t_start", maxrec=1)
    expected = Time((row["t_start"] + row["t_stop"]) / 2, format="mjd", scale="utc").iso
    assert expected.startswith("2015-07-01 ")
    assert page.interpreted["From"].startswith(
        "read as MET, seconds since MJDREF 44244.000000000 (TAI): " + expected + " UTC")


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_goodtime_function_sees_the_gaps(rows, subsets, tap, mode):
    """gavo_goodtime_overlaps (tests/live/test_goodtime_function.py) in GP-5's longest gap between
    two GTIs, inside t_min..t_max, and around it: for each of the ten subsets, 1 exactly where its
    own GTIs (astropy) overlap the window."""
    starts, stops = gtis_of_file(subsets["GP-5"]["events"])
    gap = int(np.argmax(starts[1:] - stops[:-1]))
    gap_start, gap_stop = float(stops[gap]), float(starts[gap + 1])
    assert rows["GP-5"]["t_min"] < gap_start < gap_stop < rows["GP-5"]["t_max"]
    epsilon = 1e-8  # days: beyond the service's and the test's astropy differences (1e-9)
    middle = (gap_start + gap_stop) / 2
    inside = float(starts[gap] + stops[gap]) / 2
    # (lo, hi, whether GP-5 had good time then)
    windows = [(middle, middle, 0), (gap_start + epsilon, gap_stop - epsilon, 0),
               (gap_start - epsilon, middle, 1), (middle, gap_stop + epsilon, 1), (inside, inside, 1)]
    gtis = {event_type: gtis_of_file(paths["events"]) for event_type, paths in subsets.items()}
    for lo, hi, good in windows:
        query = (f"SELECT event_type, gavo_goodtime_overlaps(o.t_intervals, {lo!r}, {hi!r}) AS good"
                 " FROM ivoa.obscore AS o NATURAL JOIN ivoa.obscore_hea"
                 f" WHERE obs_collection = '{COLLECTION}'")
        result = tap.search(query) if mode == "sync" else tap.run_async(query)
        service = {row["event_type"]: int(row["good"]) for row in result}
        files = {event_type: int(bool(np.any((a <= hi) & (b >= lo)))) for event_type, (a, b) in gtis.items()}
        assert files["GP-5"] == good, (lo, hi)
        assert service == files, (lo, hi)


# ---- DataLink, packages, the bundle, rights


def test_links_of_a_subset(rows, tap):
    [row] = tap.search(f"SELECT * FROM ivoa.obscore WHERE obs_publisher_did = '{DID.format(OBS_ID + '-GP-5')}'")
    assert link_set(row.getdatalink()) == expected_links({"aeff", "edisp", "psf", "bkg"})


def gammapy(*arguments):
    out = subprocess.run([GAMMAPY_PYTHON, GAMMAPY_OPEN, *map(str, arguments)], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.splitlines()[-1])


def source_sums(paths):
    """np.nansum of the data of each IRF map of a subset, from its files (what gammapy must have read)."""
    sums = {}
    for hdu_type, extname in (("aeff", "AEFF"), ("edisp", "EDISP"), ("psf", "PSF"), ("bkg", 0)):
        with fits.open(paths[hdu_type]) as hdulist:
            sums[hdu_type] = float(np.nansum(hdulist[extname].data))
    return sums


def check_opened(found, paths):
    files = expected(paths)
    assert found["events"] == files["ev_xel"]
    assert (found["aeff"], found["edisp"], found["psf"], found["bkg"]) == (
        "WcsNDMap", "EDispKernelMap", "RecoPSFMap", "WcsNDMap")
    for hdu_type, total in source_sums(paths).items():
        assert found[f"{hdu_type}_sum"] == pytest.approx(total, rel=1e-12), hdu_type


def test_the_package_of_a_subset_opens_in_gammapy(rows, tap, subsets, tmp_path):
    [row] = tap.search(f"SELECT * FROM ivoa.obscore WHERE obs_publisher_did = '{DID.format(OBS_ID + '-GP-6')}'")
    [package] = [r for r in row.getdatalink() if r["semantics"] == "#package"]
    with tarfile.open(fileobj=io.BytesIO(requests.get(package["access_url"], timeout=300).content)) as tar:
        tar.extractall(tmp_path)
    check_opened(gammapy(tmp_path, OBS_ID)[OBS_ID], subsets["GP-6"])


def test_the_bundle_of_every_subset_opens_in_gammapy(rows, service, subsets, tmp_path):
    """Ten subsets of one OBS_ID: one data store per subset in the tar, each opened by gammapy."""
    dids = [row["obs_publisher_did"] for row in rows.values()]
    url = f"{service.url}/bundle/q/dl/dlget"
    assert requests.get(url, params={"ID": dids}, timeout=300).status_code == 401  # NN-9 is proprietary
    response = requests.get(url, params={"ID": dids}, auth=MEMBER, timeout=600)
    assert response.status_code == 200, response.text[:500]
    with tarfile.open(fileobj=io.BytesIO(response.content)) as tar:
        tar.extractall(tmp_path)
    assert "hdu-index.fits.gz" not in os.listdir(tmp_path) and "README.txt" in os.listdir(tmp_path)
    stores = {event_type: tmp_path / NAME / event_type for event_type in rows}
    found = gammapy("--stores", OBS_ID, *stores.values())
    for event_type, directory in stores.items():
        check_opened(found[str(directory)], subsets[event_type])


def test_rights_are_per_subset(rows, service):
    assert rows[PROPRIETARY_SUBSET.split("-", 1)[1]]["data_rights"] == "proprietary"
    assert rows["GP-5"]["data_rights"] == "public"
    url = f"{service.url}/{NAME}/q/dl/dlget"

    def status(key, auth=None):
        return requests.get(url, params={"ID": DID.format(key), "PART": "event-list"}, auth=auth,
                            timeout=300).status_code

    assert status(PROPRIETARY_SUBSET) == 401
    assert status(PROPRIETARY_SUBSET, MEMBER) == 200
    assert status(f"{OBS_ID}-GP-5") == 200


def test_the_terms_travel_with_the_data(rows, service):
    response = requests.get(f"{service.url}/{NAME}/q/dl/dlget",
                            params={"ID": DID.format(OBS_ID + "-GP-5"), "PART": "documentation"}, timeout=120)
    assert response.status_code == 200
    assert "CC BY-NC-SA 4.0" in response.text and "Abeysekara" in response.text
