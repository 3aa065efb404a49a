"""Opening FITS files and reading header keywords, with failures turned into IngestErrors."""

import gzip
import os
import zlib

from astropy.io import fits

from .errors import IngestError
from .values import plain

GZIP_MAGIC = b"\x1f\x8b"


class LocatedHdu:
    """One HDU of an open FITS file, with the path and name that error messages need."""

    def __init__(self, path, hdu):
        self.path = path
        self.hdu = hdu
        self.name = hdu.name or "PRIMARY"

    @property
    def header(self):
        return self.hdu.header

    @property
    def data(self):
        try:
            return self.hdu.data
        except (OSError, ValueError, TypeError, EOFError) as exc:
            raise IngestError(f"unreadable data: {exc}", self.path, self.name) from exc

    @property
    def columns(self):
        """The upper-case names of the table columns."""
        return [name.upper() for name in self.hdu.columns.names]

    def mandatory(self, key):
        """A keyword the GADF requires: its absence rejects the observation."""
        try:
            value = self.header[key]
        except KeyError:
            raise IngestError("missing mandatory keyword", self.path, self.name, key) from None
        value = plain(value)
        if value is None:
            raise IngestError("mandatory keyword has no value", self.path, self.name, key)
        return value

    def optional(self, key, default=None):
        """A keyword that may be absent; an empty value counts as absent."""
        value = plain(self.header.get(key))
        return default if value is None else value

    def column(self, name):
        """A table column as a numpy array; its absence rejects the observation."""
        if name.upper() not in self.columns:
            raise IngestError("missing mandatory column", self.path, self.name, name)
        return self.data[name]

    def column_unit(self, name):
        """TUNITn of a column, or None."""
        for index, column_name in enumerate(self.hdu.columns.names, start=1):
            if column_name.upper() == name.upper():
                return plain(self.header.get(f"TUNIT{index}"))
        return None

    def error(self, message, keyword=None):
        return IngestError(message, self.path, self.name, keyword)


class FitsFiles:
    """The FITS files of one observation, each opened once (events, GTI and IRFs often share one).

    Use as a context manager: the files are closed at the end.
    """

    def __init__(self):
        self._open = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        for hdulist in self._open.values():
            hdulist.close()
        self._open.clear()

    def get(self, path):
        """The HDUList of a file; a missing or unreadable file is an IngestError naming it."""
        path = os.path.normpath(path)
        if path not in self._open:
            self._open[path] = open_fits(path)
        return self._open[path]


def open_fits(path):
    """Opens a FITS file with all its headers read; a missing, corrupt or truncated file is an IngestError."""
    if not os.path.isfile(path):
        raise IngestError("file not found", path)
    try:
        hdulist = fits.open(path, memmap=False)
        hdulist.readall()
        _check_complete(hdulist, path)
    except (OSError, ValueError, EOFError, zlib.error) as exc:
        raise IngestError(f"unreadable FITS file: {exc}", path) from exc
    return hdulist


def _check_complete(hdulist, path):
    """astropy reads a truncated file without complaint, returning the HDUs it found so far (even with
    partial data): check that the file really holds everything its headers announce."""
    with open(path, "rb") as f:
        compressed = f.read(2) == GZIP_MAGIC
    if compressed:
        # Decompress to the end: a truncated or damaged stream raises EOFError or BadGzipFile here.
        with gzip.open(path, "rb") as f:
            while f.read(1 << 22):
                pass
        return
    last = len(hdulist) - 1
    end_of_data = hdulist.fileinfo(last)["datLoc"] + hdulist[last].size
    if end_of_data > os.path.getsize(path):
        raise OSError(f"truncated: the headers announce {end_of_data} bytes, the file has "
                      f"{os.path.getsize(path)}")
