"""Where one observation of a collection lives: its HDUs, located through the collection's hdu-index.

The hdu-index is read once per collection and kept (it is re-read when its file changes), so that a
DataLink request for many observations does not re-read it for each.
"""


from ingest.file_cache import read_when_changed
from ingest.fitsfiles import FitsFiles
from ingest.hdu_index import read_hdu_index
from ingest.observation import EVENT_LIST_TYPES, IRF_TYPES, locate_observation

__all__ = ["EVENT_LIST_TYPES", "IRF_TYPES", "ObservationFiles", "hdu_index_of", "open_observation",
           "source_paths"]

def hdu_index_of(collection):
    """The collection's HduIndex, read again only when the file has changed."""
    return read_when_changed(collection.hdu_index_path, read_hdu_index)


def source_paths(collection, obs_id):
    """The files an observation's products are made from (for cache keys): its HDU files and indexes."""
    entries = hdu_index_of(collection).entries_for(str(obs_id))
    paths = {entry.path for entry in entries} | {collection.hdu_index_path}
    if collection.obs_index_path:
        paths.add(collection.obs_index_path)
    return sorted(paths)


class ObservationFiles:
    """The located HDUs of one observation (an ingest ObservationHdus) with its files kept open.

    Use as a context manager; `hdus.events`, `hdus.gti`, `hdus.pointing`, `hdus.irfs[type]` are
    ingest LocatedHdus, `entries` the observation's hdu-index rows.
    """

    def __init__(self, collection, obs_id):
        self.collection, self.obs_id = collection, str(obs_id)
        index = hdu_index_of(collection)
        self.entries = index.entries_for(self.obs_id)
        self._files = FitsFiles()
        try:
            self.hdus = locate_observation(self.obs_id, self.entries, self._files, index.path)
        except BaseException:
            self._files.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._files.close()

    def primary_header(self):
        """The primary header of the file holding the events."""
        return self._files.get(self.hdus.events.path)[0].header


def open_observation(collection, obs_id):
    return ObservationFiles(collection, obs_id)
