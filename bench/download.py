"""Download: the bundle service (#package of many observations) and the #package of one
observation against tar of the same files, with a warm and a cold product cache.

Service: GET /bundle/q/dl/dlget?ID=..&ID=.. for N observations (default 100), the tar read to
the end in 1 MB chunks. Warm: after one untimed request that fills the product cache (the first
request of an observation builds its event list and IRF file once, datalink/cache.py). Cold:
with the product cache emptied before each request, so that the files are built from the
sources while the client waits. The #package of one H.E.S.S. observation (of a synthetic one
without the H.E.S.S. data) likewise, against tar of its source files.

Baseline: GNU tar writing an archive of the same source files to a pipe that is read the same
way: each observation's event file and its IRF file (the bundle carries one IRF file per
observation, so the shared IRF file is listed once per observation, and --hard-dereference makes
tar write it each time, as many bytes as the bundle holds: by default tar writes a file named
twice as a hard link the second time, ~6 times fewer bytes for the synthetic observations).
Ratio: bundle MB/s / tar MB/s (target >= 0.5). The bundle of a single observation is timed too:
the fixed cost of a bundle request, which small observations cannot amortise.

The client is requests, as pyvo uses it: it asks for gzip, which the bundle service does not
apply (dachs_ext/bundle_core.py); the bytes counted are the tar's.

Memory: VmRSS of the server processes (/proc/<pid>/status), sampled every 20 ms while the largest
bundle the service allows (1000 observations) is streamed again and again until 1 GB has gone;
reported as the peak and its growth over the resident size before (target: flat, < 300 MB).
"""

import os
import shutil
import subprocess
import threading
import time

import requests
from astropy.io import fits

from . import timing

TARGET_RATIO = 0.5
TARGET_PEAK_MB = 300.0
CHUNK = 1 << 20


def bundle_url(archive, dids):
    return f"{archive.url}/bundle/q/dl/dlget", [("ID", did) for did in dids]


def fetch_bundle(archive, dids, session=None):
    """Streams the bundle of dids to nowhere; returns its size in bytes. Up to 200 IDs go in the
    URL (GET, as pyvo's process() sends them); more are POSTed as a form, because a GET with 1000
    IDs (~40 kB of URL) is beyond what the HTTP server accepts in a request line."""
    url, params = bundle_url(archive, dids)
    size = 0
    http = session or requests.Session()
    send = http.get if len(dids) <= 200 else http.post
    kwargs = {"params": params} if len(dids) <= 200 else {"data": params}
    with send(url, stream=True, timeout=600, **kwargs) as resp:
        resp.raise_for_status()
        for chunk in resp.iter_content(CHUNK):
            size += len(chunk)
    return size


def source_files(data_dir, obs_ids):
    """Event file and IRF file of each observation, in order (IRF files repeated)."""
    index = fits.getdata(os.path.join(data_dir, "hdu-index.fits.gz"), 1)
    wanted = {str(o) for o in obs_ids}
    per_obs = {}
    for row in index:
        obs_id = str(row["OBS_ID"])
        if obs_id in wanted:
            path = os.path.join(row["FILE_DIR"].strip(), row["FILE_NAME"].strip())
            paths = per_obs.setdefault(obs_id, [])
            if path not in paths:
                paths.append(path)
    return [p for o in obs_ids for p in per_obs[str(o)]]


def tar_files(data_dir, paths):
    """tar cf - of paths (relative to data_dir), read to the end; returns the size in bytes."""
    proc = subprocess.Popen(["tar", "cf", "-", "--hard-dereference", "-C", data_dir, "-T", "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    proc.stdin.write("\n".join(paths).encode() + b"\n")
    proc.stdin.close()
    size = 0
    while chunk := proc.stdout.read(CHUNK):
        size += len(chunk)
    if proc.wait() != 0:
        raise RuntimeError("tar failed")
    return size


def rss_mb(pid):
    """Resident memory of process pid and its children in MB."""
    total = 0
    for p in [pid] + _children(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total / 1024


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except FileNotFoundError:
        return []


def peak_memory(archive, dids, total=1e9):
    """(bytes streamed, RSS before in MB, peak RSS in MB) of the DaCHS process that streamed the
    bundle of dids, again and again until total bytes have gone (the one whose memory grew
    most: there may be several behind nginx)."""
    pids = archive.proc.dachs_pids
    before = {pid: rss_mb(pid) for pid in pids}
    peak, done = dict(before), threading.Event()

    def sample():
        while not done.is_set():
            for pid in pids:
                peak[pid] = max(peak[pid], rss_mb(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    size = 0
    try:
        while size < total:
            size += fetch_bundle(archive, dids)
    finally:
        done.set()
        sampler.join()
    streamer = max(pids, key=lambda pid: peak[pid] - before[pid])
    return size, before[streamer], peak[streamer]


def obs_id_of(did):
    return did.rsplit("?", 1)[1]


def empty_cache(archive):
    shutil.rmtree(archive.instance.product_cache_dir, ignore_errors=True)


def fetch_part(url, session):
    with session.get(url, stream=True, timeout=600) as resp:
        resp.raise_for_status()
        return sum(len(chunk) for chunk in resp.iter_content(CHUNK))


def package(archive, runs):
    """Rows of the #package of one observation (H.E.S.S. 23523 where published) against tar of
    its source files, warm and cold."""
    schema, obs_id, data_dir = "synth", obs_id_of(archive.original_ids(1)[0]), archive.data_dir
    if archive.publish_hess():
        schema, obs_id, data_dir = "hess_dr1", "23523", archive.hess_dir
    did = f"ivo://{archive.instance.site.authority}/{schema}?{obs_id}"
    url = f"{archive.url}/{schema}/q/dl/dlget?ID={did}&PART=package"
    paths = source_files(data_dir, [obs_id])
    session = requests.Session()
    cold = []
    for _ in range(runs):
        empty_cache(archive)
        cold.append(timing.timed(fetch_part, url, session)[0])
    size = fetch_part(url, session)
    warm = timing.repeat(lambda: fetch_part(url, session), runs)
    tar_times = timing.repeat(lambda: tar_files(data_dir, paths), runs)
    tar_size = tar_files(data_dir, paths)
    c, w, t = timing.Stats(cold), timing.Stats(warm), timing.Stats(tar_times)
    tar_mbs = tar_size / 1e6 / t.p50
    rows = [{"benchmark": "download", "metric": f"tar of {schema} {obs_id}'s source files (MB/s)",
             "value": tar_mbs, "spread": t.spread, "note": f"{tar_size / 1e6:.2f} MB"}]
    for name, stats in (("warm", w), ("cold", c)):
        ratio = size / 1e6 / stats.p50 / tar_mbs
        rows.append({"benchmark": "download",
                     "metric": f"#package of {schema} {obs_id}, {name} cache: MB/s / tar MB/s",
                     "value": ratio, "target": f">= {TARGET_RATIO:g}", "met": ratio >= TARGET_RATIO,
                     "note": f"{size / 1e6:.2f} MB in {stats.p50 * 1000:.0f} ms"})
    return rows


def run(archive, n_bundle, n_memory, runs, memory_bytes=1e9):
    rows = package(archive, runs)
    dids = archive.original_ids(n_bundle)
    obs_ids = [obs_id_of(d) for d in dids]
    paths = source_files(archive.data_dir, obs_ids)
    session = requests.Session()
    cold_times = []
    for _ in range(max(1, runs // 2)):
        empty_cache(archive)
        cold_times.append(timing.timed(fetch_bundle, archive, dids, session)[0])
    cold = timing.Stats(cold_times)
    bundle_times, tar_times, size, tar_size = [], [], 0, 0
    for _ in range(runs):  # interleaved: both see the same load
        t, size = timing.timed(fetch_bundle, archive, dids, session)
        bundle_times.append(t)
        t, tar_size = timing.timed(tar_files, archive.data_dir, paths)
        tar_times.append(t)
    # What every bundle request costs whatever its size: the bundle of one observation.
    one = timing.Stats([timing.timed(fetch_bundle, archive, dids[:1], session)[0]
                        for _ in range(runs)])
    b, t = timing.Stats(bundle_times), timing.Stats(tar_times)
    bundle_mbs, tar_mbs = size / 1e6 / b.p50, tar_size / 1e6 / t.p50
    ratio, cold_ratio = bundle_mbs / tar_mbs, size / 1e6 / cold.p50 / tar_mbs
    rows += [
        {"benchmark": "download", "metric": f"tar of the same files, {len(dids)} obs (MB/s)",
         "value": tar_mbs, "spread": t.spread, "note": f"{tar_size / 1e6:.1f} MB"},
        {"benchmark": "download", "metric": f"bundle of {len(dids)} obs, warm cache (MB/s)",
         "value": bundle_mbs, "spread": b.spread, "note": f"{size / 1e6:.1f} MB"},
        {"benchmark": "download", "metric": "bundle MB/s / tar MB/s, warm cache", "value": ratio,
         "target": f">= {TARGET_RATIO:g}", "met": ratio >= TARGET_RATIO},
        {"benchmark": "download", "metric": "bundle MB/s / tar MB/s, cold cache",
         "value": cold_ratio, "target": f">= {TARGET_RATIO:g}", "met": cold_ratio >= TARGET_RATIO,
         "note": f"{cold.p50:.2f} s: every event list and IRF file built from the sources"},
        {"benchmark": "download", "metric": "bundle of 1 obs, warm cache (ms)",
         "value": one.p50 * 1000, "spread": one.spread,
         "note": f"the fixed cost of a bundle request; the {len(dids)}-obs bundle takes"
                 f" {b.p50 * 1000:.0f} ms, tar {t.p50 * 1000:.0f} ms"},
    ]
    mem_dids = archive.original_ids(n_memory)
    fetch_bundle(archive, mem_dids, session)  # fills the cache for all of them
    streamed, before, peak = peak_memory(archive, mem_dids, memory_bytes)
    rows.append({
        "benchmark": "download",
        "metric": f"server peak RSS streaming {streamed / 1e6:.0f} MB ({len(mem_dids)} obs) (MB)",
        "value": peak, "target": f"< {TARGET_PEAK_MB:g}, flat",
        "met": peak < TARGET_PEAK_MB and peak - before < 50,
        "note": f"RSS before {before:.0f} MB, growth {peak - before:+.0f} MB over"
                f" {streamed / 1e9:.1f} GB (bundles of {len(mem_dids)} obs, again and again)"})
    return rows, {"bundle": b, "tar": t, "size": size, "tar_size": tar_size,
                  "streamed": streamed, "rss_before": before, "rss_peak": peak}
