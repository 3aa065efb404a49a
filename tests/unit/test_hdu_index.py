"""Finding HDUs through the hdu-index (spec §4.1) and reading the obs-index."""

import os

import numpy as np
import pytest
from astropy.io import fits

from ingest.errors import IngestError
from ingest.fitsfiles import FitsFiles
from ingest.hdu_index import locate_hdu, normalise_obs_id, read_hdu_index
from ingest.obs_index import read_obs_index


def write_index(path, rows, extname="HDU_INDEX", header=None, obs_id_format="K", leading_hdus=0):
    """An hdu-index file with rows (obs_id, hdu_type, file_dir, file_name, hdu_name)."""
    obs_ids = [r[0] for r in rows]
    columns = [fits.Column(name="OBS_ID", format=obs_id_format,
                           array=np.array(obs_ids) if obs_id_format != "10A" else [str(o) for o in obs_ids]),
               fits.Column(name="HDU_TYPE", format="10A", array=[r[1] for r in rows]),
               fits.Column(name="HDU_CLASS", format="10A", array=[r[1] for r in rows]),
               fits.Column(name="FILE_DIR", format="60A", array=[r[2] for r in rows]),
               fits.Column(name="FILE_NAME", format="30A", array=[r[3] for r in rows]),
               fits.Column(name="HDU_NAME", format="20A", array=[r[4] for r in rows])]
    table = fits.BinTableHDU.from_columns(columns, name=extname)
    for key, value in (header or {}).items():
        table.header[key] = value
    other = [fits.BinTableHDU.from_columns([fits.Column(name="X", format="E", array=[1.0])], name="OTHER")
             for _ in range(leading_hdus)]
    fits.HDUList([fits.PrimaryHDU(), *other, table]).writeto(path)
    return str(path)


def write_events_file(path, extname="EVENTS", hduclas1=None):
    events = fits.BinTableHDU.from_columns([fits.Column(name="ENERGY", format="E", array=[1.0])], name=extname)
    if hduclas1:
        events.header["HDUCLAS1"] = hduclas1
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fits.HDUList([fits.PrimaryHDU(), events]).writeto(path)


def test_paths_are_relative_to_the_index(tmp_path):
    (tmp_path / "index").mkdir()
    index = write_index(tmp_path / "index" / "hdu-index.fits", [
        (1, "events", "", "a.fits", "EVENTS"),               # empty FILE_DIR: the index directory
        (1, "aeff", "../caldb/irf", "irf.fits", "AEFF"),    # climbing out to a shared IRF file
    ])
    entries = read_hdu_index(index).entries
    assert entries[0].path == str(tmp_path / "index" / "a.fits")
    assert entries[1].path == str(tmp_path / "caldb" / "irf" / "irf.fits")


@pytest.mark.parametrize("base_dir", ["relative", "absolute"])
def test_base_dir_overrides_the_index_directory(tmp_path, base_dir):
    value = "../data" if base_dir == "relative" else str(tmp_path / "data")
    (tmp_path / "index").mkdir()
    index = write_index(tmp_path / "index" / "hdu-index.fits", [(7, "events", "run7", "e.fits", "EVENTS")],
                        header={"BASE_DIR": value})
    assert read_hdu_index(index).entries[0].path == str(tmp_path / "data" / "run7" / "e.fits")


def test_index_recognised_by_columns_not_extname(tmp_path):
    index = write_index(tmp_path / "hdu-index.fits", [(3, "events", ".", "e.fits", "EVENTS")],
                        extname="OBS_INDEX", leading_hdus=1)
    assert [e.obs_id for e in read_hdu_index(index).entries] == ["3"]


def test_not_an_index(tmp_path):
    path = tmp_path / "x.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(
        [fits.Column(name="X", format="E", array=[1.0])])]).writeto(path)
    with pytest.raises(IngestError, match="no hdu-index table"):
        read_hdu_index(str(path))


def test_obs_ids_in_index_order_and_normalised(tmp_path):
    index = write_index(tmp_path / "hdu-index.fits", [
        (20.0, "events", ".", "b.fits", "EVENTS"), (3.0, "events", ".", "a.fits", "EVENTS"),
        (20.0, "gti", ".", "b.fits", "GTI")], obs_id_format="D")
    assert read_hdu_index(index).datasets() == ["20", "3"]
    values = (23523, 23523.0, " 23523 ", np.int64(7))
    assert [normalise_obs_id(v) for v in values] == ["23523", "23523", "23523", "7"]


def test_locate_by_extname_case_insensitively_then_by_hduclas(tmp_path):
    write_events_file(str(tmp_path / "e.fits"), extname="events")
    write_events_file(str(tmp_path / "f.fits"), extname="SOMETHING", hduclas1="EVENTS")
    index = read_hdu_index(write_index(tmp_path / "hdu-index.fits", [
        (1, "events", ".", "e.fits", "EVENTS"), (2, "events", ".", "f.fits", "EVENTS"),
        (3, "events", ".", "e.fits", "NOPE_AT_ALL")]))
    with FitsFiles() as files:
        assert locate_hdu(index.entries[0], files).name == "EVENTS"
        assert locate_hdu(index.entries[1], files).name == "SOMETHING"
        # e.fits has an HDU named "events" but no HDUCLAS1: HDU_NAME NOPE_AT_ALL finds nothing
        with pytest.raises(IngestError) as caught:
            locate_hdu(index.entries[2], files)
    assert caught.value.hdu == "NOPE_AT_ALL" and "PRIMARY, EVENTS" in caught.value.message


def test_missing_file(tmp_path):
    index = read_hdu_index(write_index(tmp_path / "hdu-index.fits", [(1, "events", "d", "gone.fits", "EVENTS")]))
    with FitsFiles() as files, pytest.raises(IngestError) as caught:
        locate_hdu(index.entries[0], files)
    assert caught.value.path == str(tmp_path / "d" / "gone.fits")
    assert str(caught.value) == "gone.fits: file not found"


def test_real_cta_index_reaches_the_shared_caldb(cta_index_dir):
    entries = read_hdu_index(os.path.join(cta_index_dir, "hdu-index.fits.gz")).entries_for("110380")
    aeff = [e for e in entries if e.hdu_type == "aeff"][0]
    assert aeff.path.endswith(os.path.join("cta-1dc", "caldb", "data", "cta", "1dc", "bcf", "South_z20_50h",
                                           "irf_file.fits"))
    assert aeff.hdu_name == "EFFECTIVE AREA"


def test_obs_index(hess_dir):
    obs_index = read_obs_index(os.path.join(hess_dir, "obs-index.fits.gz"))
    assert len(obs_index.rows) == 105
    row = obs_index.row("23523")
    assert row["EVENT_COUNT"] == 7613 and row["OBJECT"] == "Crab Nebula" and row["ZEN_PNT"] == 48.61021
    assert obs_index.row("1") == {}
    assert obs_index.header["ALTITUDE"] == "1835."
