"""One source per value (ingest/agreement.py): where the EVENTS header and the obs-index both give
a value they must agree, each kind of disagreement rejects the observation naming both sources and
values (or keeps the header's under `on_disagreement: prefer_header`), and a fallback takes a
coordinate pair or a set of keywords from one source as a whole."""

import os

import numpy as np
import pytest

from ingest import read_collection
from ingest.config import CollectionConfig
from tests.unit.minigadf import EVENTS_HEADER, Layout, obs_index_values, write_collection, write_obs_index

approx = pytest.approx


def read(tmp_path, site, events_header=None, on_disagreement="reject", **obs_index_changes):
    """The ObservationResult of a one-observation collection whose EVENTS header has the changes of
    events_header (None removes a keyword) and whose obs-index row those of obs_index_changes."""
    directory = write_collection(tmp_path, Layout(events_header=events_header or {}))
    write_obs_index(os.path.join(directory, "obs-index.fits.gz"), [obs_index_values(**obs_index_changes)])
    config = CollectionConfig(name="mini", schema="mini", obs_collection="MINI", data_dir=str(directory),
                              obs_index="obs-index.fits.gz", on_disagreement=on_disagreement)
    [result] = read_collection(config, site)
    return result


def test_agreeing_sources_as_float32_obs_indexes_write_them(tmp_path, site):
    """An obs-index of float32 columns is seconds and arcseconds off: that is agreement."""
    as_float32 = {key: float(np.float32(EVENTS_HEADER[key])) for key in ("RA_PNT", "DEC_PNT", "TSTART", "TSTOP")}
    result = read(tmp_path, site, **as_float32, LIVETIME=float(np.float32(EVENTS_HEADER["LIVETIME"])),
                  OBJECT="crab  NEBULA")
    assert result.ok, str(result.error)
    assert result.notes == ()
    assert result.row["ra_pnt"] == EVENTS_HEADER["RA_PNT"]  # the header's


@pytest.mark.parametrize("changes,keyword,fragments", [
    ({"RA_PNT": EVENTS_HEADER["RA_PNT"] + 0.5}, "RA_PNT, DEC_PNT",
     ["(83.633333333333, 21.514444444444) in the header", "(84.133333333333, 21.514444444444) in",
      "obs-index.fits.gz[OBS_INDEX] row 1", "0.4652 degrees apart, more than 0.01"]),
    ({"DEC_PNT": 22.0}, "RA_PNT, DEC_PNT", ["(83.633333333333, 22.0) in obs-index.fits.gz"]),
    ({"TSTART": EVENTS_HEADER["TSTART"] - 60}, "TSTART",
     ["123890826.0 in the header, 123890766.0 in obs-index.fits.gz", "60 s apart"]),
    ({"TSTOP": EVENTS_HEADER["TSTOP"] + 3600}, "TSTOP", ["3600 s apart"]),
    ({"LIVETIME": 1500.0}, "LIVETIME", ["1581.73681640625 in the header, 1500.0 in", "81.74 s apart"]),
    ({"OBJECT": "Vela X"}, "OBJECT", ["'Crab Nebula' in the header, 'Vela X' in", "different names"]),
], ids=["ra", "dec", "tstart", "tstop", "livetime", "object"])
def test_each_disagreement_rejects_naming_both_sources(tmp_path, site, changes, keyword, fragments):
    result = read(tmp_path, site, **changes)
    assert not result.ok
    error = result.error
    assert (os.path.basename(error.path), error.hdu, error.keyword) == ("obs_1001.fits.gz", "EVENTS", keyword)
    for fragment in fragments + ["on_disagreement: prefer_header"]:
        assert fragment in str(error), (fragment, str(error))


def test_several_disagreements_are_all_named(tmp_path, site):
    result = read(tmp_path, site, OBJECT="Vela X", LIVETIME=10.0)
    assert "LIVETIME" in str(result.error) and "'Vela X'" in str(result.error) and "1 more" in str(result.error)


def test_times_are_compared_across_time_references(tmp_path, site):
    """The obs-index counts from its own MJDREF (its header's): the same instant is agreement."""
    shift = 1.5 * 86400  # the EVENTS header 1.5 days later, its times 1.5 days less
    header = {"MJDREFI": EVENTS_HEADER["MJDREFI"] + 1, "MJDREFF": EVENTS_HEADER["MJDREFF"] + 0.5,
              "TSTART": EVENTS_HEADER["TSTART"] - shift, "TSTOP": EVENTS_HEADER["TSTOP"] - shift}
    result = read(tmp_path, site, events_header=header)
    # minigadf's GTI keeps its own reference and times: the same instants as before
    assert result.ok, str(result.error)


def test_prefer_header_keeps_the_headers_values_with_a_note(tmp_path, site):
    result = read(tmp_path, site, on_disagreement="prefer_header", RA_PNT=100.0, OBJECT="Vela X")
    assert result.ok, str(result.error)
    assert result.row["ra_pnt"] == EVENTS_HEADER["RA_PNT"] and result.row["object"] == "Crab Nebula"
    assert {note.keyword for note in result.notes} == {"RA_PNT, DEC_PNT", "OBJECT"}


def test_a_pair_the_header_lacks_half_of_comes_whole_from_the_obs_index(tmp_path, site):
    """The header lost RA_PNT: RA and Dec both come from the obs-index, though the header's Dec
    differs from the obs-index's (never the obs-index's RA with the header's Dec)."""
    result = read(tmp_path, site, events_header={"RA_PNT": None, "DEC_PNT": 21.0},
                  RA_PNT=83.0, DEC_PNT=22.0)
    assert result.ok, str(result.error)
    assert (result.row["ra_pnt"], result.row["dec_pnt"]) == (83.0, 22.0)
    assert result.row["s_dec"] == approx(22.0, abs=0.01)  # ICRS of the obs-index's FK5 position
    [note] = result.notes
    assert note.keyword == "RA_PNT" and "the obs-index's are used, all of them" in note.message


def test_each_source_lacking_half_keeps_the_header_alone(tmp_path, site):
    """The header has only RA_PNT, the obs-index only DEC_PNT: no position is made of both."""
    result = read(tmp_path, site, events_header={"DEC_PNT": None}, RA_PNT=None)
    assert not result.ok
    assert (result.error.keyword, result.error.message.split(" (")[0]) == ("DEC_PNT", "missing mandatory keyword")


def test_a_time_pair_comes_from_one_source(tmp_path, site):
    """DATE-OBS without TIME-OBS in the header: the obs-index's date and time, both."""
    result = read(tmp_path, site, events_header={"TIME-OBS": None},
                  **{"DATE-OBS": "2004-12-05", "TIME-OBS": "01:00:00"})
    assert result.ok, str(result.error)
    assert (result.row["date_obs"], result.row["time_obs"]) == ("2004-12-05", "01:00:00")
