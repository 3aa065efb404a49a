"""DaCHS custom grammar: one row per observation of a GADF collection.

The source is the collection's hdu-index; all the work is done by the ingest package, which can be
run and tested without DaCHS (`python3 -m ingest show`).  This module only adapts its rows to DaCHS.
"""

import os
import sys

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if PROJECT_ROOT not in sys.path:
    sys.path.insert(0, PROJECT_ROOT)

from gavo import base  # noqa: E402
from gavo.grammars.customgrammar import CustomRowIterator  # noqa: E402
from gavo.utils import pgsphere  # noqa: E402

import ingest  # noqa: E402
from ingest import config  # noqa: E402


def _collection_for(schema, hdu_index_path):
    """The configured collection published in schema, reading from where the RD points."""
    collections = config.load_collections(
        os.path.join(PROJECT_ROOT, "etc", "collections.yaml"), PROJECT_ROOT)
    for collection in collections.values():
        if collection.schema == schema:
            data_dir = hdu_index_path[:-len(collection.hdu_index)].rstrip(os.sep)
            return collection.with_data_dir(data_dir)
    raise base.ReportableError(f"No collection in etc/collections.yaml has schema {schema}")


def _spoly(vertices):
    return pgsphere.SPoly([pgsphere.SPoint.fromDegrees(ra, dec) for ra, dec in vertices])


class RowIterator(CustomRowIterator):
    def _iterRows(self):
        collection = _collection_for(self.grammar.rd.schema, self.sourceToken)
        site = config.load_site(os.path.join(PROJECT_ROOT, "etc", "site.yaml"))
        for result in ingest.read_collection(collection, site):
            if result.error is not None:
                # Aborting rolls the import back: what was published before stays as it was.
                raise base.SourceParseError(str(result.error), source=str(result.error.path))
            row = dict(result.row)
            row["s_region"] = _spoly(row["s_region"])
            yield row

    def getLocator(self):
        return f"hdu-index {self.sourceToken}"
