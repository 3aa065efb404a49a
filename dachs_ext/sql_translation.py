"""DaCHS's own translation of ADQL to PostgreSQL SQL, for the benchmarks' direct-SQL baseline.

Run by Debian's Python with the bench instance's GAVOSETTINGS (bench/discovery.py does): reads a
JSON list of ADQL queries and a MAXREC on stdin, writes the JSON list of SQL statements DaCHS's
TAP would send to PostgreSQL (gavo.protocols.adqlglue.morphADQL). Using DaCHS's translation, not
hand-written SQL, makes the baseline the very statement TAP runs: the ratio is then what DaCHS's
HTTP, ADQL and VOTable layers add.
"""

import json
import sys


def main():
    from gavo import api  # noqa: F401  (reads GAVOSETTINGS, sets DaCHS up)
    from gavo.protocols import adqlglue

    queries, maxrec = json.load(sys.stdin)
    out = []
    for adql in queries:
        sql, _ = adqlglue.morphADQL(adql, maxrec=maxrec)
        out.append(sql.replace("%%", "%"))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
