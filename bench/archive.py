"""The bench's DaCHS instance and its synthetic collection.

One instance (var/<name>/, database heobs_<name>, a free port) publishes one collection, `synth`
(schema synth, obs_collection SYNTH-CTAO), written by the project's own generator (synth/) into
var/bench-data/ (git-ignored). It is destroyed at the end of a run, whatever happens.

Growing the collection: ingesting 10^5-10^6 observations through files does not fit in the hour
`make bench` has, so the larger sizes are made in SQL from the ingested rows (grow()): each copy
gets a new obs_id and obs_publisher_did, its position rotated in right ascension (s_ra and
s_region together, so the footprint stays consistent with the position) and its times moved
within the generator's 30-year span, its good time intervals (synth.gti) with them. The issue allows
metadata-only rows for these sizes; the copies have no files (DataLink on them is not benchmarked,
only discovery is). One more observation, with 40 000 GTIs like HAWC's drift scans, is made in SQL
too (add_long_observation).
"""

import os
import socket

import yaml

from instance import PROJECT_ROOT, Instance, stop_process

DATA_ROOT = os.path.join(PROJECT_ROOT, "var", "bench-data")
SCHEMA = "synth"
TABLE = f"{SCHEMA}.obs"
# Copies get obs_id = original + k * OBS_ID_STRIDE (the generator's ids stay far below).
OBS_ID_STRIDE = 10_000_000
GTI_TABLE = f"{SCHEMA}.gti"
# The observation with tens of thousands of GTIs (add_long_observation), beyond every copy's obs_id.
LONG_OBS_ID, LONG_GTIS = 10**15, 40_000
# The generator's observations lie in MJD 61000-72000; copies are moved within that span.
MJD_START, MJD_SPAN = 61000.0, 11000.0

# Indexes grow() does not re-create (see grow()).
SKIPPED_INDEXES = {"obs_s_region"}

COLLECTION = {
    "schema": SCHEMA, "obs_collection": "SYNTH-CTAO",
    "title": "Synthetic CTAO-like observations (benchmarks)",
    "description": "Synthetic GADF DL3 observations of CTAO North and South written by the"
                   " project's generator (synth/) for the benchmarks (bench/).",
    "hdu_index": "hdu-index.fits.gz", "obs_index": "obs-index.fits.gz",
    "facility_name": "CTAO", "instrument_name": "CTAO (synthetic)",
    "creator_name": "HE-ObsCore benchmarks", "data_rights": "public",
    "obs_release_date": "2020-01-01",
    "licence": "Synthetic data made by the benchmarks; no restrictions.",
    "defaults": {"obs_type": "simulation"},
}


# H.E.S.S. DL3 DR1 where the tests find it (tests/conftest.py): the downloads of real-sized
# observations are measured on it when it is there.
HESS_DIR = os.environ.get("HEOBS_DATA_ROOT", os.path.join(os.path.dirname(PROJECT_ROOT), "shared",
                                                          "data"))


def hess_collection():
    """The configured hess_dr1 collection with its data where the tests find them, or None."""
    data_dir = os.path.join(HESS_DIR, "hess-dl3-dr1")
    if not os.path.exists(os.path.join(data_dir, "hdu-index.fits.gz")):
        return None
    with open(os.path.join(PROJECT_ROOT, "etc", "collections.yaml"), encoding="utf-8") as f:
        entry = yaml.safe_load(f)["collections"]["hess_dr1"]
    entry = {k: v for k, v in entry.items() if k != "observations"}
    return dict(entry, data_dir=data_dir, data_rights="public")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def synth_dir(n, seed):
    return os.path.join(DATA_ROOT, f"synth-{n}-{seed}")


def make_data(n, seed=1):
    """The synthetic collection of n observations with their files (a no-op when it is there:
    the generator keeps a manifest); returns its directory."""
    import synth

    out = synth_dir(n, seed)
    synth.generate(out, n, seed)
    return out


class BenchArchive:
    """The bench instance: prepare() ingests, start()/stop() the server, destroy() removes it."""

    def __init__(self, name, data_dir):
        self.name, self.data_dir = name, data_dir
        os.makedirs(DATA_ROOT, exist_ok=True)
        self.collections_file = os.path.join(DATA_ROOT, f"collections-{name}.yaml")
        document = {"default": "synth", "collections": {"synth": dict(COLLECTION, data_dir=data_dir)}}
        hess = hess_collection()
        if hess:  # published later, for the downloads of real observations (download.py)
            document["collections"]["hess_dr1"] = hess
        with open(self.collections_file, "w", encoding="utf-8") as f:
            yaml.safe_dump(document, f, sort_keys=False)
        self.instance = Instance(name, port=free_port(), collections_file=self.collections_file)
        self.proc = None
        self.skipped_indexes = []

    @property
    def url(self):
        return f"http://127.0.0.1:{self.instance.port}"

    @property
    def dbname(self):
        return self.instance.dbname

    def prepare(self):
        """The real publication pipeline (fingerprints, reading, COPY: instance/publication.py)."""
        return self.instance.prepare(["synth"])

    def start(self):
        self.instance.dachs_config.write()  # gavo.rc carries this run's port
        self.proc = self.instance.start()
        return self.proc

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def destroy(self):
        self.stop()
        self.instance.destroy()

    @property
    def hess_dir(self):
        return os.path.join(HESS_DIR, "hess-dl3-dr1")

    def publish_hess(self):
        """Publishes H.E.S.S. DL3 DR1 beside the synthetic collection (once); False without it."""
        if "hess_dr1" not in self.instance.collections:
            return False
        if not self.instance.published([self.instance.collections["hess_dr1"]]):
            self.instance.prepare(["hess_dr1"])
        return True

    def sql(self, statement, params=None):
        """The rows of an SQL statement (several, separated by ;, may be given) in the bench
        database."""
        return self.instance.db.query(statement, params)

    def count(self):
        return self.instance.db.value(f"SELECT count(*) FROM {TABLE}")

    def original_ids(self, limit):
        """obs_publisher_did of the first `limit` ingested observations (those with files)."""
        return [row[0] for row in self.sql(
            f"SELECT obs_publisher_did FROM {TABLE} WHERE obs_id::bigint < %s"
            " ORDER BY obs_id::bigint LIMIT %s", (OBS_ID_STRIDE, int(limit)))]

    def grow(self, target):
        """Copies the ingested rows in SQL until the table holds `target` rows (see the module
        docstring), then ANALYZEs it so that the planner knows the new size.

        A bulk load as PostgreSQL's documentation advises: the secondary indexes are dropped and
        re-created afterwards (one sort each instead of 10^6 insertions), and DaCHS's dupePolicy
        trigger (one DELETE per inserted row) is disabled meanwhile: the copies' keys are new by
        construction. The copies are inserted in q3c order of their new positions, which is what
        the CLUSTER of `dachs imp` gives (cluster="True" in rd/collection.rd.in; CLUSTER itself
        would rebuild every index once more).

        The GiST index on s_region is NOT re-created: pgSphere 1.2 builds it at ~5 ms per
        32-vertex polygon on this machine (measured: 114 s for 2*10^4 rows), i.e. well over an
        hour for 10^6, and no benchmark query uses it (the cone is on s_ra/s_dec, q3c). The
        names of the indexes left out are in self.skipped_indexes, and BENCHMARKS.md says so.
        """
        base = self.instance.db.value(f"SELECT count(*) FROM {TABLE} WHERE obs_id::bigint < %s",
                                      (OBS_ID_STRIDE,))
        current = self.instance.db.value(f"SELECT count(*) FROM {TABLE} WHERE obs_id::bigint < %s",
                                         (LONG_OBS_ID,))
        if current >= target:
            return
        columns = [row[0] for row in self.sql(
            "SELECT column_name FROM information_schema.columns WHERE table_schema=%s"
            " AND table_name='obs' ORDER BY ordinal_position", (SCHEMA,))]
        indexes = self.sql("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname=%s"
                           " AND tablename='obs' AND indexname <> 'obs_pkey'", (SCHEMA,))
        first_copy = -(-current // base)  # copies 1, 2, ... (0 is the ingested rows)
        copies = -(-(target - current) // base)
        k = "k.k"
        self.sql(";\n".join(
            [f"ALTER TABLE {TABLE} DISABLE TRIGGER USER"]
            + [f'DROP INDEX {SCHEMA}."{name}"' for name, _ in indexes]
            + [f"INSERT INTO {TABLE} ({', '.join(columns)}) SELECT "
               + ", ".join(_copy_expression(c, k) for c in columns)
               + f" FROM {TABLE} CROSS JOIN generate_series({first_copy},"
               f" {first_copy + copies - 1}) AS k(k) WHERE obs_id::bigint < {OBS_ID_STRIDE}"
               f" ORDER BY q3c_ang2ipix({_copy_expression('s_ra', k)}, s_dec)"
               f" LIMIT {target - current}"]
            + [definition for name, definition in indexes if name not in SKIPPED_INDEXES]
            + [f"ALTER TABLE {TABLE} ENABLE TRIGGER USER"]))
        self.skipped_indexes = sorted(SKIPPED_INDEXES & {name for name, _ in indexes})
        self._copy_gtis(first_copy * OBS_ID_STRIDE)
        self.sql(f"ANALYZE {TABLE}")

    def _copy_gtis(self, first_id):
        """The GTIs of the copies with obs_id >= first_id: their originals' GTIs, moved in time as
        the copy's t_min was. Indexes dropped and re-made around the load, as in grow()."""
        original = f"(copy.obs_id::bigint % {OBS_ID_STRIDE})::text"
        shift = "(copy.t_min - o.t_min)"
        self._load_gtis(
            f"SELECT copy.obs_publisher_did, g.t_start + {shift}, g.t_stop + {shift}"
            f" FROM {TABLE} AS copy JOIN {TABLE} AS o ON o.obs_id = {original}"
            f" JOIN {GTI_TABLE} AS g ON g.obs_publisher_did = o.obs_publisher_did"
            f" WHERE copy.obs_id::bigint >= {first_id} AND copy.obs_id::bigint < {LONG_OBS_ID}")

    def _load_gtis(self, select):
        indexes = self.sql("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname=%s"
                           " AND tablename='gti'", (SCHEMA,))
        self.sql(";\n".join(
            [f'DROP INDEX {SCHEMA}."{name}"' for name, _ in indexes]
            + [f"INSERT INTO {GTI_TABLE} (obs_publisher_did, t_start, t_stop) {select}"]
            + [definition for _, definition in indexes]))
        self.sql(f"ANALYZE {GTI_TABLE}")

    def add_long_observation(self):
        """One observation with LONG_GTIS good time intervals, like HAWC's drift scans (HAWC's Crab
        has 39 250 in 62 days): a copy of the first ingested row whose GTIs are 2 minutes every
        3 minutes for LONG_GTIS times 3 minutes, obs_id LONG_OBS_ID (outside grow()'s copies)."""
        if self.instance.db.value(f"SELECT 1 FROM {TABLE} WHERE obs_id = %s", (str(LONG_OBS_ID),)):
            return
        columns = [row[0] for row in self.sql(
            "SELECT column_name FROM information_schema.columns WHERE table_schema=%s"
            " AND table_name='obs' ORDER BY ordinal_position", (SCHEMA,))]
        step, length = 3.0 / 1440, 2.0 / 1440  # days
        values = {"obs_id": f"'{LONG_OBS_ID}'",
                  "obs_publisher_did": f"substring(obs_publisher_did from '^[^?]*') || '?{LONG_OBS_ID}'",
                  "t_max": f"t_min + {LONG_GTIS * step}"}
        self.sql(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER;"
                 f" INSERT INTO {TABLE} ({', '.join(columns)}) SELECT"
                 f" {', '.join(values.get(c, c) for c in columns)} FROM {TABLE}"
                 f" WHERE obs_id::bigint < {OBS_ID_STRIDE} ORDER BY obs_id::bigint LIMIT 1;"
                 f" ALTER TABLE {TABLE} ENABLE TRIGGER USER")
        self._load_gtis(
            f"SELECT obs_publisher_did, t_min + j * {step}, t_min + j * {step} + {length}"
            f" FROM {TABLE} CROSS JOIN generate_series(0, {LONG_GTIS - 1}) AS j(j)"
            f" WHERE obs_id = '{LONG_OBS_ID}'")
        self.sql(f"ANALYZE {TABLE}")


def _copy_expression(column, k):
    """The SQL expression of `column` in copy number k (an SQL expression) of a row."""
    # A rotation by the golden angle spreads the copies evenly over every right ascension.
    dra = f"mod(({k} * 137.50776405)::numeric, 360)"
    ddays = f"mod(({k} * 1234.5678)::numeric, {MJD_SPAN})"
    did_prefix = "substring(obs_publisher_did from '^[^?]*')"
    expressions = {
        "obs_id": f"(obs_id::bigint + {k}::bigint * {OBS_ID_STRIDE})::text",
        "obs_publisher_did": f"{did_prefix} || '?' || (obs_id::bigint + {k}::bigint * {OBS_ID_STRIDE})::text",
        "s_ra": f"mod((s_ra + {dra})::numeric, 360)::double precision",
        "ra_pnt": f"mod((ra_pnt + {dra})::numeric, 360)::double precision",
        "s_region": f"s_region + strans(radians({dra}), 0, 0, 'ZXZ')",
        "t_min": f"{MJD_START} + mod((t_min - {MJD_START} + {ddays})::numeric, {MJD_SPAN})::double precision",
        "t_max": f"{MJD_START} + mod((t_min - {MJD_START} + {ddays})::numeric, {MJD_SPAN})::double precision"
                 f" + (t_max - t_min)",
        "tstart": f"tstart + {ddays} * 86400",
        "tstop": f"tstop + {ddays} * 86400",
    }
    return expressions.get(column, column)
