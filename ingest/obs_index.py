"""The GADF obs-index: one row of summary values per observation, used where the file headers are silent.

The headers of the event files are the primary source (the obs-index is often float32 and can be
seconds off); the obs-index row is the fallback.
"""

from dataclasses import dataclass, field

from .errors import IngestError
from .fitsfiles import open_fits
from .hdu_index import find_index_table, is_obs_index, normalise_obs_id
from .values import plain


@dataclass(frozen=True)
class ObsIndex:
    path: str
    rows: dict = field(default_factory=dict)  # obs_id -> {UPPER-CASE COLUMN: plain value}
    header: dict = field(default_factory=dict)  # {KEYWORD: plain value} of the table header (GEOLON, ...)

    def row(self, obs_id):
        """The row of one observation ({} if the obs-index does not list it)."""
        return self.rows.get(obs_id, {})


def read_obs_index(path):
    """Reads an obs-index file; raises IngestError naming the file if it is missing or unreadable."""
    hdulist = open_fits(path)
    with hdulist:
        table = find_index_table(hdulist, is_obs_index, path, "obs-index")
        names = [(name.upper(), name) for name in table.columns.names]
        rows = {}
        for row_number, row in enumerate(table.data, start=1):
            try:
                obs_id = normalise_obs_id(row["OBS_ID"])
            except ValueError as exc:
                raise IngestError(f"row {row_number}: {exc}", path, table.name, "OBS_ID") from None
            # The first row of an OBS_ID wins; a duplicate is ignored rather than mixed in.
            rows.setdefault(obs_id, {upper: plain(row[name]) for upper, name in names})
        header = {key: plain(value) for key, value in table.header.items() if key not in ("COMMENT", "HISTORY")}
    return ObsIndex(path=path, rows=rows, header=header)
