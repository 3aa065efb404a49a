"""The rows of one import, on their way from the publisher to the database.

instance/publication.py loads the rows the ingest read with PostgreSQL's COPY (`copy_text` and
`CopyStream` write them in COPY's text format); DaCHS's own import (`dachs imp`, the collection RD's custom grammar
dachs_ext/grammar.py, which reads `write_rows`'s file back with `read_rows`) only creates a new
collection's table. Below both, so that neither imports the other. A row is a dict of
collection-table columns with Python values; s_region is a tuple of (ra, dec) vertices in degrees,
a pgSphere polygon.
"""

import datetime
import os
import pickle


def staging_path(root_dir, schema):
    """Where an instance stages the rows of a collection's import."""
    return os.path.join(root_dir, "state", "staging", f"{schema}.pickle")


def write_rows(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(rows, f, protocol=pickle.HIGHEST_PROTOCOL)


def read_rows(path):
    with open(path, "rb") as f:
        return pickle.load(f)


def copy_text(rows, names):
    """The rows (dicts) as PostgreSQL COPY text, columns `names` in that order, one line a row."""
    return "".join(_line(row, names) for row in rows)


def _line(row, names):
    return "\t".join(_cell(row.get(name)) for name in names) + "\n"


class CopyStream:
    """copy_text of rows made while it is read: psycopg2's copy_expert reads its source piece by
    piece (read(size)), so each row goes to the database as soon as it is made, while the next ones
    are still being read from their files."""

    def __init__(self, rows, names):
        self._lines = (_line(row, names) for row in rows)

    def read(self, size=-1):
        pieces, length = [], 0
        for line in self._lines:
            pieces.append(line)
            length += len(line)
            if 0 <= size <= length:
                break
        return "".join(pieces)


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _cell(value):
    """One value in COPY's text format; repr() keeps every digit of a float."""
    if value is None:
        return "\\N"
    if isinstance(value, str):  # the most frequent (the provenance rows are mostly text)
        return _escaped(value)
    if isinstance(value, tuple):  # s_region: pgSphere's spoly input, vertices in degrees
        return "{" + ",".join(f"({ra!r}d,{dec!r}d)" for ra, dec in value) + "}"
    if isinstance(value, float):
        return float.__repr__(value)  # a numpy float64 too (numpy 2's repr is "np.float64(...)")
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return _escaped(str(value))


def _escaped(text):
    """COPY's escapes; most text has none to make, and looking costs an eighth of translating."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.translate(_ESCAPES)
    return text
