"""The one exception of the ingest: a problem with one file, HDU or keyword."""

import os


class IngestError(Exception):
    """A file, HDU or keyword the ingest cannot use.

    `path` is the file (or None), `hdu` the HDU name as the index or file spells it (or None), `keyword`
    the header keyword or column (or None), `message` what is wrong. str() names them compactly, e.g.
    ``hess_dl3_dr1_obs_id_023523.fits.gz[EVENTS] MJDREFI: missing mandatory keyword``.
    """

    def __init__(self, message, path=None, hdu=None, keyword=None):
        super().__init__(message)
        self.message = message
        self.path = None if path is None else str(path)
        self.hdu = hdu
        self.keyword = keyword

    def __str__(self):
        where = os.path.basename(self.path) if self.path else ""
        if self.hdu:
            where += f"[{self.hdu}]"
        if self.keyword:
            where = f"{where} {self.keyword}" if where else self.keyword
        return f"{where}: {self.message}" if where else self.message

    def __repr__(self):
        return (f"IngestError({self.message!r}, path={self.path!r}, hdu={self.hdu!r}, "
                f"keyword={self.keyword!r})")
