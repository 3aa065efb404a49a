"""python3 -m bench [--smoke] [--n 10000] [--out BENCHMARKS.md]: every benchmark in one run.

Order (each step needs the previous one): synthetic data (synth/) -> ingest of N observations
through the real pipeline (bench/ingest.py) -> one observation with 40 000 GTIs made in SQL ->
discovery and good-time queries (bench/goodtime.py) at N -> the table grown in SQL to 10 N
-> discovery, good time and concurrency at 10 N -> grown to 100 N -> the same at 100 N -> download and
files (on the observations that have files, and H.E.S.S. DL3 DR1 where it is). The bench instance is destroyed at the end, also on failure.
"""

import argparse
import math
import os
import shlex
import traceback
import sys
import time

from instance import PROJECT_ROOT

from . import archive, concurrency, discovery, download, files, goodtime, ingest, report

FULL = dict(n=10_000, runs=15, bundle=100, memory=1000, memory_bytes=1e9, clients=16,
            duration=60.0, file_duration=20.0, client_obs=100, ingest_runs=3)
SMOKE = dict(n=50, runs=3, bundle=5, memory=20, memory_bytes=1e6, clients=4, duration=2.0,
             file_duration=1.0, client_obs=5, ingest_runs=1)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python3 -m bench", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a small run of every benchmark"
                        " (seconds, not minutes): N=50, sizes N..100 N, 2-s concurrency")
    parser.add_argument("--n", type=int, help=f"observations ingested with files (default {FULL['n']},"
                        f" smoke {SMOKE['n']}); discovery also runs at 10 N and 100 N")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic collection")
    parser.add_argument("--duration", type=float, help="seconds of each concurrency run (default"
                        f" {FULL['duration']:g}, smoke {SMOKE['duration']:g})")
    parser.add_argument("--name", default="bench", help="name of the DaCHS instance (var/<name>)")
    parser.add_argument("--out", default=None,
                        help="where to write the report ('' for none; default: BENCHMARKS.md,"
                             " with --smoke var/bench-smoke.md, so a smoke run never replaces"
                             " the measured table)")
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = os.path.join(PROJECT_ROOT, *(("var", "bench-smoke.md") if args.smoke
                                                else ("BENCHMARKS.md",)))
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for the report's command line
    return args


def say(text):
    print(f"[bench] {text}", flush=True)


def run(args):
    """Runs everything; returns the rows of the table (and writes args.out)."""
    p = dict(SMOKE if args.smoke else FULL)
    if args.n:
        p["n"] = args.n
    if args.duration:
        p["duration"] = args.duration
    n = p["n"]
    sizes = [n, 10 * n, 100 * n]
    started = time.monotonic()
    say(f"synthetic data: {n} observations with files")
    data_dir = archive.make_data(n, args.seed)
    bench = archive.BenchArchive(args.name, data_dir)
    bench.destroy()  # a fresh instance: the first ingest must start from an empty table
    rows, context = [], {}
    try:
        # The one-off set-up of a new instance (dachs init, ivoa.obscore) is not ingest time.
        bench.instance.configure()
        context["dachs"] = bench.instance.features()["dachs"]
        say(f"ingest of {n} observations, then re-runs")
        rows += guarded("ingest", lambda: ingest.run(bench, n, p["ingest_runs"])[0])
        rows += guarded("ingest", lambda: ingest.tmoc_rows(archive.HESS_DIR, p["runs"]))
        cut = discovery.energy_cut(bench)
        adql = discovery.queries(cut)
        bench.add_long_observation()
        time_adql = goodtime.queries(bench)
        bench.start()
        by_size, time_by_size = {}, {}
        for size in sizes:
            if size > bench.count():
                say(f"growing the table to {size} rows in SQL")
                bench.stop()  # no query sees a half-grown table; DaCHS re-reads nothing
                bench.grow(size)
                bench.start()
            say(f"discovery at {size} observations")
            by_size[size] = discovery.measure(bench, adql, p["runs"])
            say(f"good time at an instant and in a window at {size} observations")
            time_by_size[size] = discovery.measure(bench, time_adql, p["runs"])
            if size == sizes[1]:
                say(f"concurrency: {p['clients']} clients for {p['duration']:g} s at {size} observations")
                concurrency_rows = guarded("concurrency", lambda: concurrency.run(
                    bench, cut, p["clients"], p["duration"])[0])
        rows += discovery.rows_for(by_size)
        rows += goodtime.rows_for(time_by_size)
        rows += concurrency_rows
        say(f"download: bundle of {p['bundle']} observations, memory with {p['memory']}")
        rows += guarded("download", lambda: download.run(
            bench, p["bundle"], min(p["memory"], n), 3 if args.smoke else 5,
            p["memory_bytes"])[0])
        say(f"files: one file with {p['clients']} clients, {p['client_obs']} observations as"
            f" gammapy fetches them, {{links}} in batches")
        rows += guarded("files", lambda: files.run(
            bench, p["clients"], p["file_duration"], p["client_obs"], 3 if args.smoke else 7))
        context["plans"] = {**discovery.plans(by_size), **discovery.plans(time_by_size)}
        context["data"] = data_text(n, args.seed, sizes, bench.skipped_indexes, data_dir)
    finally:
        bench.destroy()
    context["elapsed"] = time.monotonic() - started
    context["command"] = ("make bench" if not args.argv
                          else "python3 -m bench " + shlex.join(args.argv))
    print(report.text_table(rows))
    if args.out:
        report.write(args.out, rows, context)
        say(f"wrote {args.out}")
    return rows


def guarded(benchmark, function):
    """The rows of function(), or one row saying plainly that the benchmark failed and why (the
    other benchmarks still run and the report is still written)."""
    try:
        return function()
    except Exception as exc:  # noqa: BLE001 - any failure is reported, not hidden
        traceback.print_exc()
        return [{"benchmark": benchmark, "metric": f"FAILED: {type(exc).__name__}: {exc}"[:200],
                 "value": math.nan, "target": "runs", "met": False}]


def data_text(n, seed, sizes, skipped, data_dir):
    return (
        f"- {n:,} observations written by the project's generator (`make synth N={n} SEED={seed}`,"
        f" here into `{os.path.relpath(data_dir, PROJECT_ROOT)}`), each with its event file and the six"
        " shared IRF files, ingested through the real pipeline (`Instance.prepare`).\n"
        f"- The larger sizes ({', '.join(f'{s:,}' for s in sizes[1:])}) are **copies of those rows made in"
        " SQL** (`bench/archive.py`, `grow()`): new obs_id and obs_publisher_did, the position rotated in"
        " right ascension by multiples of the golden angle (s_ra and s_region together), the times moved"
        " within the generator's 30 years, their good time intervals (1-3 each, `synth.gti`) moved with"
        " them; all other columns (energies, modes, t_intervals, the obs-index"
        " columns other than ra_pnt/tstart/tstop) are copied. The copies have no files: they are for"
        " discovery only (the issue allows metadata-only rows at these sizes).\n"
        f"- One more observation (obs_id {archive.LONG_OBS_ID}) has {archive.LONG_GTIS:,} good time"
        " intervals, like HAWC's drift scans: a copy of the first ingested row with GTIs of 2 minutes"
        " every 3 minutes, made in SQL (`bench/archive.py`, `add_long_observation()`).\n"
        + (f"- Index(es) {', '.join(skipped)} not re-created after the copies: pgSphere builds the GiST"
           " index of 32-vertex s_region polygons at ~5 ms a row on this machine, over an hour for"
           " 10^6 rows; no benchmark query uses it (cones are on s_ra/s_dec through q3c)."
           if skipped else ""))


def main(argv=None):
    args = parse_args(argv)
    rows = run(args)
    bad = [r for r in rows if not isinstance(r["value"], (int, float)) or math.isnan(r["value"])]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
