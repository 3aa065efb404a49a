"""The provenance rows in PostgreSQL: written with COPY, deleted and read back, through a DB-API
cursor (psycopg2's, or the one DaCHS's connections give).

A schema that publishes datasets holds their rows in its tables <schema>.prov_<table> (one per
table of schemas.PROVENANCE_TABLES; rd/render.py `provenance_tables` declares them in its RD),
and the views provenance.<table> (rd/provenance.rd.in) show the rows of every such schema. The
caller owns the transaction: write and delete the rows in the one that writes or deletes the
datasets, so that both change together or not at all.
"""

import contextlib
import functools
import io

from psycopg2 import sql

import schemas
from ingest.staging import copy_text

from .records import Records

VIEW_SCHEMA = "provenance"  # the views: provenance.entity, provenance.activity, ...


def table_name(table):
    """The name of a provenance table in a collection's schema: prov_entity, prov_used, ..."""
    return f"prov_{table}"


@functools.lru_cache(maxsize=None)
def column_names(table):
    """The columns of <schema>.prov_<table>, in the order they are written."""
    return tuple(c.name for c in schemas.provenance_columns(table))


class Staged:
    """The rows of many datasets on their way to the database, kept as COPY text (a few dozen
    rows a dataset: as dicts, those of 10^4 datasets would take hundreds of megabytes)."""

    def __init__(self):
        self.text = {table: [] for table in schemas.PROVENANCE_TABLES}

    def add(self, records):
        for table, rows in records.rows.items():
            self.text[table].append(copy_text(rows, column_names(table)))

    def copy(self, cursor, schema):
        """COPYs everything added into <schema>.prov_*."""
        for table, pieces in self.text.items():
            text = "".join(pieces)
            if text:
                cursor.copy_expert(sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(schema, table_name(table)),
                    sql.SQL(", ").join(map(sql.Identifier, column_names(table)))),
                    io.StringIO(text))


def write(cursor, schema, records):
    """COPYs the rows of every Records in `records` into <schema>.prov_*."""
    staged = Staged()
    for one in records:
        staged.add(one)
    staged.copy(cursor, schema)


def delete(cursor, schema, dids):
    """Deletes every row of the datasets `dids` (obs_publisher_did values) from <schema>.prov_*."""
    dids = list(dids)
    if not dids:
        return
    for table in schemas.PROVENANCE_TABLES:
        cursor.execute(sql.SQL("DELETE FROM {} WHERE obs_publisher_did = ANY(%s)").format(
            sql.Identifier(schema, table_name(table))), (dids,))


@contextlib.contextmanager
def indexes_built_after(cursor, schema):
    """Drops the indexes of <schema>.prov_* for the time of the block and builds them again after
    it: loading the first rows of a collection (a few dozen a dataset) into empty tables, a
    btree built at the end takes a third of the time of one kept up to date row by row. In the
    caller's transaction: a failure leaves the indexes as they were."""
    cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s"
                   " AND tablename = ANY(%s)",
                   (schema, [table_name(t) for t in schemas.PROVENANCE_TABLES]))
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(schema, name)))
    yield
    for _, definition in indexes:
        cursor.execute(definition)


def read(cursor, schema, did):
    """The Records of one dataset as stored in <schema>.prov_* (rows in the order they were
    written)."""
    records = Records(did)
    for table in schemas.PROVENANCE_TABLES:
        names = column_names(table)
        cursor.execute(sql.SQL("SELECT {} FROM {} WHERE obs_publisher_did = %s ORDER BY ctid").format(
            sql.SQL(", ").join(map(sql.Identifier, names)),
            sql.Identifier(schema, table_name(table))), (did,))
        records.rows[table] = [dict(zip(names, row)) for row in cursor.fetchall()]
    return records


def entities(cursor, ids):
    """The rows of provenance.entity (the view over every schema) with these ids: the entities
    a dataset's rows name but do not hold (the DL3 inputs of a product)."""
    ids = sorted(set(ids))
    if not ids:
        return []
    names = [c.name for c in schemas.columns_in("prov_entity")]
    cursor.execute(sql.SQL("SELECT {} FROM {} WHERE id = ANY(%s) ORDER BY id").format(
        sql.SQL(", ").join(map(sql.Identifier, names)), sql.Identifier(VIEW_SCHEMA, "entity")),
        (ids,))
    return [dict(zip(names, row)) for row in cursor.fetchall()]
