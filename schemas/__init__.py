"""The column definitions of the service, read from columns.yaml (the one source of truth)."""

import functools
import os
from dataclasses import dataclass, field

import yaml

COLUMNS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "columns.yaml")
# The provenance tables (HE-OBSCORE-SPEC §9): each collection's <schema>.prov_<name> and the view
# provenance.<name> over them, in the order their rows are written.
PROVENANCE_TABLES = ("entity", "activity", "agent", "used", "wasgeneratedby", "wasassociatedwith",
                     "wasattributedto", "wasderivedfrom", "parameter")
# prov_rows: the columns every <schema>.prov_<name> has besides its view's (the dataset of a row).
TABLES = ("collection", "obscore", "hea", "gti", "derived", "progenitor", "prov_rows") + tuple(
    f"prov_{name}" for name in PROVENANCE_TABLES)


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    group: str
    unit: str = ""
    ucd: str = ""
    utype: str = ""
    dachs: bool = False
    not_null: bool = False
    tables: tuple = field(default_factory=tuple)
    collection_ucd: str = ""  # the UCD in the collection table, where it differs

    def ucd_in(self, table):
        """The column's UCD in one of TABLES."""
        return (self.collection_ucd or self.ucd) if table == "collection" else self.ucd


def load_columns(path=COLUMNS_FILE):
    """Returns every column in file order; raises ValueError naming a bad entry (a name defined
    twice for one table, an unknown table)."""
    stat = os.stat(path)
    return list(_parse(path, stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _parse(path, mtime_ns, size):
    """The columns of the file as it is (mtime and size are the cache key): an ingest or a
    publication asks for them many times, and parsing the YAML takes a tenth of a second."""
    with open(path, encoding="utf-8") as f:
        doc = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    columns, seen = [], set()
    for group, spec in doc["groups"].items():
        for entry in spec["columns"]:
            entry = dict(entry)
            name = entry.pop("name")
            tables = tuple(entry.pop("in"))
            unknown = set(tables) - set(TABLES)
            if unknown:
                raise ValueError(f"{path}: column {name}: unknown tables {sorted(unknown)}")
            twice = [table for table in tables if (name, table) in seen]
            if twice:
                raise ValueError(f"{path}: column {name} is defined twice for {twice[0]}")
            seen.update((name, table) for table in tables)
            columns.append(Column(name=name, group=group, tables=tables, **entry))
    return tuple(columns)


def columns_in(table, columns=None):
    """The columns of one of TABLES, in file order."""
    return [c for c in (columns or load_columns()) if table in c.tables]


def provenance_columns(name, columns=None):
    """The columns of the provenance table `name` (PROVENANCE_TABLES) as each collection has it,
    <schema>.prov_<name>: those of the view provenance.<name>, then obs_publisher_did."""
    return columns_in(f"prov_{name}", columns) + columns_in("prov_rows", columns)
