"""The GADF obs-index: one row of summary values per observation, used where the file headers are silent.

The headers of the event files are the primary source (the obs-index is often float32 and can be
seconds off); the obs-index row is the fallback, and where both give a value they must agree
(ingest/agreement.py).

Problems of one row (its OBS_ID listed twice, a control character in a text cell) do not make the
obs-index unusable: they reject that observation only (`error_for`).
"""

from dataclasses import dataclass, field

from .errors import IngestError
from .fitsfiles import open_fits
from .hdu_index import find_index_table, is_obs_index, normalise_obs_id, table_rows
from .values import control_character, control_character_problem, plain


class IndexRow(dict):
    """One obs-index row, {UPPER-CASE COLUMN: plain value}, that knows where it comes from: it makes
    errors naming its file, table, row and column, as a LocatedHdu does for a header keyword."""

    def __init__(self, values=(), path=None, table_name=None, number=None):
        super().__init__(values)
        self.path, self.table_name, self.number = path, table_name, number

    def optional(self, key, default=None):
        value = self.get(key)
        return default if value is None else value

    def error(self, message, column=None):
        where = f"row {self.number}: " if self.number else ""
        return IngestError(where + message, self.path, self.table_name, column)


@dataclass(frozen=True)
class ObsIndex:
    path: str
    rows: dict = field(default_factory=dict)  # obs_id -> IndexRow
    header: dict = field(default_factory=dict)  # {KEYWORD: plain value} of the table header (GEOLON, ...)
    table_name: str = "OBS_INDEX"
    errors: dict = field(default_factory=dict)  # obs_id -> IngestError: why its row cannot be used

    def row(self, obs_id):
        """The IndexRow of one observation (empty if the obs-index does not list it)."""
        return self.rows.get(obs_id) or IndexRow({}, self.path, self.table_name)

    def error_for(self, obs_id):
        """Why the observation's row cannot be used (an IngestError), or None."""
        return self.errors.get(obs_id)


def read_obs_index(path):
    """Reads an obs-index file; raises IngestError naming the file if it is missing or unreadable."""
    hdulist = open_fits(path)
    with hdulist:
        table = find_index_table(hdulist, is_obs_index, path, "obs-index")
        names = [(name.upper(), name) for name in table.columns.names]
        obs_id_column = next(name for upper, name in names if upper == "OBS_ID")
        rows, row_numbers, errors = {}, {}, {}
        table_name = table.name  # (astropy parses EXTNAME again on every .name)
        for row_number, row in enumerate(table_rows(table), start=1):
            try:
                obs_id = normalise_obs_id(row[obs_id_column])
            except ValueError as exc:
                raise IngestError(f"row {row_number}: {exc}", path, table_name, "OBS_ID") from None
            row_numbers.setdefault(obs_id, []).append(row_number)
            values = IndexRow({upper: plain(row[name]) for upper, name in names}, path, table_name, row_number)
            rows.setdefault(obs_id, values)
            problem = _text_problem(values)
            if problem and obs_id not in errors:
                errors[obs_id] = problem
        for obs_id, numbers in row_numbers.items():
            if len(numbers) > 1:
                # Which row describes the observation cannot be told: the duplicate is the error to report.
                listed = ", ".join(str(n) for n in numbers)
                errors[obs_id] = IngestError(f"OBS_ID {obs_id} is listed {len(numbers)} times (rows {listed}): "
                                             f"which row describes it is ambiguous", path, table_name, "OBS_ID")
        header = {key: plain(value) for key, value in table.header.items() if key not in ("COMMENT", "HISTORY")}
    return ObsIndex(path=path, rows=rows, header=header, table_name=table_name, errors=errors)


def _text_problem(row):
    """An IngestError for the first text cell of an IndexRow holding a control character, else None.

    Table cells may hold any byte (UTF-8 text is fine and kept); control characters cannot be published.
    """
    for column, value in row.items():
        if isinstance(value, str):
            char = control_character(value)
            if char is not None:
                name, reason = control_character_problem(ord(char))
                return row.error(f"{name} in the text: {reason}", column)
    return None
