"""Concurrency: many clients mixing TAP, SCS and DataLink requests for a fixed time.

Each client is a thread with its own requests.Session (its own keep-alive connection, as
separate users have) that sends, in turn, a TAP sync query (one of discovery.queries(), TOP 100),
an SCS request (if the collection's RD has a scs.xml service; the instance writes the RDs to
var/<instance>/inputs/*/q.rd) and a DataLink {links} request (dlmeta) for a random observation
with files, for `duration` seconds. Throughput (completed requests/s) with N clients is compared
with 1 client measured the same way just before (target >= 1.5x on 2 cores); p99 latency and
errors (HTTP status other than 200, TAP QUERY_STATUS ERROR, timeouts; target 0) are reported.
"""

import glob
import os
import random
import re
import threading
import time

import requests

from . import discovery, timing

TARGET_SPEEDUP = 1.5
REQUEST_TIMEOUT = 30


def scs_url(archive):
    """The URL of the synth collection's SCS service, or None if its RD has none."""
    for path in glob.glob(os.path.join(archive.instance.root, "inputs", "*", "q.rd")):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if 'schema="synth"' not in text:
            continue
        for match in re.finditer(r'<service id="([^"]+)"[^>]*>(.*?)</service>', text, re.S):
            if "scs.xml" in match.group(0):
                rd_id = os.path.relpath(path, os.path.join(archive.instance.root, "inputs"))[:-3]
                return f"{archive.url}/{rd_id}/{match.group(1)}/scs.xml"
    return None


def request_mix(archive, energy_cut, dids):
    """[(kind, function(session, rng))] of the requests the clients send in turn."""
    tap_queries = [q for name, q in discovery.queries(energy_cut).items()
                   if name != discovery.FLOOR]
    sync = f"{archive.url}/tap/sync"
    dlmeta = f"{archive.url}/synth/q/dl/dlmeta"

    def tap(session, rng):
        resp = session.post(sync, data={"REQUEST": "doQuery", "LANG": "ADQL",
                                        "QUERY": rng.choice(tap_queries)}, timeout=REQUEST_TIMEOUT)
        return resp.status_code == 200 and b'value="ERROR"' not in resp.content[:3000]

    def datalink(session, rng):
        resp = session.get(dlmeta, params={"ID": rng.choice(dids)}, timeout=REQUEST_TIMEOUT)
        return resp.status_code == 200 and b"<FIELD" in resp.content

    mix = [("tap", tap), ("datalink", datalink)]
    scs = scs_url(archive)
    if scs:
        def cone(session, rng):
            resp = session.get(scs, params={"RA": rng.uniform(0, 360), "DEC": rng.uniform(-60, 60),
                                            "SR": 3}, timeout=REQUEST_TIMEOUT)
            return resp.status_code == 200 and b"<TABLE" in resp.content
        mix.append(("scs", cone))
    return mix


def run_clients(mix, clients, duration, seed=1):
    """Runs `clients` threads for `duration` s; returns (latencies, errors, elapsed, by kind)."""
    latencies, errors, kinds, lock = [], [], {}, threading.Lock()
    deadline = time.monotonic() + duration

    def client(number):
        rng = random.Random(seed * 1000 + number)
        session = requests.Session()
        i = number  # clients start at different points of the mix
        while time.monotonic() < deadline:
            kind, request = mix[i % len(mix)]
            i += 1
            started = time.perf_counter()
            try:
                ok = request(session, rng)
                failure = None if ok else "bad response"
            except requests.RequestException as exc:
                failure = type(exc).__name__
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                kinds[kind] = kinds.get(kind, 0) + 1
                if failure:
                    errors.append(f"{kind}: {failure}")

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, time.monotonic() - started, kinds


def run(archive, energy_cut, clients, duration):
    dids = archive.original_ids(1000)
    mix = request_mix(archive, energy_cut, dids)
    run_clients(mix, 1, min(duration, 2.0))  # warm-up: caches, every RD loaded
    one_lat, one_err, one_time, _ = run_clients(mix, 1, duration)
    many_lat, many_err, many_time, kinds = run_clients(mix, clients, duration)
    one_tp, many_tp = len(one_lat) / one_time, len(many_lat) / many_time
    speedup = many_tp / one_tp
    many, one = timing.Stats(many_lat), timing.Stats(one_lat)
    errors = one_err + many_err
    kinds_text = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    rows = [
        {"benchmark": "concurrency", "metric": "1 client: throughput (req/s)", "value": one_tp,
         "note": f"p50 {one.p50 * 1000:.0f} ms, p99 {one.p99 * 1000:.0f} ms"},
        {"benchmark": "concurrency", "metric": f"{clients} clients: throughput (req/s)",
         "value": many_tp, "note": f"{kinds_text}" + ("" if any(k == "scs" for k, _ in mix)
                                                      else "; SCS not available (no scs.xml service)")},
        {"benchmark": "concurrency", "metric": f"{clients} clients / 1 client throughput",
         "value": speedup, "target": f">= {TARGET_SPEEDUP:g}", "met": speedup >= TARGET_SPEEDUP},
        {"benchmark": "concurrency", "metric": f"{clients} clients: p50 / p99 latency (ms)",
         "value": many.p50 * 1000, "value2": many.p99 * 1000},
        {"benchmark": "concurrency", "metric": "errors", "value": len(errors), "target": "0",
         "met": not errors, "note": "; ".join(sorted(set(errors)))[:300]},
    ]
    return rows, {"one": one, "many": many, "errors": errors, "kinds": kinds}
