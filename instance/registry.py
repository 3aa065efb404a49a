"""The registry records of an instance: what /oai.xml serves, kept in step with what is published.

The records are those of //services (the registry itself), //tap and every published collection
RD (its table as a data collection, its cone search). Each collection's coverage is computed from
its published table after every ingest and kept in state/coverage-<schema>.json, which the
collection's RD carries (instance/rds.py); `dachs pub` runs when a record's RD, defaultmeta.txt
or gavo.rc changed or a record is missing, and not otherwise.
"""

import hashlib
import json
import math
import os

from astropy import units as u
from psycopg2 import sql

from instance.files import read_text, write_if_changed

SYSTEM_RDS = ("//services", "//tap")
MOC_ORDER = 6  # HEALPix order of the spatial coverage (about 1 degree)


class Registry:
    """The registry records of one instance (instance.Instance)."""

    def __init__(self, inst):
        self.inst = inst

    def _coverage_path(self, collection):
        return os.path.join(self.inst.shared_state_dir, f"coverage-{collection.schema}.json")

    def stored_coverage(self, collection):
        """The coverage computed at the last ingest, or None."""
        text = read_text(self._coverage_path(collection))
        return json.loads(text) if text else None

    def coverage(self, collection):
        """Spatial (MOC of the footprints), temporal (MJD) and spectral (photon energy in J, as
        DaCHS writes VODataService 1.2) coverage of the published table; None if it is empty."""
        # pgSphere's sum() merges each footprint into one growing MOC; merging neighbours first,
        # strip by 1-degree strip of right ascension, and then the strips is 3 times faster.
        statement = sql.SQL(
            "SELECT min(t_min), max(t_max), min(em_min), max(em_max),"
            " (SELECT sum(strip)::text FROM (SELECT sum(smoc(%s, s_region)) AS strip FROM {table}"
            "   WHERE s_region IS NOT NULL GROUP BY floor(s_ra)) AS strips)"
            " FROM {table}").format(table=sql.Identifier(collection.schema, "obs"))
        t_min, t_max, em_min, em_max, moc = self.inst.db.query(statement, (MOC_ORDER,))[0]
        if t_min is None:
            return None
        # Rounded outwards: DaCHS writes MJDs with 5 decimals, energies with 10 digits.
        coverage = {"temporal": [math.floor(t_min * 1e5) / 1e5, math.ceil(t_max * 1e5) / 1e5]}
        if em_min and em_max:
            low, high = (u.Quantity([em_max, em_min], u.m)
                         .to_value(u.J, equivalencies=u.spectral()))
            coverage["spectral"] = [float(low) * (1 - 1e-9), float(high) * (1 + 1e-9)]
        if moc:
            coverage["spatial"] = moc
        return coverage

    def update_coverage(self, published, changed_rows=None):
        """Updates the coverage of the published collections (of those named in changed_rows, and
        of any without one; None: all) and writes their RDs. (The coverage is an aggregate over
        the whole table: 1 s at 10^4 rows.)"""
        for collection in published:
            if changed_rows is None or collection.name in changed_rows or not self.stored_coverage(collection):
                write_if_changed(self._coverage_path(collection),
                                 json.dumps(self.coverage(collection), sort_keys=True) + "\n")
            self.inst.rds.write_collection(collection)

    def publish(self, published):
        """Runs `dachs pub` on the RDs whose records changed or are missing (after
        update_coverage); returns True if it did."""
        rd_ids = list(SYSTEM_RDS) + [self.inst.rds.rd_id(c) for c in published]
        stamp = os.path.join(self.inst.root, "state", "registry.stamp")
        digest = self._digest(rd_ids)
        if read_text(stamp) == digest and all(self._has_record(rd_id) for rd_id in rd_ids):
            return False
        print("[instance] registering " + " ".join(rd_ids), flush=True)
        self.inst.dachs("pub", *rd_ids)
        write_if_changed(stamp, digest)
        return True

    def _digest(self, rd_ids):
        """What the records are made from: the RDs, defaultmeta.txt and gavo.rc."""
        digest = hashlib.sha256(" ".join(rd_ids).encode())
        paths = [os.path.join(self.inst.root, "etc", "defaultmeta.txt"),
                 self.inst.dachs_config.settings_file]
        paths += [self.inst.rds.path(rd_id) for rd_id in rd_ids if not rd_id.startswith("//")]
        for path in paths:
            digest.update((path + "\0" + (read_text(path) or "")).encode())
        return digest.hexdigest()

    def _has_record(self, rd_id):
        source = rd_id.replace("//", "__system__/", 1) if rd_id.startswith("//") else rd_id
        return bool(self.inst.db.value(
            "SELECT count(*) FROM dc.resources WHERE NOT deleted AND sourcerd=%s", (source,)))
