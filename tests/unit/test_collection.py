"""Whole collections: every observation of the real releases ingests, in hdu-index order, and a bad
observation is reported without stopping the others."""

import dataclasses
import datetime
import os
import shutil

import numpy as np
import pytest
from astropy.io import fits

from ingest import IngestError, read_collection, read_observation
from ingest.columns import not_null_column_names
from ingest.hdu_index import read_hdu_index


def _check_all(collection, site, expected_count):
    results = list(read_collection(collection, site))
    errors = [str(r.error) for r in results if r.error is not None]
    assert errors == []
    assert len(results) == expected_count
    assert [r.dataset for r in results] == read_hdu_index(collection.hdu_index_path).datasets()
    for result in results:
        for column in not_null_column_names():
            assert result.row[column] is not None, (result.dataset, column)
    return results


def test_every_hess_observation_ingests(hess_collection, site):
    results = _check_all(hess_collection, site, 105)
    dids = {r.row["obs_publisher_did"] for r in results}
    assert len(dids) == 105
    assert all(0 <= r.row["s_ra"] < 360 for r in results)


def test_every_cta_observation_ingests(cta_collection, site):
    _check_all(cta_collection, site, 4)


def test_unknown_obs_id_is_an_error_result(hess_collection, site):
    result = read_observation(hess_collection, site, "1")
    assert result.row is None
    assert "not in the hdu-index" in str(result.error)


def test_per_observation_override(hess_collection, site):
    from ingest.config import ObservationOverride

    collection = dataclasses.replace(hess_collection, observations={"23523": ObservationOverride(
        data_rights="proprietary", obs_release_date=datetime.datetime(2030, 1, 1))})
    row = read_observation(collection, site, 23523).row
    assert row["data_rights"] == "proprietary"
    assert row["obs_release_date"] == datetime.datetime(2030, 1, 1)
    assert read_observation(collection, site, "23526").row["data_rights"] == "public"


@pytest.fixture
def broken_collection(hess_collection, tmp_path):
    """An hdu-index of three observations: a good one, one whose file is missing, and one whose EVENTS
    (and GTI) lack MJDREFI. Files are found through a BASE_DIR pointing at the real release."""
    good, missing, no_mjdrefi, gti_without_reference, wrong_obs_id = 23523, 23526, 23559, 23592, 99999
    broken_file = tmp_path / "hess_dl3_dr1_obs_id_023559.fits"
    with fits.open(os.path.join(hess_collection.data_dir, "data", "hess_dl3_dr1_obs_id_023559.fits.gz")) as hdus:
        del hdus["EVENTS"].header["MJDREFI"]
        del hdus["GTI"].header["MJDREFI"]
        hdus.writeto(broken_file)
    # GADF wants the time reference in the GTI too; without it there, the EVENTS one serves
    lenient_file = tmp_path / "hess_dl3_dr1_obs_id_023592.fits"
    with fits.open(os.path.join(hess_collection.data_dir, "data", "hess_dl3_dr1_obs_id_023592.fits.gz")) as hdus:
        for key in ("MJDREFI", "MJDREFF", "TIMESYS"):
            del hdus["GTI"].header[key]
        hdus.writeto(lenient_file)
    rows = [(good, "events", "data", "hess_dl3_dr1_obs_id_023523.fits.gz", "EVENTS"),
            (good, "gti", "data", "hess_dl3_dr1_obs_id_023523.fits.gz", "GTI"),
            (missing, "events", "data", "hess_dl3_dr1_obs_id_023526_gone.fits.gz", "EVENTS"),
            (missing, "gti", "data", "hess_dl3_dr1_obs_id_023526_gone.fits.gz", "GTI"),
            (no_mjdrefi, "events", str(tmp_path), broken_file.name, "EVENTS"),
            (no_mjdrefi, "gti", str(tmp_path), broken_file.name, "GTI"),
            (gti_without_reference, "events", str(tmp_path), lenient_file.name, "EVENTS"),
            (gti_without_reference, "gti", str(tmp_path), lenient_file.name, "GTI"),
            (wrong_obs_id, "events", "data", "hess_dl3_dr1_obs_id_023523.fits.gz", "EVENTS")]
    columns = [fits.Column(name="OBS_ID", format="K", array=np.array([r[0] for r in rows])),
               fits.Column(name="HDU_TYPE", format="6A", array=[r[1] for r in rows]),
               fits.Column(name="HDU_CLASS", format="6A", array=[r[1] for r in rows]),
               fits.Column(name="FILE_DIR", format="200A", array=[r[2] for r in rows]),
               fits.Column(name="FILE_NAME", format="60A", array=[r[3] for r in rows]),
               fits.Column(name="HDU_NAME", format="6A", array=[r[4] for r in rows])]
    table = fits.BinTableHDU.from_columns(columns, name="HDU_INDEX")
    table.header["BASE_DIR"] = hess_collection.data_dir
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(index_dir / "hdu-index.fits")
    return dataclasses.replace(hess_collection, data_dir=str(index_dir), hdu_index="hdu-index.fits",
                               obs_index=None)


def test_bad_observations_do_not_stop_the_others(broken_collection, hess_collection, site):
    results = {r.dataset: r for r in read_collection(broken_collection, site)}
    assert list(results) == ["23523", "23526", "23559", "23592", "99999"]
    assert results["23523"].error is None and results["23523"].row["ev_xel"] == 7613

    missing = results["23526"].error
    assert isinstance(missing, IngestError) and results["23526"].row is None
    assert missing.path.endswith("hess_dl3_dr1_obs_id_023526_gone.fits.gz")
    assert missing.message == "file not found"
    assert str(missing).startswith("hess_dl3_dr1_obs_id_023526_gone.fits.gz")

    keyword = results["23559"].error
    assert (keyword.hdu, keyword.keyword) == ("EVENTS", "MJDREFI")
    assert str(keyword) == "hess_dl3_dr1_obs_id_023559.fits[EVENTS] MJDREFI: missing mandatory keyword"

    lenient = results["23592"]
    assert lenient.error is None
    assert lenient.row["t_min"] == read_observation(hess_collection, site, "23592").row["t_min"]

    mislabelled = results["99999"].error
    assert str(mislabelled) == ("hess_dl3_dr1_obs_id_023523.fits.gz[EVENTS] OBS_ID: "
                                "23523 in the header, 99999 in the hdu-index")


def test_unreadable_index_raises_at_once(hess_collection, site, tmp_path):
    (tmp_path / "hdu-index.fits.gz").write_bytes(b"not a FITS file")
    with pytest.raises(IngestError) as caught:
        read_collection(hess_collection.with_data_dir(str(tmp_path)), site)
    assert caught.value.path.endswith("hdu-index.fits.gz")


def test_corrupt_file_is_an_error_result(hess_collection, site, tmp_path):
    shutil.copy(os.path.join(hess_collection.data_dir, "hdu-index.fits.gz"), tmp_path)
    shutil.copy(os.path.join(hess_collection.data_dir, "obs-index.fits.gz"), tmp_path)
    (tmp_path / "data").mkdir()
    source = os.path.join(hess_collection.data_dir, "data", "hess_dl3_dr1_obs_id_023523.fits.gz")
    with open(source, "rb") as f:
        (tmp_path / "data" / "hess_dl3_dr1_obs_id_023523.fits.gz").write_bytes(f.read()[:20000])
    result = read_observation(hess_collection.with_data_dir(str(tmp_path)), site, "23523")
    assert result.row is None
    assert result.error.path.endswith("hess_dl3_dr1_obs_id_023523.fits.gz")
    assert "unreadable" in result.error.message


def _copy_with_image_aeff(hess_collection, tmp_path, obs_id="023523"):
    """The H.E.S.S. indexes and one event file whose AEFF HDU is an image, as HAWC's map IRFs
    are: a layout the IACT reader does not expect."""
    for name in ("hdu-index.fits.gz", "obs-index.fits.gz"):
        shutil.copy(os.path.join(hess_collection.data_dir, name), tmp_path)
    source_dir = os.path.join(hess_collection.data_dir, "data")
    (tmp_path / "data").mkdir()
    for name in os.listdir(source_dir):
        (tmp_path / "data" / name).symlink_to(os.path.join(source_dir, name))
    path = tmp_path / "data" / f"hess_dl3_dr1_obs_id_{obs_id}.fits.gz"
    path.unlink()
    with fits.open(os.path.join(source_dir, path.name)) as hdus:
        replaced = [hdu.copy() if hdu.name != "AEFF" else
                    fits.ImageHDU(np.zeros((4, 4)), header=fits.Header({"HDUCLAS2": "EFF_AREA"}),
                                  name="AEFF") for hdu in hdus]
    fits.HDUList(replaced).writeto(path, overwrite=True)
    return hess_collection.with_data_dir(str(tmp_path))


def test_an_image_where_a_table_belongs_rejects_that_observation(hess_collection, site, tmp_path):
    collection = _copy_with_image_aeff(hess_collection, tmp_path)
    results = {r.dataset: r for r in read_collection(collection, site)}
    assert len(results) == 105
    error = results["23523"].error
    assert (os.path.basename(error.path), error.hdu) == ("hess_dl3_dr1_obs_id_023523.fits.gz", "AEFF")
    assert "ImageHDU where a binary table was expected" in error.message
    assert all(r.ok for obs_id, r in results.items() if obs_id != "23523")


def test_an_unexpected_exception_rejects_only_its_observation(hess_collection, site, monkeypatch):
    """Crash injection: a bug of ours while reading one observation (any exception class, not
    only those of reading files) rejects that observation, names its file, and the rest read."""
    from ingest import collection as ingest_collection

    original = ingest_collection.observation_row

    def buggy(hdus, *args, **kwargs):
        if str(hdus.events.header["OBS_ID"]) == "23526":
            raise AttributeError("'NoneType' object has no attribute 'upper'")
        return original(hdus, *args, **kwargs)

    monkeypatch.setattr(ingest_collection, "observation_row", buggy)
    results = {r.dataset: r for r in read_collection(hess_collection, site)}
    error = results["23526"].error
    assert error.path.endswith("hess_dl3_dr1_obs_id_023526.fits.gz")
    assert "unexpected AttributeError" in error.message and "'upper'" in error.message
    assert sum(r.ok for r in results.values()) == 104
