"""The synthetic GADF collection generator (synth/): it writes collections the project's own ingest and
gammapy read, byte-identical for a seed, spread over both hemispheres and three decades."""

import hashlib
import json
import os
import subprocess
import warnings

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

import synth
from ingest import load_collections, read_collection
from ingest.columns import not_null_column_names
from synth.__main__ import main
from synth.sites import SITES

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
N, SEED = 20, 7
EVENTS_KEYWORDS = [
    "HDUCLASS", "HDUDOC", "HDUVERS", "HDUCLAS1", "OBS_ID", "TSTART", "TSTOP", "ONTIME", "LIVETIME", "DEADC",
    "TELAPSE", "MJDREFI", "MJDREFF", "TIMESYS", "TIMEUNIT", "TIMEREF", "DATE-OBS", "TIME-OBS", "DATE-END",
    "TIME-END", "RA_PNT", "DEC_PNT", "ALT_PNT", "AZ_PNT", "OBJECT", "RA_OBJ", "DEC_OBJ", "OBS_MODE",
    "TELESCOP", "INSTRUME", "GEOLON", "GEOLAT", "ALTITUDE", "N_TELS", "TELLIST", "EUNIT", "RADESYS", "EQUINOX",
]
IRF_CLASSES = {"EFFECTIVE AREA": ("EFF_AREA", "AEFF_2D"), "ENERGY DISPERSION": ("EDISP", "EDISP_2D"),
               "POINT SPREAD FUNCTION": ("RPSF", "PSF_TABLE"), "BACKGROUND": ("BKG", "BKG_3D")}


def _collection(data_dir, tmp_path):
    """The CollectionConfig of a synthetic collection, loaded like etc/collections.yaml."""
    path = tmp_path / "collections.yaml"
    path.write_text(f"""\
collections:
  synth:
    schema: synth
    obs_collection: SYNTH-CTAO
    data_dir: {data_dir}
    hdu_index: hdu-index.fits.gz
    obs_index: obs-index.fits.gz
    facility_name: CTAO
    data_rights: public
    defaults:
      obs_type: simulation
""")
    return load_collections(str(path), PROJECT_ROOT)["synth"]


def _digests(directory):
    """{relative path: sha256} of every file under a directory."""
    digests = {}
    for root, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                digests[os.path.relpath(path, directory)] = hashlib.sha256(f.read()).hexdigest()
    return digests


def _obs_index(directory):
    return Table.read(os.path.join(directory, "obs-index.fits.gz"))


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "collection"
    return str(out), synth.generate(str(out), N, SEED)


@pytest.fixture(scope="module")
def spread(tmp_path_factory):
    """A larger metadata-only collection, for the statistics of the sky and the times."""
    out = str(tmp_path_factory.mktemp("synth") / "spread")
    synth.generate(out, 4000, SEED, metadata_only=True)
    return _obs_index(out)


def _event_files(out):
    return sorted(os.path.join(root, name) for root, _, files in os.walk(os.path.join(out, "data"))
                  for name in files)


# ---- what is written


def test_writes_indexes_event_files_shared_irfs_and_a_manifest(made):
    out, summary = made
    assert (summary.observations, summary.event_files, summary.skipped) == (N, N, False)
    assert len(_event_files(out)) == N
    assert all(path.endswith(".fits") for path in _event_files(out))
    assert sorted(summary.irf_files) == sorted(f"caldb/irf_{site}_z{z}.fits"
                                               for site in ("North", "South") for z in (20, 40, 60))
    for name in ("hdu-index.fits.gz", "obs-index.fits.gz", *summary.irf_files):
        assert os.path.isfile(os.path.join(out, name))
    with open(os.path.join(out, synth.MANIFEST)) as f:
        manifest = json.load(f)
    assert manifest["complete"] is True
    assert manifest["parameters"] == {"n": N, "seed": SEED, "metadata_only": False,
                                      "sites": ["north", "south"], "format": synth.FORMAT_VERSION}
    assert manifest["summary"]["events"] == summary.events == int(np.sum(_obs_index(out)["EVENT_COUNT"]))


def test_hdu_index_points_events_to_data_and_irfs_to_caldb(made):
    out, _ = made
    index = Table.read(os.path.join(out, "hdu-index.fits.gz"))
    assert len(index) == 6 * N
    assert list(index["HDU_TYPE"][:6]) == ["events", "gti", "aeff", "edisp", "psf", "bkg"]
    assert list(index["HDU_CLASS"][:6]) == ["events", "gti", "aeff_2d", "edisp_2d", "psf_table", "bkg_3d"]
    irf_rows = np.isin(np.asarray(index["HDU_TYPE"], dtype=str), ["aeff", "edisp", "psf", "bkg"])
    assert set(index["FILE_DIR"][irf_rows]) == {"caldb"}
    assert all(d.startswith("data/") for d in index["FILE_DIR"][~irf_rows])
    for row in index:
        assert os.path.isfile(os.path.join(out, row["FILE_DIR"], row["FILE_NAME"]))


def test_every_observation_ingests_through_the_project_reader(made, site, tmp_path):
    out, _ = made
    results = list(read_collection(_collection(out, tmp_path), site))
    assert [str(r.error) for r in results if not r.ok] == []
    assert [r.dataset for r in results] == [str(i) for i in range(1, N + 1)]
    obs_index = _obs_index(out)
    for result, expected in zip(results, obs_index):
        row = result.row
        assert all(row[column] is not None for column in not_null_column_names()), result.dataset
        assert row["ev_xel"] == expected["EVENT_COUNT"]
        assert row["analysis_mode"] == row["irf_config"] == expected["IRF"]
        assert row["instrument_name"] in ("CTAO-North", "CTAO-South")
        assert (row["geo_lon"], row["geo_lat"]) in {(s.geo_lon, s.geo_lat) for s in SITES.values()}
        assert row["s_fov"] in (8.0, 10.0) and row["s_resolution"] and row["em_res_power"]
        assert row["irf_class"] == "full-enclosure"
        assert 61000 <= row["t_min"] < row["t_max"] < 72000
        assert 1200 * 0.88 * 0.8 < row["t_exptime"] < 1800
        assert row["energy_min"] >= expected["SAFE_ENERGY_LO"] * 1e12


def test_event_files_are_valid_fits_with_consistent_gadf_headers(made):
    out, _ = made
    obs_index = {row["OBS_ID"]: row for row in _obs_index(out)}
    for path in _event_files(out):
        with fits.open(path) as hdus:
            hdus.verify("exception")
            assert [hdu.name for hdu in hdus] == ["PRIMARY", "EVENTS", "GTI"]
            header, events, gti = hdus["EVENTS"].header, hdus["EVENTS"].data, hdus["GTI"].data
            assert [key for key in EVENTS_KEYWORDS if key not in header] == []
            expected = obs_index[header["OBS_ID"]]
            assert len(events) == expected["EVENT_COUNT"] and 50 <= len(events) <= 500
            assert list(events["EVENT_ID"]) == list(range(1, len(events) + 1))
            assert np.all(np.diff(events["TIME"]) >= 0)
            inside = ((events["TIME"][:, None] >= gti["START"]) & (events["TIME"][:, None] <= gti["STOP"]))
            assert np.all(inside.any(axis=1))
            assert 1 <= len(gti) <= 3 and np.all(gti["START"][1:] > gti["STOP"][:-1])
            assert (gti["START"][0], gti["STOP"][-1]) == (header["TSTART"], header["TSTOP"])
            assert header["ONTIME"] == np.sum(gti["STOP"] - gti["START"])
            assert header["LIVETIME"] == pytest.approx(header["ONTIME"] * header["DEADC"], rel=1e-6)
            assert 1200 <= header["TELAPSE"] <= 1800
            assert header["N_TELS"] == len(header["TELLIST"].split(","))
            for key in ("RA_PNT", "DEC_PNT", "ALT_PNT", "TSTART", "LIVETIME"):
                assert header[key] == expected[key], key
            assert header["DATE-OBS"] == expected["DATE-OBS"] and header["TIME-OBS"] == expected["TIME-OBS"]


def test_irf_files_carry_full_gadf_classes(made):
    out, summary = made
    for name in summary.irf_files:
        with fits.open(os.path.join(out, name)) as hdus:
            hdus.verify("exception")
            assert [hdu.name for hdu in hdus[1:]] == list(IRF_CLASSES)
            for hdu in hdus[1:]:
                header = hdu.header
                assert (header["HDUCLASS"], header["HDUCLAS1"], header["HDUCLAS3"]) == (
                    "GADF", "RESPONSE", "FULL-ENCLOSURE")
                assert (header["HDUCLAS2"], header["HDUCLAS4"]) == IRF_CLASSES[hdu.name]
                assert all(np.all(np.isfinite(hdu.data[column][0])) for column in hdu.columns.names)
            aeff = hdus["EFFECTIVE AREA"]
            assert aeff.data["EFFAREA"][0].shape == (len(aeff.data["THETA_LO"][0]), len(aeff.data["ENERG_LO"][0]))
            assert 0 < aeff.header["LO_THRES"] < aeff.header["HI_THRES"]


# ---- determinism, reruns


def test_the_same_seed_gives_byte_identical_files_and_another_seed_other_ones(made, tmp_path):
    out, _ = made
    again = str(tmp_path / "again")
    synth.generate(again, N, SEED)
    assert _digests(again) == _digests(out)
    other = str(tmp_path / "other")
    synth.generate(other, N, SEED + 1)
    first, second = _digests(out), _digests(other)
    assert first["hdu-index.fits.gz"] != second["hdu-index.fits.gz"]
    assert first["obs-index.fits.gz"] != second["obs-index.fits.gz"]
    assert all(first[name] == second[name] for name in first if name.startswith("caldb/"))  # seed-free


def test_a_rerun_with_the_same_parameters_does_nothing(made):
    out, summary = made
    before = {path: os.stat(os.path.join(out, path)).st_mtime_ns for path in _digests(out)}
    rerun = synth.generate(out, N, SEED)
    assert rerun.skipped and rerun.events == summary.events and rerun.irf_files == summary.irf_files
    assert {path: os.stat(os.path.join(out, path)).st_mtime_ns for path in before} == before


def test_an_interrupted_run_is_redone_to_the_same_bytes(tmp_path):
    out = str(tmp_path / "c")
    synth.generate(out, 5, SEED)
    expected = _digests(out)
    os.remove(_event_files(out)[2])
    manifest_path = os.path.join(out, synth.MANIFEST)
    with open(manifest_path) as f:
        manifest = json.load(f)
    with open(manifest_path, "w") as f:
        json.dump(dict(manifest, complete=False, summary=None), f)
    assert not synth.generate(out, 5, SEED).skipped
    assert _digests(out) == expected


def test_other_data_in_the_output_directory_is_left_alone(made, tmp_path):
    out, _ = made
    with pytest.raises(synth.SynthError, match="other parameters"):
        synth.generate(out, N + 1, SEED)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(synth.SynthError, match="not empty"):
        synth.generate(str(foreign), 3, SEED)


@pytest.mark.parametrize("arguments", [dict(n=0, seed=1), dict(n=3, seed=-1), dict(n=3, seed=1, sites=["east"]),
                                       dict(n=3, seed=1, sites="north,east"), dict(n=3, seed=1, sites=[])])
def test_bad_parameters_are_refused(tmp_path, arguments):
    with pytest.raises(synth.SynthError):
        synth.generate(str(tmp_path / "c"), **arguments)


# ---- metadata-only mode


def test_metadata_only_writes_the_same_indexes_and_no_event_files(made, tmp_path):
    out, _ = made
    meta = str(tmp_path / "meta")
    summary = synth.generate(meta, N, SEED, metadata_only=True)
    assert (summary.event_files, summary.observations) == (0, N)
    assert not os.path.exists(os.path.join(meta, "data"))
    full, only = _digests(out), _digests(meta)
    for name in ("hdu-index.fits.gz", "obs-index.fits.gz", *summary.irf_files):
        assert only[name] == full[name], name


# ---- the sky and the times


def test_pointings_cover_both_hemispheres_from_both_sites(spread):
    dec, ra = np.asarray(spread["DEC_PNT"]), np.asarray(spread["RA_PNT"])
    assert np.mean(dec > 0) > 0.25 and np.mean(dec < 0) > 0.25
    assert dec.min() < -60 and dec.max() > 60
    assert np.all(np.histogram(ra, bins=24, range=(0, 360))[0] > 0)
    sites = np.char.partition(np.asarray(spread["IRF"], dtype=str), "_")[:, 0]
    assert 0.4 < np.mean(sites == "North") < 0.6
    # each site sees its own sky: the north well north of the south
    assert np.median(dec[sites == "North"]) - np.median(dec[sites == "South"]) > 30
    glat = np.asarray(spread["GLAT_PNT"])
    assert 0.3 < np.mean(np.abs(glat) < 5) < 0.7  # half the targets lie along the Galactic plane


def test_pointings_are_above_the_horizon_at_night(spread):
    zenith, alt = np.asarray(spread["ZEN_PNT"]), np.asarray(spread["ALT_PNT"])
    assert np.all(zenith <= 60.0) and np.allclose(zenith + alt, 90.0)
    geo_lon = np.where(np.char.startswith(np.asarray(spread["IRF"], dtype=str), "North"),
                       SITES["north"].geo_lon, SITES["south"].geo_lon)
    middle_days = (np.asarray(spread["TSTART"]) + np.asarray(spread["TSTOP"])) / 2.0 / 86400.0
    local_hours = ((middle_days + 0.5) * 24.0 + geo_lon / 15.0) % 24.0  # J2000.0 is at noon
    from_midnight = np.minimum(local_hours, 24.0 - local_hours)
    assert from_midnight.max() < 4.5


def test_times_span_three_decades_with_20_to_30_minute_runs(spread):
    mjd_start = 51544.5 + np.asarray(spread["TSTART"]) / 86400.0
    assert mjd_start.min() >= 61000 and mjd_start.max() < 72000
    assert (mjd_start.max() - mjd_start.min()) / 365.25 > 28
    years = np.floor((mjd_start - 61000) / 365.25)
    assert len(np.unique(years)) >= 29
    duration = np.asarray(spread["TSTOP"]) - np.asarray(spread["TSTART"])
    assert duration.min() >= 1200 and duration.max() <= 1800
    assert np.all(np.diff(spread["TSTART"]) >= 0) and list(spread["OBS_ID"]) == list(range(1, 4001))


def test_alt_az_and_galactic_coordinates_agree_with_astropy(spread):
    from astropy import units as u
    from astropy.coordinates import AltAz, EarthLocation, SkyCoord
    from astropy.time import Time
    from astropy.utils import iers

    rows = spread[:200]
    north = np.char.startswith(np.asarray(rows["IRF"], dtype=str), "North")
    site = [SITES["north"] if is_north else SITES["south"] for is_north in north]
    location = EarthLocation(lon=[s.geo_lon for s in site] * u.deg, lat=[s.geo_lat for s in site] * u.deg,
                             height=[s.altitude for s in site] * u.m)
    seconds = (np.asarray(rows["TSTART"]) + np.asarray(rows["TSTOP"])) / 2.0
    middle = Time(51544.5, format="mjd", scale="tt") + seconds * u.s
    pointing = SkyCoord(np.asarray(rows["RA_PNT"]), np.asarray(rows["DEC_PNT"]), unit="deg")
    # Offline and decades ahead: astropy's bundled IERS tables, extrapolated (no download), however
    # old their predictions are against today's clock (astropy 7 refuses tables 30 days old).
    with iers.conf.set_temp("auto_download", False), iers.conf.set_temp("iers_degraded_accuracy", "ignore"), \
            iers.conf.set_temp("auto_max_age", None), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        altaz = pointing.transform_to(AltAz(obstime=middle, location=location))
    assert np.max(np.abs(altaz.alt.deg - np.asarray(rows["ALT_PNT"]))) < 0.05
    d_az = (altaz.az.deg - np.asarray(rows["AZ_PNT"]) + 180.0) % 360.0 - 180.0
    assert np.max(np.abs(d_az * np.cos(altaz.alt.rad))) < 0.05
    galactic = pointing.galactic
    assert np.max(np.abs(galactic.b.deg - np.asarray(rows["GLAT_PNT"]))) < 1e-4


# ---- command line, gammapy


def test_command_line_writes_then_skips(tmp_path, capsys):
    out = str(tmp_path / "north")
    assert main(["--out", out, "--n", "3", "--seed", "2", "--sites", "north"]) == 0
    assert "3 observations, 3 event files" in capsys.readouterr().out
    assert main(["--out", out, "--n", "3", "--seed", "2", "--sites", "north"]) == 0
    assert "already complete, nothing done" in capsys.readouterr().out
    header = fits.getheader(os.path.join(out, "obs-index.fits.gz"), 1)
    assert (header["GEOLON"], header["GEOLAT"], header["ALTITUDE"]) == (-17.89, 28.76, 2200.0)  # one site
    assert set(_obs_index(out)["IRF"]) <= {"North_z20_0.5h", "North_z40_0.5h", "North_z60_0.5h"}
    assert main(["--out", out, "--n", "4", "--seed", "2"]) == 2
    assert "other parameters" in capsys.readouterr().err


GAMMAPY_SCRIPT = """
import sys
import astropy.units as u
from gammapy.data import DataStore
from gammapy.datasets import MapDataset
from gammapy.makers import MapDatasetMaker
from gammapy.maps import MapAxis, WcsGeom
store = DataStore.from_dir(sys.argv[1])
for obs_id in store.obs_table["OBS_ID"][:3]:
    obs = store.obs(int(obs_id))
    assert 50 <= len(obs.events.table) <= 500 and obs.gti.time_sum.to_value("s") > 1000
    assert obs.aeff.evaluate(energy_true=1 * u.TeV, offset=0.5 * u.deg).value > 0
    assert obs.edisp.evaluate(energy_true=1 * u.TeV, offset=0.5 * u.deg, migra=1.0).value > 0
    assert 0 < obs.psf.containment_radius(0.68, energy_true=1 * u.TeV, offset=0.5 * u.deg).to_value("deg") < 0.3
    assert obs.bkg.evaluate(energy=1 * u.TeV, fov_lon=0.5 * u.deg, fov_lat=0 * u.deg).value > 0
energy = MapAxis.from_energy_bounds(0.1, 50, 6, unit="TeV")
geom = WcsGeom.create(skydir=obs.pointing.fixed_icrs, width=4, binsz=0.1, axes=[energy])
true_energy = MapAxis.from_energy_bounds(0.05, 100, 8, unit="TeV", name="energy_true")
dataset = MapDatasetMaker().run(MapDataset.create(geom, energy_axis_true=true_energy), obs)
assert dataset.counts.data.sum() > 0 and dataset.npred_background().data.sum() > 0
print("gammapy read it")
"""


def test_gammapy_reads_the_collection_and_reduces_an_observation(made):
    """gammapy 2.1 lives in its own virtualenv (it needs numpy 2): run it there."""
    python = os.path.join(PROJECT_ROOT, ".venv-gammapy", "bin", "python")
    if not os.path.exists(python):
        pytest.skip(f"no gammapy virtualenv at {python} (make setup makes it)")
    out, _ = made
    result = subprocess.run([python, "-c", GAMMAPY_SCRIPT, out], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "gammapy read it" in result.stdout
