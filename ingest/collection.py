"""Reading a whole collection: one result per dataset of its hdu-index (an observation, or an event
subset of one: ingest/datasets.py), in index order.

A bad observation (missing file, missing mandatory keyword, unreadable FITS, a layout nobody foresaw,
a bug of ours: any exception) gives a result with an IngestError and does not stop the others. A collection whose hdu-index (or configured obs-index) cannot
be read raises IngestError at once: there is nothing to iterate over.
"""

import zlib
from dataclasses import dataclass

from astropy.io.fits.verify import VerifyError

from .errors import IngestError
from .fitsfiles import FitsFiles, SharedFitsFiles
from .hdu_index import read_hdu_index
from .irf import summarise_irfs
from .obs_index import IndexRow, read_obs_index
from .observation import locate_observation, observation_row
from .production import read_production

# Failures of astropy, numpy or the files that are not yet IngestErrors: reported per observation.
READ_FAILURES = (OSError, EOFError, ValueError, TypeError, KeyError, IndexError, zlib.error, VerifyError)


@dataclass(frozen=True)
class ObservationResult:
    dataset: str  # the dataset key: the OBS_ID, or '<OBS_ID>-<subset>' for an event subset
    row: dict = None  # the collection table row, or None when rejected
    error: IngestError = None  # why it was rejected, or None
    notes: tuple = ()  # IngestErrors the row works around (placeholders dropped, fallbacks used)
    intervals: tuple = ()  # the good time intervals, (start, stop) MJD UTC pairs: the GTI table's rows
    production: object = None  # what the headers say about how the files were made (production.Production)

    @property
    def ok(self):
        return self.error is None


class CollectionReader:
    """The indexes of one collection, read once, and the rows of its observations on demand."""

    def __init__(self, collection, site):
        self.collection, self.site = collection, site
        self.hdu_index = read_hdu_index(collection.hdu_index_path)
        self.obs_index = read_obs_index(collection.obs_index_path) if collection.obs_index else None
        self._irf_cache = {}
        self._shared_files = SharedFitsFiles(_shared_paths(self.hdu_index))

    def datasets(self):
        return self.hdu_index.datasets()

    def results(self):
        for dataset in self.datasets():
            yield self.result(dataset)

    def result(self, dataset):
        """The ObservationResult of one dataset (an error result if the index does not list it)."""
        dataset = str(dataset)
        entries = self.hdu_index.entries_for(dataset)
        if not entries:
            return ObservationResult(dataset, error=IngestError(
                f"OBS_ID {dataset} is not in the hdu-index", self.hdu_index.path))
        notes, intervals = [], []
        try:
            row, production = self._row(dataset, entries, notes, intervals)
            return ObservationResult(dataset, row=row, notes=tuple(notes), intervals=tuple(intervals),
                                     production=production)
        except IngestError as exc:
            return ObservationResult(dataset, error=exc)
        except READ_FAILURES as exc:
            return ObservationResult(dataset, error=IngestError(f"{type(exc).__name__}: {exc}",
                                                                _events_path(entries)))
        except Exception as exc:  # noqa: BLE001 (a bug of ours or a layout nobody foresaw)
            # One observation's surprise never stops the others: it is rejected, saying so.
            return ObservationResult(dataset, error=IngestError(
                f"unexpected {type(exc).__name__} while reading it: {exc} (please report this)",
                _events_path(entries)))

    def _row(self, dataset, entries, notes, intervals):
        obs_id = entries[0].obs_id  # the obs-index describes the observation, every subset of it
        index_error = self.hdu_index.duplicate_error(dataset) or (
            self.obs_index.error_for(obs_id) if self.obs_index else None)
        if index_error:
            raise index_error
        obs_row, obs_header = self._obs_index_row(obs_id, notes)
        with FitsFiles(self._shared_files) as fits_files:
            hdus = locate_observation(obs_id, entries, fits_files, self.hdu_index.path)
            summary = self._irf_summary(hdus)
            row = observation_row(hdus, obs_row, self.collection, self.site, summary, obs_header, notes,
                                  intervals)
            return row, read_production(hdus, self.collection.data_dir)

    def _obs_index_row(self, obs_id, notes):
        """The observation's obs-index row and the obs-index header; a note if the obs-index lacks it."""
        if self.obs_index is None:
            return IndexRow(), {}
        row = self.obs_index.row(obs_id)
        if not row:
            notes.append(IngestError(f"OBS_ID {obs_id} is not in the obs-index", self.obs_index.path,
                                     self.obs_index.table_name, "OBS_ID"))
        return row, self.obs_index.header

    def _irf_summary(self, hdus):
        """IRF summaries of shared calibration files are computed once per collection (CTA 1DC: one
        IRF file for every observation); IRFs in the event file are summarised each time."""
        shared = all(entry.path != hdus.events.path for entry in hdus.irf_entries)
        if not shared or not hdus.irf_entries:
            return summarise_irfs(hdus.table_irfs())
        key = tuple(sorted((e.hdu_type, e.path, e.hdu_name.upper()) for e in hdus.irf_entries))
        if key not in self._irf_cache:
            self._irf_cache[key] = summarise_irfs(hdus.table_irfs())
        return self._irf_cache[key]


def _events_path(entries):
    """The file an observation's error names when nothing more precise is known."""
    return next((e.path for e in entries if e.hdu_type == "events"), entries[0].path)


def _shared_paths(hdu_index):
    """Files that hold HDUs of more than one observation (shared calibration files): read once."""
    observations = {}
    for entry in hdu_index.entries:
        observations.setdefault(entry.path, set()).add(entry.obs_id)
    return [path for path, obs_ids in observations.items() if len(obs_ids) > 1]


def read_collection(collection, site):
    """Iterates over ObservationResults, one per observation of the hdu-index, in index order.

    The indexes are read before the first result: an unreadable hdu-index raises IngestError here.
    """
    return CollectionReader(collection, site).results()


def read_observation(collection, site, dataset):
    """The ObservationResult of one dataset (an OBS_ID, or the key of an event subset) of a collection."""
    return CollectionReader(collection, site).result(dataset)
