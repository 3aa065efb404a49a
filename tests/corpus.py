"""A corpus of bad input, built from the real H.E.S.S. DL3 DR1 files: one GADF directory per case.

Each case copies three observations of the release (23523, 23526, 23559: the Crab, in one file each with
its IRFs) with an hdu-index.fits.gz and obs-index.fits.gz of just them and the release's README.txt (its
terms of use travel with every copy), then damages observation 23526 in one way. The ingest must reject
that observation with an IngestError naming the file, HDU and keyword and saying what is wrong, and read
the other two. A few cases are hostile but valid text, which must be accepted and stored exactly.

    from tests.corpus import CASES
    for case in CASES:
        data_dir = case.build(tmp_dir)        # <tmp_dir>/<case.name>/hdu-index.fits.gz, ...
        case.bad_obs_id, case.fragments       # which observation, and what its error must contain
        case.accepted                         # None, or {column: value} for text that must be accepted

The same directories serve the unit tests (tests/unit/test_bad_input.py) and tests against a live DaCHS
instance. The real data are found as the tests find them: $HEOBS_DATA_ROOT/hess-dl3-dr1, by default
../shared/data/hess-dl3-dr1 next to the project. Nothing here is written outside `dest_dir`.
"""

import gzip
import os
import shutil
from dataclasses import dataclass
from typing import Callable

import numpy as np
from astropy.io import fits

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_ROOT = os.environ.get("HEOBS_DATA_ROOT", os.path.join(os.path.dirname(PROJECT_ROOT), "shared", "data"))
HESS_DIR = os.path.join(DATA_ROOT, "hess-dl3-dr1")

OBS_IDS = ("23523", "23526", "23559")
BAD_OBS_ID = "23526"
HDU_INDEX, OBS_INDEX = "hdu-index.fits.gz", "obs-index.fits.gz"


def file_name(obs_id=BAD_OBS_ID):
    return f"hess_dl3_dr1_obs_id_{int(obs_id):06d}.fits.gz"


BAD_FILE = file_name()
NON_ASCII_TEXT = "Крабовидная туманность ☃"
HOSTILE_TEXT = "O'Brien's \"<script>alert(1)</script>\" '; DROP TABLE x; -- Крабовидная туманность ☃"
LONG_TEXT = ("O'Brien \"<b>&amp;</b>\" '; DROP TABLE x; -- & " * 300)[:9999] + "!"


@dataclass(frozen=True)
class Case:
    """One damaged (or hostile but valid) copy of the three observations.

    damage(data_dir) changes the good copy in place. file, hdu, keyword: what the error must name
    (hdu as the error names it: the index's HDU_NAME, e.g. 'events', when the HDU is missing); what: a
    fragment of what it must say. accepted: for valid text, the row values it must give instead.
    """

    name: str
    damage: Callable[[str], None]
    file: str = BAD_FILE
    hdu: str = None
    keyword: str = None
    what: str = ""
    accepted: dict = None
    bad_obs_id: str = BAD_OBS_ID

    @property
    def fragments(self):
        """The texts str(error) must contain: 'file', '[HDU]', 'KEYWORD', 'what'."""
        parts = (self.file, f"[{self.hdu}]" if self.hdu else None, self.keyword, self.what)
        return tuple(part for part in parts if part)

    @property
    def good_obs_ids(self):
        return tuple(obs_id for obs_id in OBS_IDS if obs_id != self.bad_obs_id)

    def build(self, dest_dir, source_dir=None):
        """Writes the case into dest_dir/<name> and returns that directory (it must not exist yet)."""
        data_dir = os.path.join(str(dest_dir), self.name)
        copy_subset(source_dir or HESS_DIR, data_dir)
        self.damage(data_dir)
        return data_dir


def copy_subset(source_dir, data_dir, obs_ids=OBS_IDS):
    """The observations' files, hdu-index and obs-index rows, and README.txt, copied into data_dir."""
    os.makedirs(os.path.join(data_dir, "data"))
    for obs_id in obs_ids:
        shutil.copyfile(os.path.join(source_dir, "data", file_name(obs_id)),
                        os.path.join(data_dir, "data", file_name(obs_id)))
    shutil.copyfile(os.path.join(source_dir, "README.txt"), os.path.join(data_dir, "README.txt"))
    wanted = {int(obs_id) for obs_id in obs_ids}
    for index in (HDU_INDEX, OBS_INDEX):
        with fits.open(os.path.join(source_dir, index)) as hdulist:
            table = hdulist[1]
            subset = table.data[np.isin(table.data["OBS_ID"], list(wanted))]
            fits.HDUList([fits.PrimaryHDU(header=hdulist[0].header),
                          fits.BinTableHDU(subset, header=table.header)]).writeto(os.path.join(data_dir, index))


# ---- ways of damaging a copy


def bad_file(data_dir):
    return os.path.join(data_dir, "data", BAD_FILE)


def edit_headers(*hdu_names, **changes):
    """Sets keywords (None deletes) in the named HDUs of the bad observation's file."""

    def damage(data_dir):
        def edit(hdulist):
            for name in hdu_names:
                for key, value in changes.items():
                    if value is None:
                        hdulist[name].header.remove(key, ignore_missing=True)
                    else:
                        hdulist[name].header[key] = value
        rewrite_fits(bad_file(data_dir), edit)
    return damage


def rewrite_fits(path, edit):
    """Opens a FITS file, lets edit(hdulist) change it (HDUs, headers, data) and writes it back."""
    with fits.open(path) as hdulist:
        hdus = fits.HDUList([hdu.copy() for hdu in hdulist])  # copies load the data: the file is rewritten
    edit(hdus)
    hdus.writeto(path, overwrite=True)


def edit_column(hdu_name, column, change):
    """change(values) edits a column of an HDU of the bad observation's file (a numpy array, in place)."""

    def damage(data_dir):
        rewrite_fits(bad_file(data_dir), lambda hdulist: change(hdulist[hdu_name].data[column]))
    return damage


def remove_hdu(hdu_name):
    def damage(data_dir):
        rewrite_fits(bad_file(data_dir), lambda hdulist: hdulist.remove(hdulist[hdu_name]))
    return damage


def empty_event_list(data_dir):
    def edit(hdulist):
        events = hdulist["EVENTS"]
        hdulist[hdulist.index_of("EVENTS")] = fits.BinTableHDU(events.data[:0], header=events.header)
    rewrite_fits(bad_file(data_dir), edit)


def replace_bytes(change):
    """change(bytes) -> bytes, applied to the bad observation's file as stored (gzip-compressed)."""

    def damage(data_dir):
        with open(bad_file(data_dir), "rb") as f:
            data = f.read()
        with open(bad_file(data_dir), "wb") as f:
            f.write(change(data))
    return damage


def patch_header_text(old, new):
    """Replaces text in the decompressed bytes (same length: the FITS layout must not move), recompressed.

    For what astropy refuses to write: control characters and non-ASCII bytes in a header."""
    assert len(old) == len(new), (old, new)

    def change(data):
        plain = gzip.decompress(data)
        assert plain.count(old) >= 1, old
        return gzip.compress(plain.replace(old, new, 1), mtime=0)
    return replace_bytes(change)


def edit_index(index, change):
    """change(rows) edits the rows of an index ([{COLUMN: value}], values as FITS gives them; text may be
    str or bytes); the table is written back with text columns widened to fit."""

    def damage(data_dir):
        path = os.path.join(data_dir, index)
        with fits.open(path) as hdulist:
            table = hdulist[1]
            rows = [dict(zip(table.columns.names, row)) for row in table.data.tolist()]
            change(rows)
            columns = [_column(column, [row[column.name] for row in rows]) for column in table.columns]
            new = fits.BinTableHDU.from_columns(columns, header=table.header, name=table.name)
            fits.HDUList([fits.PrimaryHDU(header=hdulist[0].header), new]).writeto(path, overwrite=True)
    return damage


def _column(column, values):
    if not column.format.endswith("A"):
        return fits.Column(name=column.name, format=column.format, unit=column.unit, array=np.array(values))
    encoded = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in values]
    width = max(1, *(len(v) for v in encoded))
    return fits.Column(name=column.name, format=f"{width}A", unit=column.unit,
                       array=np.array(encoded, dtype=f"S{width}"))


def set_in_obs_index(column, value):
    def change(rows):
        for row in rows:
            if str(row["OBS_ID"]) == BAD_OBS_ID:
                row[column] = value
    return edit_index(OBS_INDEX, change)


def both(*damages):
    def damage(data_dir):
        for one in damages:
            one(data_dir)
    return damage


def truncate(data):
    return data[:len(data) * 6 // 10]


def garbage_in_the_middle(data):
    middle = len(data) // 2
    return data[:middle] + bytes(range(256)) * 8 + data[middle + 2048:]


def rename_bad_file(rows):
    for row in rows:
        if str(row["OBS_ID"]) == BAD_OBS_ID:
            row["FILE_NAME"] = "hess_dl3_dr1_obs_id_023526_gone.fits.gz"


def duplicate_events_row(rows):
    """A second EVENTS row for 23526, pointing to another file (two observations claiming one id)."""
    extra = dict(next(row for row in rows if str(row["OBS_ID"]) == BAD_OBS_ID and row["HDU_TYPE"] == "events"))
    extra["FILE_NAME"] = file_name("23559")
    rows.append(extra)


def duplicate_obs_index_row(rows):
    rows.append(dict(next(row for row in rows if str(row["OBS_ID"]) == BAD_OBS_ID)))


def set_array(index, value):
    def change(values):
        values[index] = value
    return change


def swap_gti_columns(data_dir):
    def edit(hdulist):
        data = hdulist["GTI"].data
        start, stop = data["START"].copy(), data["STOP"].copy()
        data["START"], data["STOP"] = stop, start
    rewrite_fits(bad_file(data_dir), edit)


def tstart_after_tstop(data_dir):
    with fits.open(bad_file(data_dir)) as hdulist:
        tstart, tstop = hdulist["EVENTS"].header["TSTART"], hdulist["EVENTS"].header["TSTOP"]
    edit_headers("EVENTS", TSTART=tstop, TSTOP=tstart)(data_dir)


def hostile(name, text):
    """Valid text in OBJECT of the EVENTS header (long values as CONTINUE cards) and the obs-index
    (which must agree): accepted as given."""
    return Case(name, both(edit_headers("EVENTS", OBJECT=text), set_in_obs_index("OBJECT", text)),
                accepted={"target_name": text, "object": text})


OBJECT_VALUE = b"'Crab Nebula'"  # OBJECT as the EVENTS headers of the three observations write it

CASES = [
    # -- files that are not (whole) FITS files
    Case("truncated", replace_bytes(truncate), what="truncated"),
    Case("corrupt", replace_bytes(garbage_in_the_middle), what="corrupt"),
    Case("not_fits", replace_bytes(lambda data: b"<html><body>404 Not Found</body></html>\n"),
         what="not a FITS file"),
    Case("missing_file", edit_index(HDU_INDEX, rename_bad_file), file="hess_dl3_dr1_obs_id_023526_gone.fits.gz",
         what="file not found"),
    Case("header_not_ascii", patch_header_text(OBJECT_VALUE, b"'Crab \xe2\x98\x83ula'"), hdu="EVENTS",
         keyword="OBJECT", what="non-ASCII byte 0xE2 in the header"),
    # -- HDUs the index names that are not there
    Case("missing_events_hdu", remove_hdu("EVENTS"), hdu="events", what="no HDU named 'events'"),
    Case("missing_gti_hdu", remove_hdu("GTI"), hdu="gti", what="no HDU named 'gti'"),
    # -- mandatory keywords (GADF: OBS_ID, MJDREFI, MJDREFF, TIMESYS in EVENTS; the GTI's own time reference
    #    may be missing if EVENTS has one; RA_PNT/DEC_PNT in EVENTS or the obs-index, unless OBS_MODE DRIFT)
    Case("missing_obs_id", edit_headers("EVENTS", OBS_ID=None), hdu="EVENTS", keyword="OBS_ID",
         what="missing mandatory keyword"),
    Case("missing_mjdrefi", edit_headers("EVENTS", "GTI", MJDREFI=None), hdu="EVENTS", keyword="MJDREFI",
         what="missing mandatory keyword"),
    Case("missing_mjdreff", edit_headers("EVENTS", "GTI", MJDREFF=None), hdu="EVENTS", keyword="MJDREFF",
         what="missing mandatory keyword"),
    Case("missing_timesys", edit_headers("EVENTS", "GTI", TIMESYS=None), hdu="EVENTS", keyword="TIMESYS",
         what="missing mandatory keyword"),
    Case("missing_ra_pnt", both(edit_headers("EVENTS", RA_PNT=None), set_in_obs_index("RA_PNT", np.nan)),
         hdu="EVENTS", keyword="RA_PNT", what="missing mandatory keyword"),
    Case("missing_dec_pnt", both(edit_headers("EVENTS", DEC_PNT=None), set_in_obs_index("DEC_PNT", np.nan)),
         hdu="EVENTS", keyword="DEC_PNT", what="missing mandatory keyword"),
    # -- one OBS_ID twice
    Case("duplicate_in_hdu_index", edit_index(HDU_INDEX, duplicate_events_row), file=HDU_INDEX, hdu="HDU_INDEX",
         keyword="OBS_ID", what="OBS_ID 23526 is listed 2 times with HDU_TYPE 'events'"),
    Case("duplicate_in_obs_index", edit_index(OBS_INDEX, duplicate_obs_index_row), file=OBS_INDEX,
         hdu="OBS_INDEX", keyword="OBS_ID", what="OBS_ID 23526 is listed 2 times"),
    # -- header and obs-index disagree (ingest/agreement.py; each kind: tests/unit/test_agreement.py)
    Case("obs_index_pointing_disagrees", set_in_obs_index("RA_PNT", 84.13333), hdu="EVENTS",
         keyword="RA_PNT, DEC_PNT", what="in obs-index.fits.gz[OBS_INDEX] row 2: 0.4619 degrees apart"),
    Case("obs_index_livetime_disagrees", set_in_obs_index("LIVETIME", 100.0), hdu="EVENTS",
         keyword="LIVETIME", what="100.0 in obs-index.fits.gz[OBS_INDEX] row 2"),
    # -- values that are not numbers or out of range
    Case("ra_pnt_nan", edit_headers("EVENTS", RA_PNT="NaN"), hdu="EVENTS", keyword="RA_PNT",
         what="'NaN' is not a finite number"),
    Case("ra_pnt_out_of_range", edit_headers("EVENTS", RA_PNT=1000.0), hdu="EVENTS", keyword="RA_PNT",
         what="1000.0 is outside [-360, 720]"),
    Case("dec_pnt_out_of_range", edit_headers("EVENTS", DEC_PNT=95.0), hdu="EVENTS", keyword="DEC_PNT",
         what="95.0 is outside [-90, 90]"),
    Case("gti_start_nan", edit_column("GTI", "START", set_array(0, np.nan)), hdu="GTI", keyword="START",
         what="row 1: nan is not a finite time"),
    Case("gti_stop_out_of_range", edit_column("GTI", "STOP", set_array(0, 1e12)), hdu="GTI", keyword="STOP",
         what="outside 1960-2100"),
    Case("energy_nan", edit_column("EVENTS", "ENERGY", set_array(slice(10, 13), np.nan)), hdu="EVENTS",
         keyword="ENERGY", what="3 of 7581 events have no positive energy (row 11: nan)"),
    Case("energy_negative", edit_column("EVENTS", "ENERGY", set_array(0, -1.5)), hdu="EVENTS", keyword="ENERGY",
         what="1 of 7581 events have no positive energy (row 1: -1.5)"),
    Case("tstart_after_tstop", tstart_after_tstop, hdu="EVENTS", keyword="TSTART", what="is after TSTOP"),
    Case("gti_start_after_stop", swap_gti_columns, hdu="GTI", keyword="START", what="row 1: START"),
    Case("empty_event_list", empty_event_list, hdu="EVENTS", keyword="NAXIS2", what="empty (0 events)"),
    # -- text that cannot be published: control characters (FITS forbids them in headers; XML 1.0 and
    #    PostgreSQL cannot carry them)
    Case("object_control_character", patch_header_text(OBJECT_VALUE, b"'Crab\x07Nebula'"), hdu="EVENTS",
         keyword="OBJECT", what="control character U+0007"),
    Case("object_nul", patch_header_text(OBJECT_VALUE, b"'Crab\x00Nebula'"), hdu="EVENTS", keyword="OBJECT",
         what="NUL (U+0000) in the header"),
    Case("obs_index_control_character",
         both(edit_headers("EVENTS", OBJECT=None), set_in_obs_index("OBJECT", "\x1b[31mCrab\x1b[0m")),
         file=OBS_INDEX, hdu="OBS_INDEX", keyword="OBJECT", what="control character U+001B"),
    Case("obs_index_nul", both(edit_headers("EVENTS", OBJECT=None), set_in_obs_index("OBJECT", b"Crab\x00Nebula")),
         file=OBS_INDEX, hdu="OBS_INDEX", keyword="OBJECT", what="NUL (U+0000) in the text"),
    # -- hostile but valid text: accepted, stored exactly as given
    hostile("object_quotes", "O'Brien's \"Crab\" ''nebula''"),
    hostile("object_sql", "'; DROP TABLE x; --"),
    hostile("object_html", "<script>alert(1)</script>"),
    hostile("object_10000_characters", LONG_TEXT),
    Case("object_non_ascii",  # FITS headers are ASCII: UTF-8 text comes from an obs-index column
         both(edit_headers("EVENTS", OBJECT=None), set_in_obs_index("OBJECT", NON_ASCII_TEXT)),
         accepted={"target_name": NON_ASCII_TEXT, "object": NON_ASCII_TEXT}),
    Case("obs_index_object_hostile",
         both(edit_headers("EVENTS", OBJECT=None), set_in_obs_index("OBJECT", HOSTILE_TEXT)),
         accepted={"target_name": HOSTILE_TEXT, "object": HOSTILE_TEXT}),
    Case("obs_index_object_10000_characters",
         both(edit_headers("EVENTS", OBJECT=None), set_in_obs_index("OBJECT", LONG_TEXT)),
         accepted={"target_name": LONG_TEXT, "object": LONG_TEXT}),
]


def source_available(source_dir=None):
    """Whether the H.E.S.S. release is where the cases are built from (tests skip without it)."""
    return os.path.isfile(os.path.join(source_dir or HESS_DIR, HDU_INDEX))


def case_named(name):
    return next(case for case in CASES if case.name == name)


def build_all(dest_dir, source_dir=None):
    """Builds every case into dest_dir: {name: data directory}."""
    return {case.name: case.build(dest_dir, source_dir) for case in CASES}
