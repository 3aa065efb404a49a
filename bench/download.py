"""Download: the bundle service (#package of many observations) against tar of the same files.

Service: GET /bundle/q/dl/dlget?ID=..&ID=.. for N observations (default 100), the tar read to
the end in 1 MB chunks, after one untimed request that fills the product cache (the first
request of an observation builds its event list and IRF file once, datalink/cache.py; that is a
one-off per observation, not the streaming the target is about).

Baseline: GNU tar writing an archive of the same source files to a pipe that is read the same
way: each observation's event file and its IRF file (the bundle carries one IRF file per
observation, so the shared IRF file is listed once per observation, and --hard-dereference makes
tar write it each time, as many bytes as the bundle holds: by default tar writes a file named
twice as a hard link the second time, ~6 times fewer bytes for the synthetic observations).
Ratio: bundle MB/s / tar MB/s (target >= 0.5). The bundle of a single observation is timed too:
the fixed cost of a bundle request, which small observations cannot amortise.

The client is requests, as pyvo uses it: it asks for gzip, which the bundle service does not
apply (dachs_ext/bundle_core.py); the bytes counted are the tar's.

Memory: VmRSS of the server process that streams (/proc/<pid>/status), sampled every 20 ms while the largest
bundle the service allows (1000 observations) is streamed; reported as the peak and its growth
over the resident size before the request (target: flat, peak < 300 MB).
"""

import os
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


def peak_memory(archive, dids):
    """(bytes streamed, RSS before in MB, peak RSS in MB) of the DaCHS process that streamed the
    bundle of dids (the one whose memory grew most: there may be several behind nginx)."""
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
    try:
        size = fetch_bundle(archive, dids)
    finally:
        done.set()
        sampler.join()
    streamer = max(pids, key=lambda pid: peak[pid] - before[pid])
    return size, before[streamer], peak[streamer]


def obs_id_of(did):
    return did.rsplit("?", 1)[1]


def run(archive, n_bundle, n_memory, runs):
    dids = archive.original_ids(n_bundle)
    obs_ids = [obs_id_of(d) for d in dids]
    paths = source_files(archive.data_dir, obs_ids)
    session = requests.Session()
    cold, _ = timing.timed(fetch_bundle, archive, dids, session)  # fills the product cache
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
    ratio = bundle_mbs / tar_mbs
    rows = [
        {"benchmark": "download", "metric": f"tar of the same files, {len(dids)} obs (MB/s)",
         "value": tar_mbs, "spread": t.spread, "note": f"{tar_size / 1e6:.1f} MB"},
        {"benchmark": "download", "metric": f"bundle of {len(dids)} obs, warm cache (MB/s)",
         "value": bundle_mbs, "spread": b.spread,
         "note": f"{size / 1e6:.1f} MB; first (cold-cache) request {cold:.1f} s"},
        {"benchmark": "download", "metric": "bundle MB/s / tar MB/s", "value": ratio,
         "target": f">= {TARGET_RATIO:g}", "met": ratio >= TARGET_RATIO},
        {"benchmark": "download", "metric": "bundle of 1 obs, warm cache (ms)",
         "value": one.p50 * 1000, "spread": one.spread,
         "note": f"the fixed cost of a bundle request; the {len(dids)}-obs bundle takes"
                 f" {b.p50 * 1000:.0f} ms, tar {t.p50 * 1000:.0f} ms"},
    ]
    mem_dids = archive.original_ids(n_memory)
    fetch_bundle(archive, mem_dids, session)  # fills the cache for all of them
    streamed, before, peak = peak_memory(archive, mem_dids)
    rows.append({
        "benchmark": "download",
        "metric": f"server peak RSS streaming {streamed / 1e6:.0f} MB ({len(mem_dids)} obs) (MB)",
        "value": peak, "target": f"< {TARGET_PEAK_MB:g}, flat",
        "met": peak < TARGET_PEAK_MB and peak - before < 50,
        "note": f"RSS before {before:.0f} MB, growth {peak - before:+.0f} MB; 1 GB not reached:"
                f" a bundle holds at most 1000 observations"
                + (" (and the collection has fewer)" if len(mem_dids) < 1000 else "")})
    return rows, {"bundle": b, "tar": t, "size": size, "tar_size": tar_size,
                  "streamed": streamed, "rss_before": before, "rss_peak": peak}
