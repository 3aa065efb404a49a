"""Where one dataset of a collection lives (an observation, or an event subset of one: ingest/datasets.py):
its HDUs, located through the collection's hdu-index.

The hdu-index is read once per collection and kept (it is re-read when its file changes), so that a
DataLink request for many observations does not re-read it for each.
"""


from ingest.file_cache import read_when_changed
from ingest.fitsfiles import FitsFiles, open_fits
from ingest.hdu_index import read_hdu_index
from ingest.observation import EVENT_LIST_TYPES, IRF_TYPES, locate_observation

__all__ = ["EVENT_LIST_TYPES", "IRF_TYPES", "ObservationFiles", "hdu_index_of", "open_observation",
           "source_paths"]

def hdu_index_of(collection):
    """The collection's HduIndex, read again only when the file has changed."""
    return read_when_changed(collection.hdu_index_path, read_hdu_index)


def source_paths(collection, dataset):
    """The files a dataset's products are made from (for cache keys): its HDU files and indexes."""
    entries = hdu_index_of(collection).entries_for(str(dataset))
    paths = {entry.path for entry in entries} | {collection.hdu_index_path}
    if collection.obs_index_path:
        paths.add(collection.obs_index_path)
    return sorted(paths)


class ObservationFiles:
    """The located HDUs of one dataset (an ingest ObservationHdus) with its files kept open.

    Use as a context manager; `hdus.events`, `hdus.gti`, `hdus.pointing`, `hdus.irfs[type]` are
    ingest LocatedHdus, `entries` the dataset's hdu-index rows; `dataset` is its key, `obs_id` the
    observation's OBS_ID.
    """

    def __init__(self, collection, dataset):
        self.collection, self.dataset = collection, str(dataset)
        index = hdu_index_of(collection)
        self.entries = index.entries_for(self.dataset)
        self.obs_id = self.entries[0].obs_id if self.entries else self.dataset
        self._files = FitsFiles()
        self._hdulists = {}  # path -> astropy HDUList, for the HDUs copied into products
        try:
            self.hdus = locate_observation(self.obs_id, self.entries, self._files, index.path)
        except BaseException:
            self._files.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._files.close()
        for hdulist in self._hdulists.values():
            hdulist.close()
        self._hdulists.clear()

    def primary_header(self):
        """The primary header (astropy's) of the file holding the events."""
        return self.hdulist(self.hdus.events.path)[0].header

    def hdulist(self, path):
        """The astropy HDUList of one of the dataset's files (the products are written with astropy)."""
        if path not in self._hdulists:
            self._hdulists[path] = open_fits(path)
        return self._hdulists[path]

    def astropy_hdu(self, located):
        """The astropy HDU of a located HDU (ingest LocatedHdu), to be copied into a product."""
        return self.hdulist(located.path)[located.index]


def open_observation(collection, dataset):
    return ObservationFiles(collection, dataset)
