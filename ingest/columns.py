"""The columns of the collection table, from the project's schemas/columns.yaml (the one definition).

`schemas` is the sibling package of `ingest` in the project root, so whatever put `ingest` on the path
put `schemas` there too.
"""

import functools

from schemas import columns_in


# Columns of the collection table that the publication fills, not the ingest.
PUBLICATION_GROUP = "publication"


@functools.lru_cache(maxsize=None)
def collection_columns():
    """The Column objects of the collection table the ingest computes, in file order (read once)."""
    return tuple(c for c in columns_in("collection") if c.group != PUBLICATION_GROUP)


def collection_column_names():
    return [column.name for column in collection_columns()]


def not_null_column_names():
    return [column.name for column in collection_columns() if column.not_null]
