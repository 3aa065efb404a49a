"""DaCHS custom grammar of a collection's import: the rows instance/publication.py staged
(ingest/staging.py). The ingest package read them from the GADF files; it runs and is tested
without DaCHS (`python3 -m ingest show`). This module only hands the rows to DaCHS's import.
"""

import os
import sys

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if PROJECT_ROOT not in sys.path:
    sys.path.insert(0, PROJECT_ROOT)

from gavo.grammars.customgrammar import CustomRowIterator  # noqa: E402
from gavo.utils import pgsphere  # noqa: E402

from ingest import staging  # noqa: E402


def _spoly(vertices):
    return pgsphere.SPoly([pgsphere.SPoint.fromDegrees(ra, dec) for ra, dec in vertices])


class RowIterator(CustomRowIterator):
    def _iterRows(self):
        for row in staging.read_rows(self.sourceToken):
            row["s_region"] = _spoly(row["s_region"])
            yield row

    def getLocator(self):
        return f"staged rows {self.sourceToken}"
