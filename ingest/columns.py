"""The columns of the collection table, from the project's schemas/columns.yaml (the one definition).

`schemas` is the sibling package of `ingest` in the project root, so whatever put `ingest` on the path
put `schemas` there too.
"""

import functools

from schemas import columns_in


@functools.lru_cache(maxsize=None)
def collection_columns():
    """The Column objects of the collection table, in file order (read once)."""
    return tuple(columns_in("collection"))


def collection_column_names():
    return [column.name for column in collection_columns()]


def not_null_column_names():
    return [column.name for column in collection_columns() if column.not_null]
