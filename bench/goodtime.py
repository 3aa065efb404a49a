"""Time-domain discovery: "which observations had good time when this alert happened?" through TAP,
against the same SQL run directly in PostgreSQL (discovery.measure), at every size of the archive.

Queries (HE-OBSCORE-SPEC §8, README "Querying it"): the documented join of ivoa.obscore with
ivoa.obscore_gti at an instant and within an hour either side of it, and the same window with the
ADQL function gavo_goodtime_overlaps; the instant is in the middle of a GTI of an ingested
observation (a hit), the window is around it. A fourth query asks for an instant in a gap of the
observation with 40 000 GTIs (archive.add_long_observation), which must find it not.

Target (issue 14): p95 < 1 s through TAP at 10^6 observations (each with 1-3 GTIs, plus the one
with 40 000). The query plans are in BENCHMARKS.md.
"""

from . import archive as bench_archive
from . import discovery

TARGET_P95 = 1.0  # s
HOUR = 1 / 24
JOIN = ("SELECT DISTINCT o.obs_publisher_did, o.obs_id, o.target_name FROM ivoa.obscore AS o"
        " JOIN ivoa.obscore_gti AS g ON g.obs_publisher_did = o.obs_publisher_did"
        " WHERE g.t_start <= {hi!r} AND g.t_stop >= {lo!r}")
FUNCTION = ("SELECT obs_publisher_did, obs_id, target_name FROM ivoa.obscore"
            " WHERE 1 = gavo_goodtime_overlaps(t_intervals, {lo!r}, {hi!r})")
LONG_GAP = "instant in a gap of the 40 000-GTI observation (join)"


def queries(archive):
    """{name: ADQL}, the instants taken from the ingested GTIs (and kept for every size)."""
    start, stop = archive.sql(f"SELECT t_start, t_stop FROM {bench_archive.GTI_TABLE} ORDER BY t_start"
                              f" OFFSET (SELECT count(*) / 2 FROM {bench_archive.GTI_TABLE}) LIMIT 1")[0]
    alert = (start + stop) / 2
    first_stop, second_start = archive.sql(
        f"SELECT g.t_stop, lead(g.t_start) OVER (ORDER BY g.t_start) FROM {bench_archive.GTI_TABLE} AS g"
        f" JOIN {bench_archive.TABLE} AS o USING (obs_publisher_did)"
        f" WHERE o.obs_id = '{bench_archive.LONG_OBS_ID}' ORDER BY g.t_start LIMIT 1")[0]
    gap = (first_stop + second_start) / 2
    return {
        "good time at an instant (join)": JOIN.format(lo=alert, hi=alert),
        "good time within 1 h (join)": JOIN.format(lo=alert - HOUR, hi=alert + HOUR),
        "good time within 1 h (gavo_goodtime_overlaps)": FUNCTION.format(lo=alert - HOUR, hi=alert + HOUR),
        LONG_GAP: JOIN.format(lo=gap, hi=gap)
        + f" AND o.obs_id = '{bench_archive.LONG_OBS_ID}'",
    }


def rows_for(by_size):
    """Table rows from {size: discovery.measure() result}: TAP p50/p95 at each size, the target at
    the largest."""
    sizes = sorted(by_size)
    rows = []
    for size in sizes:
        for name, r in by_size[size].items():
            rows.append({
                "benchmark": "time", "metric": f"{name} @ {size:,} obs: TAP p50/p95 (ms)",
                "value": r["tap"].p50 * 1000, "value2": r["tap"].p95 * 1000, "spread": r["tap"].spread,
                "note": f"SQL p50 {r['sql'].p50 * 1000:.1f} ms; {r['rows']} rows"})
            if name == LONG_GAP and r["rows"]:
                rows.append({"benchmark": "time", "metric": f"{name} @ {size:,} obs: rows",
                             "value": r["rows"], "target": "0", "met": False})
    largest = by_size[sizes[-1]]
    worst = max(r["tap"].p95 for r in largest.values())
    rows.append({"benchmark": "time", "metric": f"worst TAP p95 @ {sizes[-1]:,} obs (s)", "value": worst,
                 "target": f"< {TARGET_P95:g}", "met": worst < TARGET_P95})
    return rows
