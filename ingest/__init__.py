"""Reading GADF DL3 collections (Cherenkov gamma-ray event lists and IRFs) into HE-ObsCore rows.

The entry points:

    from ingest import load_site, load_collections, read_collection
    site = load_site("etc/site.yaml")
    collections = load_collections("etc/collections.yaml", project_root)
    for result in read_collection(collections["hess_dr1"], site):
        print(result.dataset, result.row if result.ok else result.error)

Everything here runs without DaCHS or a database; the DaCHS grammar only calls `read_collection`.
See HE-OBSCORE-SPEC.md for how every column is derived.

A result is either a row or an IngestError naming file, HDU and keyword; a row may come with `notes`,
IngestErrors for what the files got wrong and the row works around (placeholders dropped, fallbacks
used). `python3 -m ingest check --data DIR` reports both without writing anything; `progress.Progress`
and `report.Summary` are the progress line and end-of-run summary of long runs.
"""

from .collection import CollectionReader, ObservationResult, read_collection, read_observation
from .config import (CollectionConfig, ConfigError, SiteConfig, default_collection_name, load_collections,
                     load_site)
from .errors import IngestError
from .observation import observation_row

__all__ = [
    "CollectionConfig", "CollectionReader", "ConfigError", "IngestError", "ObservationResult", "SiteConfig",
    "default_collection_name", "load_collections", "load_site", "observation_row", "read_collection",
    "read_observation",
]
