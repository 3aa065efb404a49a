"""Event subsets (hdu-index EVENT_CLASS / EVENT_TYPE), map IRFs and drift scans (HE-OBSCORE-SPEC §7),
on a small collection written here like HAWC's: OBS_ID 2001, a drift scan in three event subsets, each with
its own event list, GTI and map IRFs (but NN-5, whose GTI is a row without class and type: shared), beside
OBS_ID 2002, an IACT observation with no subset in the same index.
"""

import gzip
import io
import os
import tarfile

import numpy as np
import pytest
from astropy.io import fits

from datalink import bundle, parts, products
from datalink.cache import ProductCache
from datalink.observation import open_observation
from ingest import sky
from ingest.collection import read_collection
from ingest.config import CollectionConfig
from ingest.hdu_index import read_hdu_index
from instance import publication
from tests.unit.minigadf import (EVENTS_HEADER, GTI_HEADER, IndexRow, drift_events_hdu, gti_hdu, map_irf_hdus,
                                 obs_index_values, observation_hdus, observation_rows, write_fits, write_hdu_index,
                                 write_obs_index)

SUBSETS = {("GP", 5): 50, ("GP", 6): 60, ("NN", 5): 70}  # (class, type): events
T0 = EVENTS_HEADER["TSTART"]
MAP_CLASSES = {"aeff": "map", "edisp": "edisp_kernel_map", "psf": "psf_map_reco", "bkg": "map"}


def write_subset_collection(directory, subsets=SUBSETS):
    rows = []
    for (event_class, event_type), n in subsets.items():
        name = f"{event_class}{event_type}"
        own_gti = (event_class, event_type) != ("NN", 5)
        # each subset's GTI starts n seconds later: their times differ
        hdus = [drift_events_hdu(n)] + ([gti_hdu([T0 + n], [T0 + 1000 + n], header={"TIMESYS": "TAI"})]
                                        if own_gti else [])
        write_fits(os.path.join(directory, "events", f"ev_{name}.fits.gz"), hdus)
        write_fits(os.path.join(directory, "irfs", f"irf_{name}.fits.gz"),
                   map_irf_hdus("AEFF") + map_irf_hdus("EDISP") + map_irf_hdus("PSF"))
        fits.HDUList(map_irf_hdus("BKG", primary=True)).writeto(
            os.path.join(directory, "irfs", f"bkg_{name}.fits.gz"), overwrite=True)
        types = ["events"] + (["gti"] if own_gti else [])
        rows += [IndexRow(2001, t, t, "events", f"ev_{name}.fits.gz", t.upper(), event_class, event_type)
                 for t in types]
        rows += [IndexRow(2001, t, MAP_CLASSES[t], "irfs", f"irf_{name}.fits.gz", t, event_class, event_type)
                 for t in ("aeff", "edisp", "psf")]
        rows.append(IndexRow(2001, "bkg", "map", "irfs", f"bkg_{name}.fits.gz", "bkg", event_class, event_type))
    write_fits(os.path.join(directory, "events", "shared_gti.fits.gz"),
               [gti_hdu([T0], [T0 + 2000], header={"TIMESYS": "TAI"})])
    rows.append(IndexRow(2001, "gti", "gti", "events", "shared_gti.fits.gz", "GTI"))
    write_fits(os.path.join(directory, "data", "obs_2002.fits.gz"), observation_hdus(2002))
    rows += observation_rows(2002)
    write_hdu_index(os.path.join(directory, "hdu-index.fits.gz"), rows)
    drift = obs_index_values(2001, OBS_MODE="DRIFT", RA_PNT=None, DEC_PNT=None, ZEN_PNT=None, TSTART=None,
                             TSTOP=None, EVENT_COUNT=180, OBJECT="Crab Nebula")
    drift.update(RA_PNT=float("nan"), DEC_PNT=float("nan"), TSTART=float("nan"), TSTOP=float("nan"),
                 ZEN_PNT=float("nan"))
    write_obs_index(os.path.join(directory, "obs-index.fits.gz"),
                    [drift, obs_index_values(2002, EVENT_COUNT=200)])
    return str(directory)


def configuration(directory, **values):
    return CollectionConfig(name="mini", schema="mini", obs_collection="MINI", data_dir=str(directory),
                            obs_index="obs-index.fits.gz", **values)


@pytest.fixture(scope="module")
def subsets(tmp_path_factory):
    return configuration(write_subset_collection(tmp_path_factory.mktemp("subsets")))


@pytest.fixture(scope="module")
def results(subsets, site):
    return {r.dataset: r for r in read_collection(subsets, site)}


def test_one_dataset_per_observation_class_and_type(results):
    assert list(results) == ["2001-GP-5", "2001-GP-6", "2001-NN-5", "2002"]
    assert all(r.ok for r in results.values()), {k: str(r.error) for k, r in results.items()}
    rows = {key: r.row for key, r in results.items()}
    assert {key: row["obs_id"] for key, row in rows.items()} == {
        "2001-GP-5": "2001", "2001-GP-6": "2001", "2001-NN-5": "2001", "2002": "2002"}
    assert {key: row["event_type"] for key, row in rows.items()} == {
        "2001-GP-5": "GP-5", "2001-GP-6": "GP-6", "2001-NN-5": "NN-5", "2002": None}
    assert rows["2001-GP-6"]["obs_publisher_did"] == "ivo://test.authority/mini?2001-GP-6"
    assert rows["2002"]["obs_publisher_did"] == "ivo://test.authority/mini?2002"


def test_each_subset_has_its_own_events_and_times(results):
    rows = {key: r.row for key, r in results.items()}
    for (event_class, event_type), n in SUBSETS.items():
        row = rows[f"2001-{event_class}-{event_type}"]
        # the obs-index's EVENT_COUNT (180) counts the observation, not the subset
        assert row["ev_xel"] == row["event_count"] == n
    # GP-5 and GP-6 have their own GTI (starting 50 s and 60 s after T0), NN-5 the shared one (at T0)
    starts = {key: rows[key]["tstart"] for key in ("2001-GP-5", "2001-GP-6", "2001-NN-5")}
    assert starts == {"2001-GP-5": T0 + 50, "2001-GP-6": T0 + 60, "2001-NN-5": T0}
    assert rows["2001-NN-5"]["tstop"] == T0 + 2000
    assert rows["2002"]["ev_xel"] == 200 and rows["2002"]["timesys"] == GTI_HEADER["TIMESYS"]


def test_shared_rows_belong_to_the_subsets_without_their_own(subsets):
    index = read_hdu_index(subsets.hdu_index_path)
    gti = {key: [e.path for e in index.entries_for(key) if e.hdu_type == "gti"] for key in index.datasets()}
    assert [os.path.basename(p) for p in gti["2001-NN-5"]] == ["shared_gti.fits.gz"]
    assert [os.path.basename(p) for p in gti["2001-GP-5"]] == ["ev_GP5.fits.gz"]
    assert index.entries_for("2001") == []  # the observation itself is no dataset: its subsets are


def event_positions(collection, name):
    """(RA, DEC) of the events of one subset's file, read with astropy."""
    with fits.open(os.path.join(collection.data_dir, "events", f"ev_{name}.fits.gz")) as hdulist:
        events = hdulist["EVENTS"].data
        return np.asarray(events["RA"], dtype=float), np.asarray(events["DEC"], dtype=float)


def test_a_drift_scan_is_placed_where_its_events_are(results, subsets):
    row = results["2001-GP-5"].row
    assert (row["obs_mode"], row["tracking_mode"], row["scan_mode"]) == ("DRIFT", "fixed-az-el-transit",
                                                                          "drift-scan")
    assert row["ra_pnt"] is None and row["alt_pnt"] is None  # none given; ALT_PNT = AZ_PNT = 0 is no value
    ra, dec = event_positions(subsets, "GP5")
    offsets = sky.offsets_deg(ra, dec, row["s_ra"], row["s_dec"])
    assert 0.0 < offsets.max() <= row["s_fov"] / 2.0 < offsets.max() + 0.1 + 1e-9
    # the mean direction of the events, computed here with numpy
    ra_r, dec_r = np.radians(ra), np.radians(dec)
    x, y, z = [np.mean(c) for c in (np.cos(dec_r) * np.cos(ra_r), np.cos(dec_r) * np.sin(ra_r), np.sin(dec_r))]
    assert row["s_ra"] == pytest.approx(np.degrees(np.arctan2(y, x)) % 360.0, abs=1e-6)
    assert row["s_dec"] == pytest.approx(np.degrees(np.arctan2(z, np.hypot(x, y))), abs=1e-6)
    assert len(row["s_region"]) >= 3
    notes = " ".join(str(n) for n in results["2001-GP-5"].notes)
    assert "'chunks 1 - 2' is not a number" in notes and "the position and region are those of the events" in notes


def test_map_irfs_give_no_irf_values(results):
    row = results["2001-GP-5"].row
    assert row["s_resolution"] is None and row["em_res_power"] is None and row["irf_class"] is None


def test_map_irfs_are_copied_with_their_bands(subsets):
    with open_observation(subsets, "2001-GP-5") as obs:
        irfs = fits.open(io.BytesIO(products.all_irfs(obs)))
        bkg = fits.open(io.BytesIO(products.irf(obs, "bkg")))
    names = [hdu.name for hdu in irfs]
    # the IRFs first (in IRF_TYPES order), then the bands tables; the primary map's bands renamed
    assert names == ["PRIMARY", "AEFF", "EDISP", "PSF", "BKG", "AEFF_BANDS", "EDISP_BANDS", "PSF_BANDS",
                     "BKG_BANDS"]
    assert irfs["BKG"].header["BANDSHDU"] == "BKG_BANDS" and irfs["AEFF"].header["BANDSHDU"] == "AEFF_BANDS"
    assert np.array_equal(irfs["BKG"].data, map_irf_hdus("BKG", primary=True)[0].data)
    assert [hdu.name for hdu in bkg] == ["PRIMARY", "BKG", "BKG_BANDS"]


def test_a_package_per_subset_and_a_bundle_store_per_subset(subsets, tmp_path):
    cache = ProductCache(str(tmp_path / "cache"))
    files = cache.files(subsets, "2001-NN-5")
    with tarfile.open(files[parts.PACKAGE]) as tar:
        assert sorted(tar.getnames()) == ["hdu-index.fits.gz", "obs-index.fits.gz", "obs_2001-NN-5_events.fits",
                                          "obs_2001-NN-5_irfs.fits"]
        index = fits.open(io.BytesIO(gzip.decompress(tar.extractfile("hdu-index.fits.gz").read())))[1].data
    assert set(index["OBS_ID"]) == {2001} and len(index) == 6
    observations = [(subsets, key) for key in ("2001-GP-5", "2001-GP-6", "2002")]
    names = [name for name, _ in bundle.members(observations, cache)]
    # subsets of one OBS_ID cannot share a data store: one directory each, and a README
    assert names[0] == bundle.README
    assert "mini/GP-5/obs_2001-GP-5_events.fits" in names and "mini/GP-6/hdu-index.fits.gz" in names
    assert "mini/obs_2002_events.fits" in names
    # without colliding OBS_IDs the bundle stays one flat data store
    flat = [name for name, _ in bundle.members([(subsets, "2001-GP-5"), (subsets, "2002")], cache)]
    assert "obs_2001-GP-5_events.fits" in flat and bundle.README not in flat


def test_values_for_one_subset_alone(tmp_path, site):
    from ingest.config import ObservationOverride
    directory = write_subset_collection(tmp_path / "c")
    overrides = {"2001-GP-6": ObservationOverride(data_rights="proprietary", owner="hawc-team"),
                 "2001": ObservationOverride(data_rights="public")}
    collection = configuration(directory, observations=overrides, owner="everyone")
    rows = {r.dataset: r.row for r in read_collection(collection, site)}
    assert rows["2001-GP-6"]["data_rights"] == "proprietary" and rows["2001-GP-5"]["data_rights"] == "public"
    assert collection.owner_for("2001-GP-6", "2001") == "hawc-team"
    assert collection.owner_for("2001-GP-5", "2001") == "everyone"


def test_an_incremental_run_withdraws_one_subset(tmp_path, site):
    from ingest.collection import CollectionReader
    directory = tmp_path / "c"
    collection = configuration(write_subset_collection(directory))
    published = publication.make_plan(CollectionReader(collection, site), {}, "base").fingerprints
    smaller = {k: v for k, v in SUBSETS.items() if k != ("GP", 6)}
    write_subset_collection(directory, smaller)
    plan = publication.make_plan(CollectionReader(collection, site), published, "base")
    assert plan.withdrawn == ["2001-GP-6"]
    assert "2001-GP-5" in plan.unchanged + plan.changed and "2002" in plan.unchanged + plan.changed


def test_an_index_without_subset_columns_keys_on_obs_id(hess_collection):
    index = read_hdu_index(hess_collection.hdu_index_path)
    assert index.datasets()[:2] == ["20136", "20137"]
    assert all(e.subset == "" and e.dataset == e.obs_id for e in index.entries)
