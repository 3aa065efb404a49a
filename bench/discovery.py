"""Discovery: TAP sync on ivoa.obscore against the same SQL run directly in PostgreSQL.

Queries (the CTAO data explorer's shape, CLIENTS.md): its cone + time + energy SELECT TOP 100, a
cone alone, an energy_max > cut, and the HE join with ivoa.obscore_hea. They all carry TOP 100,
as the explorer sends: a bounded result is what makes the growth from 10^4 to 10^6 rows a test of
the indexes (an unbounded cone returns 100 times more rows at 100 times the size, whatever the
plan).

Service: an HTTP POST to /tap/sync (plain requests, the whole VOTable read; pyvo's parsing would
add client time that is not the service's). Baseline: the very SQL statement DaCHS sends to
PostgreSQL for that ADQL (dachs_ext/sql_translation.py asks DaCHS's own translator), run with psycopg2 and
every row fetched. Ratio: TAP p50 / SQL p50 (target <= 3). Growth: TAP p50 at the largest size /
at the smallest (target <= 2). The absolute TAP p95 is compared with the explorer's 5 s timeout.
"""

import json
import subprocess

import psycopg2
import requests

from . import timing

TARGET_RATIO = 3.0
TARGET_GROWTH = 2.0
CLIENT_TIMEOUT = 5.0  # s: the CTAO data explorer gives up on any TAP request after this
MAXREC = 20000  # DaCHS's [async]defaultMAXREC, which TAP sync applies without MAXREC

CONE = "1=CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {ra}, {dec}, {r}))"
# Not a use case: the same request shape finding no row (an index lookup), whose TAP time is
# what DaCHS adds to any query. It is reported, not held to the targets.
FLOOR = "no row found (TAP's fixed cost)"


def queries(energy_cut):
    """{name: ADQL}. energy_cut (eV) is chosen on the smallest size so that about 1 % of the rows
    pass, and kept for every size."""
    crab = CONE.format(ra=83.633, dec=22.0145, r=5)
    return {
        "explorer cone+time+energy": (
            f"SELECT TOP 100 * FROM ivoa.obscore WHERE {crab}"
            " AND t_min < 68000 AND t_max > 62000"
            " AND energy_max >= 1e12 AND energy_min <= 1e14"),
        "cone alone": f"SELECT TOP 100 * FROM ivoa.obscore WHERE {CONE.format(ra=266.4, dec=-29.0, r=3)}",
        "energy_max > cut": f"SELECT TOP 100 * FROM ivoa.obscore WHERE energy_max > {energy_cut:.6g}",
        "HE join obscore_hea": (
            "SELECT TOP 100 * FROM ivoa.obscore NATURAL JOIN ivoa.obscore_hea"
            f" WHERE {crab} AND energy_max > 1e13"),
        FLOOR: "SELECT TOP 100 * FROM ivoa.obscore WHERE obs_id = 'no such observation'",
    }


def energy_cut(archive):
    return float(archive.instance.db.value(
        "SELECT percentile_disc(0.99) WITHIN GROUP (ORDER BY energy_max) FROM synth.obs"))


def translate(archive, adql_queries):
    """The SQL DaCHS runs for each ADQL query (dachs_ext/sql_translation.py, under Debian's
    Python)."""
    inst = archive.instance
    out = subprocess.run(["/usr/bin/python3", "-m", "dachs_ext.sql_translation"], env=inst.env(),
                         input=json.dumps([list(adql_queries), MAXREC]), capture_output=True,
                         text=True, check=True, cwd=inst.env()["PYTHONPATH"])
    return json.loads(out.stdout)


class TapClient:
    def __init__(self, url, session=None):
        self.sync_url = f"{url}/tap/sync"
        self.session = session or requests.Session()

    def query(self, adql, timeout=60):
        """Runs adql through TAP sync; returns the response size in bytes. Raises on an HTTP
        error or a VOTable with QUERY_STATUS ERROR (which TAP sends with HTTP 200)."""
        resp = self.session.post(self.sync_url, data={"REQUEST": "doQuery", "LANG": "ADQL",
                                                      "QUERY": adql}, timeout=timeout)
        body = resp.content
        if resp.status_code != 200 or b'value="ERROR"' in body[:3000]:
            raise RuntimeError(f"TAP error {resp.status_code}: {body[:500]!r}")
        return len(body)


class SqlClient:
    def __init__(self, dbname):
        self.conn = psycopg2.connect(dbname=dbname)
        self.conn.autocommit = True

    def query(self, sql):
        with self.conn.cursor() as cur:
            cur.execute(sql)
            return len(cur.fetchall())

    def explain(self, sql):
        with self.conn.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + sql)
            return "\n".join(row[0] for row in cur.fetchall())

    def close(self):
        self.conn.close()


def measure(archive, adql_queries, runs):
    """{name: {"tap": Stats, "sql": Stats, "rows": n, "plan": text}} at the archive's current size.
    TAP and SQL runs are interleaved so that both see the same load of the shared machine."""
    sqls = translate(archive, adql_queries.values())
    tap, db = TapClient(archive.url), SqlClient(archive.dbname)
    results = {}
    try:
        for (name, adql), sql in zip(adql_queries.items(), sqls):
            tap.query(adql)  # warm-up: caches, connection pool, the RD's metadata
            rows = db.query(sql)
            tap_times, sql_times = [], []
            for _ in range(runs):
                tap_times.append(timing.timed(tap.query, adql)[0])
                sql_times.append(timing.timed(db.query, sql)[0])
            results[name] = {"tap": timing.Stats(tap_times), "sql": timing.Stats(sql_times),
                             "rows": rows, "sql_text": sql, "plan": db.explain(sql)}
    finally:
        db.close()
    return results


def rows_for(by_size):
    """Table rows from {size: measure() result}."""
    sizes = sorted(by_size)
    rows = []
    for size in sizes:
        for name, r in by_size[size].items():
            ratio = r["tap"].p50 / r["sql"].p50
            rows.append({
                "benchmark": "discovery", "metric": f"{name} @ {size:,} obs: TAP p50/p95 (ms)",
                "value": r["tap"].p50 * 1000, "value2": r["tap"].p95 * 1000, "spread": r["tap"].spread,
                "note": f"SQL p50 {r['sql'].p50 * 1000:.1f} ms, p95 {r['sql'].p95 * 1000:.1f} ms;"
                        f" {r['rows']} rows; p95 vs client's 5 s:"
                        f" {'within' if r['tap'].p95 < CLIENT_TIMEOUT else 'OVER'}"})
            if name == FLOOR:
                continue
            rows.append({
                "benchmark": "discovery", "metric": f"{name} @ {size:,} obs: TAP / direct SQL",
                "value": ratio, "target": f"<= {TARGET_RATIO:g}", "met": ratio <= TARGET_RATIO})
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        for name in [n for n in by_size[small] if n != FLOOR]:
            growth = by_size[large][name]["tap"].p50 / by_size[small][name]["tap"].p50
            sql_growth = by_size[large][name]["sql"].p50 / by_size[small][name]["sql"].p50
            rows.append({
                "benchmark": "discovery", "metric": f"{name}: growth {small:,} -> {large:,} (TAP p50)",
                "value": growth, "target": f"<= {TARGET_GROWTH:g}", "met": growth <= TARGET_GROWTH,
                "note": f"direct SQL grows {sql_growth:.2f}x"})
    worst = max(r["tap"].p95 for res in by_size.values() for r in res.values())
    rows.append({"benchmark": "discovery", "metric": "worst TAP p95, all sizes and queries (s)",
                 "value": worst, "target": f"< {CLIENT_TIMEOUT:g}", "met": worst < CLIENT_TIMEOUT})
    return rows


def plans(by_size):
    """{query name: (sql, plan)} at the largest size."""
    largest = by_size[max(by_size)]
    return {name: (r["sql_text"], r["plan"]) for name, r in largest.items()}
