"""Checking a GADF directory the way the ingest reads it, without writing anything anywhere.

`collection_for_directory` makes the CollectionConfig to read a directory with: a configured
collection's (its defaults, site, overrides) with the directory swapped in, or, for data no configuration
knows yet, one with nothing but the directory. `check_results` reads every observation and sorts them
into readable and rejected; under `strict`, an observation the ingest reads only by working around its
files (a placeholder dropped, a fallback used: its notes) counts as rejected.
"""

import dataclasses
import os
from dataclasses import dataclass, field

from .collection import CollectionReader
from .config import CollectionConfig, SiteConfig
from .errors import IngestError

# Where a directory's indexes are looked for, in this order (GADF names them so; some are not gzipped).
HDU_INDEX_NAMES = ("hdu-index.fits.gz", "hdu-index.fits")
OBS_INDEX_NAMES = ("obs-index.fits.gz", "obs-index.fits")
# Identifiers are built but never shown or stored by a check: any authority will do.
CHECK_SITE = SiteConfig(authority="check.invalid")


class UnusableDirectory(Exception):
    """The directory, its hdu-index or the configuration cannot be used at all (exit status 2)."""


@dataclass
class CheckReport:
    readable: list = field(default_factory=list)  # ObservationResults with a row (and, strict, no notes)
    rejected: list = field(default_factory=list)  # (obs_id, [IngestError, ...]): why, one or more reasons

    @property
    def observations(self):
        return len(self.readable) + len(self.rejected)

    @property
    def with_notes(self):
        return sum(1 for result in self.readable if result.notes)


def collection_for_directory(data_dir, collection=None):
    """The CollectionConfig to read `data_dir` with: `collection`'s (None: an unknown collection's, named
    after the directory), its index files found in the directory."""
    if not os.path.isdir(data_dir):
        raise UnusableDirectory(f"{data_dir}: not a directory")
    data_dir = os.path.abspath(data_dir)
    configured = (collection.hdu_index,) if collection else ()
    hdu_index = _first_present(data_dir, configured + HDU_INDEX_NAMES)
    if hdu_index is None:
        raise UnusableDirectory(f"{data_dir}: no hdu-index (looked for {', '.join(configured + HDU_INDEX_NAMES)})")
    configured = (collection.obs_index,) if collection and collection.obs_index else ()
    obs_index = _first_present(data_dir, configured + OBS_INDEX_NAMES)
    if collection is not None:
        return dataclasses.replace(collection.with_data_dir(data_dir), hdu_index=hdu_index, obs_index=obs_index)
    name = os.path.basename(data_dir)
    return CollectionConfig(name=name, schema="check", obs_collection=name, data_dir=data_dir,
                            hdu_index=hdu_index, obs_index=obs_index)


def _first_present(data_dir, names):
    return next((name for name in names if os.path.isfile(os.path.join(data_dir, name))), None)


def open_reader(collection, site=CHECK_SITE):
    """The CollectionReader of a collection; an unreadable index or an empty one is UnusableDirectory."""
    try:
        reader = CollectionReader(collection, site)
    except IngestError as exc:
        raise UnusableDirectory(str(exc)) from exc
    if not reader.datasets():
        raise UnusableDirectory(f"{collection.hdu_index_path}: the hdu-index lists no observations")
    return reader


def check_results(results, strict=False):
    """Sorts ObservationResults into a CheckReport (results is any iterable, e.g. one that shows progress)."""
    report = CheckReport()
    for result in results:
        if not result.ok:
            report.rejected.append((result.dataset, [result.error]))
        elif strict and result.notes:
            report.rejected.append((result.dataset, list(result.notes)))
        else:
            report.readable.append(result)
    return report
