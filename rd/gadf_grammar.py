"""DaCHS custom grammar: the rows of a collection's observations, as instance/publication.py staged
them (it reads the GADF files with the ingest package, which runs and is tested without DaCHS:
`python3 -m ingest show`). This module only hands the staged rows to DaCHS's import.
"""

import os
import sys

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if PROJECT_ROOT not in sys.path:
    sys.path.insert(0, PROJECT_ROOT)

from gavo.grammars.customgrammar import CustomRowIterator  # noqa: E402
from gavo.utils import pgsphere  # noqa: E402

from instance.publication import read_staged  # noqa: E402


def _spoly(vertices):
    return pgsphere.SPoly([pgsphere.SPoint.fromDegrees(ra, dec) for ra, dec in vertices])


class RowIterator(CustomRowIterator):
    def _iterRows(self):
        for row in read_staged(self.sourceToken):
            row["s_region"] = _spoly(row["s_region"])
            yield row

    def getLocator(self):
        return f"staged rows {self.sourceToken}"
