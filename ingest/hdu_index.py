"""The GADF hdu-index: which file and HDU hold each part (events, GTI, IRFs) of a dataset.

GADF "HDU index table": columns OBS_ID, HDU_TYPE, HDU_CLASS, FILE_DIR, FILE_NAME, HDU_NAME (SIZE optional).
An HDU is found at <directory of the index>/<FILE_DIR>/<FILE_NAME> (a BASE_DIR keyword in the index
header replaces the index directory), inside that file by EXTNAME = HDU_NAME, else by its HDUCLAS keywords.

With EVENT_CLASS and/or EVENT_TYPE columns, each distinct (OBS_ID, EVENT_CLASS, EVENT_TYPE) is a dataset
of its own (ingest/datasets.py); a row whose class and type are empty belongs to every subset of its
OBS_ID that has no row of that HDU_TYPE itself (a GTI shared by all subsets, say).
"""

import functools
import os
from dataclasses import dataclass

import numpy as np
from astropy.io import fits

from .datasets import dataset_key, subset_name
from .errors import IngestError
from .fitsfiles import open_fits
from .values import as_int, as_str

# Columns that make a table an hdu-index, whatever its EXTNAME says (some files name it OBS_INDEX).
HDU_INDEX_COLUMNS = {"OBS_ID", "HDU_TYPE", "FILE_NAME", "HDU_NAME"}

# Where HDU_NAME does not match any EXTNAME, the HDU is recognised by these keywords (GADF HDUCLAS1/2;
# HDUCLAS2 'PSF' is an older spelling of 'RPSF').
HDUCLAS_OF_TYPE = {
    "events": ("HDUCLAS1", {"EVENTS"}),
    "gti": ("HDUCLAS1", {"GTI"}),
    "pointing": ("HDUCLAS1", {"POINTING"}),
    "aeff": ("HDUCLAS2", {"EFF_AREA"}),
    "edisp": ("HDUCLAS2", {"EDISP"}),
    "psf": ("HDUCLAS2", {"RPSF", "PSF"}),
    "bkg": ("HDUCLAS2", {"BKG"}),
    "rad_max": ("HDUCLAS2", {"RAD_MAX"}),
}


@dataclass(frozen=True)
class HduIndexEntry:
    """One row of the hdu-index, with the file path already resolved."""

    obs_id: str
    hdu_type: str  # lower case: events, gti, aeff, edisp, psf, bkg, rad_max, pointing, ...
    hdu_class: str
    path: str
    hdu_name: str
    size: int = None  # bytes of the HDU, a hint only
    row: int = None  # the row number in the index (from 1), for error messages
    event_class: str = None  # the EVENT_CLASS / EVENT_TYPE cells, where the index has them
    event_type: str = None

    @property
    def subset(self):
        """The event subset the row belongs to ('GP-5'), '' for the whole observation."""
        return subset_name(self.event_class, self.event_type)

    @property
    def dataset(self):
        return dataset_key(self.obs_id, self.subset)


@dataclass(frozen=True)
class HduIndex:
    path: str
    entries: tuple
    table_name: str = "HDU_INDEX"  # EXTNAME of the index table, for error messages

    def datasets(self):
        """The dataset keys (ingest/datasets.py) in the order of their first appearance in the index."""
        return list(self._by_dataset)

    def entries_for(self, dataset):
        """The rows of one dataset (its own, then those its subset inherits), [] for an unknown key."""
        return list(self._by_dataset.get(str(dataset), ()))

    @functools.cached_property
    def _by_dataset(self):
        """{dataset key: [entries]}: a collection of 10^5 observations is looked up 10^5 times."""
        own, whole = {}, {}
        for entry in self.entries:
            if entry.subset:
                own.setdefault(entry.dataset, []).append(entry)
            else:
                whole.setdefault(entry.obs_id, []).append(entry)
        subsets = {}
        for key, entries in own.items():
            subsets.setdefault(entries[0].obs_id, []).append(key)
        by_dataset = {}
        for entry in self.entries:  # keys in index order
            # a row without a subset stands for its observation, or for each of its subsets
            keys = [entry.dataset] if entry.subset else subsets.get(entry.obs_id, [entry.obs_id])
            for key in keys:
                if key not in by_dataset:
                    entries = list(own.get(key, ()))
                    types = {e.hdu_type for e in entries}
                    by_dataset[key] = entries + [e for e in whole.get(entry.obs_id, ()) if e.hdu_type not in types]
        return by_dataset

    def duplicate_error(self, dataset):
        """An IngestError if the index lists an HDU type twice for the dataset, else None.

        Two EVENTS rows under one OBS_ID are two observations claiming the same id (two releases merged,
        an id mistyped): which one is meant cannot be told, so the observation is rejected, not guessed.
        """
        rows, entries = {}, self.entries_for(dataset)
        for entry in entries:
            rows.setdefault(entry.hdu_type, []).append(entry.row)
        for hdu_type, numbers in rows.items():
            if len(numbers) > 1:
                listed = ", ".join(str(n) for n in numbers)
                subset = entries[0].subset
                which = f"OBS_ID {entries[0].obs_id}" + (f" (event subset {subset})" if subset else "")
                return IngestError(f"{which} is listed {len(numbers)} times with HDU_TYPE "
                                   f"{hdu_type!r} (rows {listed}): which one is meant is ambiguous",
                                   self.path, self.table_name, "OBS_ID")
        return None


def normalise_obs_id(value):
    """GADF OBS_ID as the decimal string the service uses ('23523' from 23523, 23523.0 or ' 23523')."""
    number = as_int(value)
    if number is None:
        text = as_str(value)
        raise ValueError(f"OBS_ID {text!r} is not a whole number")
    return str(number)


def is_hdu_index(table_hdu):
    return HDU_INDEX_COLUMNS <= {name.upper() for name in table_hdu.columns.names}


def is_obs_index(table_hdu):
    names = {name.upper() for name in table_hdu.columns.names}
    return "OBS_ID" in names and not ({"HDU_TYPE", "FILE_NAME"} & names)


def find_index_table(hdulist, recognise, path, kind):
    """The first binary table of the file that `recognise` accepts (index files are told by columns)."""
    for hdu in hdulist:
        if isinstance(hdu, fits.BinTableHDU) and recognise(hdu):
            return hdu
    raise IngestError(f"no {kind} table (recognised by its columns) in this file", path)


def read_hdu_index(path):
    """Reads an hdu-index file; raises IngestError naming the file if it is missing or not an hdu-index."""
    hdulist = open_fits(path)
    with hdulist:
        table = find_index_table(hdulist, is_hdu_index, path, "hdu-index")
        base_dir = _base_dir(path, table.header)
        names = {name.upper(): name for name in table.columns.names}
        blanks = _null_values(table, ("EVENT_CLASS", "EVENT_TYPE"))
        entries, table_name = [], table.name  # (astropy parses EXTNAME again on every .name)
        for row_number, row in enumerate(table_rows(table), start=1):
            entries.append(_entry(row, names, base_dir, path, table_name, row_number, blanks))
    return HduIndex(path=path, entries=tuple(entries), table_name=table_name)


def table_rows(table):
    """The rows of a binary table as {column name: cell}. Each column is taken from astropy once:
    reading cell by cell through astropy's rows costs ~20 us a cell, minutes for an index of 10^5
    observations. Text and integer columns become Python lists (a cell of a numpy text array costs
    as much again); floats stay numpy values, whose type says how many digits they have (plain())."""
    columns = {name: _cells(table.data[name]) for name in table.columns.names}
    for i in range(len(table.data)):
        yield {name: column[i] for name, column in columns.items()}


def _cells(column):
    array = np.asarray(column)
    return array.tolist() if array.ndim == 1 and array.dtype.kind in "SUiub" else array


def _base_dir(index_path, header):
    index_dir = os.path.dirname(os.path.abspath(index_path))
    base_dir = as_str(header.get("BASE_DIR"))
    if not base_dir:
        return index_dir
    return os.path.join(index_dir, base_dir)  # an absolute BASE_DIR wins in os.path.join


def _null_values(table, wanted):
    """{COLUMN: its TNULL value} of the wanted integer columns that declare one (an empty cell)."""
    return {column.name.upper(): column.null for column in table.columns
            if column.name.upper() in wanted and column.null is not None}


def _entry(row, names, base_dir, index_path, hdu_name, row_number, blanks=None):
    def cell(column):
        return as_str(row[names[column]]) if column in names else None

    try:
        obs_id = normalise_obs_id(row[names["OBS_ID"]])
    except ValueError as exc:
        raise IngestError(f"row {row_number}: {exc}", index_path, hdu_name, "OBS_ID") from None
    hdu_type = (cell("HDU_TYPE") or "").lower()
    file_name = cell("FILE_NAME")
    if not file_name:
        raise IngestError(f"row {row_number}: empty FILE_NAME", index_path, hdu_name, "FILE_NAME")
    file_dir = cell("FILE_DIR") or "."  # an empty FILE_DIR means the index directory
    path = os.path.normpath(os.path.join(base_dir, file_dir, file_name))
    size = as_int(row[names["SIZE"]]) if "SIZE" in names else None
    return HduIndexEntry(obs_id=obs_id, hdu_type=hdu_type, hdu_class=(cell("HDU_CLASS") or "").lower(),
                         path=path, hdu_name=cell("HDU_NAME") or "", size=size, row=row_number,
                         event_class=_subset_cell(row, names, "EVENT_CLASS", blanks or {}),
                         event_type=_subset_cell(row, names, "EVENT_TYPE", blanks or {}))


def _subset_cell(row, names, column, blanks):
    """An EVENT_CLASS / EVENT_TYPE cell as text ('5' from 5 or 5.0), None where empty (blank text, NaN,
    the column's TNULL) or absent."""
    if column not in names:
        return None
    value = row[names[column]]
    if column in blanks and value == blanks[column]:
        return None
    number = as_int(value) if not isinstance(value, (str, bytes)) else None
    return str(number) if number is not None else as_str(value)


def locate_hdu(entry, fits_files):
    """The HDU (a LocatedHdu) an index entry points to, in a file opened through `fits_files` (a FitsFiles)."""
    hdus = fits_files.get(entry.path).hdus
    wanted = entry.hdu_name.upper()
    for hdu in hdus:
        if hdu.name == wanted:
            return hdu
    keyword, values = HDUCLAS_OF_TYPE.get(entry.hdu_type, (None, set()))
    for hdu in hdus:
        value = hdu.optional(keyword) if keyword else None
        if value and str(value).upper() in values:
            return hdu
    present = ", ".join(hdu.name for hdu in hdus)
    raise IngestError(f"no HDU named {entry.hdu_name!r} nor any HDU of type {entry.hdu_type!r} "
                      f"(the file has: {present})", entry.path, entry.hdu_name)
