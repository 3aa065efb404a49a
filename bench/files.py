"""Files: downloads of single files, gammapy's VO-client pattern and DataLink batches, each against
a baseline measured in the same run.

- One file through dlget (the service decides the rights, nginx sends the file: X-Accel-Redirect)
  against nginx serving the same bytes from disk itself (a plain static server on the product
  cache, started here): p50 latency and throughput with CLIENTS clients, each a thread with its
  own keep-alive session, for a fixed time (targets: throughput >= 0.5 of nginx's, p50 <= 2 x
  nginx's + 2 ms).
- OBSERVATIONS observations fetched as gammapy's VO client does (per observation: its {links},
  then #this and every #calibration, one request after the other) against copying the same
  files on disk (target >= 0.3).
- {links} of BATCH IDs in one request (what pyvo's iter_datalinks sends) against BATCH requests
  of one ID each.
"""

import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse

import requests

from datalink import parts
from datalink.cache import ProductCache
from ingest.datasets import key_of_did
from instance import server

from . import timing

TARGET_THROUGHPUT = 0.5
TARGET_P50_FACTOR, TARGET_P50_EXTRA_MS = 2.0, 2.0
TARGET_CLIENT_RATIO = 0.3
BATCH = 50


class StaticNginx:
    """nginx serving a directory as plain files on a free loopback port (the baseline)."""

    def __init__(self, root, workdir):
        self.root, self.workdir = root, workdir
        self.port = server.free_port()

    def __enter__(self):
        os.makedirs(os.path.join(self.workdir, "temp"), exist_ok=True)
        conf = os.path.join(self.workdir, "nginx.conf")
        user = "user root;\n" if os.geteuid() == 0 else ""
        with open(conf, "w", encoding="utf-8") as f:
            f.write(f"""{user}worker_processes 1;
pid {self.workdir}/nginx.pid;
error_log {self.workdir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {self.workdir}/temp;
  proxy_temp_path {self.workdir}/temp;
  fastcgi_temp_path {self.workdir}/temp;
  uwsgi_temp_path {self.workdir}/temp;
  scgi_temp_path {self.workdir}/temp;
  sendfile on;
  tcp_nopush on;
  server {{ listen 127.0.0.1:{self.port}; root {self.root}; }}
}}
""")
        self.proc = subprocess.Popen([server.nginx_command(), "-c", conf, "-g", "daemon off;"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{self.port}/", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("the baseline nginx did not start")

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(10)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}/{os.path.relpath(path, self.root)}"


def load(url, clients, duration, auth=None):
    """(latencies in s, completed requests per s, errors) of clients threads fetching url over
    and over for duration seconds."""
    latencies, errors, lock = [], [0], threading.Lock()
    stop = time.monotonic() + duration

    def client():
        session = requests.Session()
        session.auth = auth
        mine = []
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                response = session.get(url, timeout=30)
                ok = response.status_code == 200 and len(response.content) > 0
            except requests.RequestException:
                ok = False
            mine.append(time.perf_counter() - started)
            if not ok:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, len(latencies) / (time.monotonic() - started), errors[0]


def dlget_url(archive, did, part):
    return f"{archive.url}/synth/q/dl/dlget?" + urllib.parse.urlencode({"ID": did, "PART": part})


def built_path(archive, did, part_name):
    """The product cache's file of a part (the one dlget serves, built by the request before)."""
    cache = ProductCache(archive.instance.product_cache_dir, archive.instance.product_cache_bytes)
    part = parts.part_named(part_name)
    return cache.files(archive.instance.collections["synth"], key_of_did(did), [part])[part]


def one_file(archive, clients, duration):
    """Rows of the single-file benchmark."""
    did = archive.original_ids(1)[0]
    url = dlget_url(archive, did, "event-list")
    size = len(requests.get(url, timeout=60).content)  # builds it
    path = built_path(archive, did, "event-list")
    with StaticNginx(archive.instance.product_cache_dir,
                     os.path.join(archive.instance.root, "bench-nginx")) as static:
        runs = {}
        for name, target in (("nginx", static.url(path)), ("dlget", url)) * 2:  # interleaved
            latencies, rate, errors = load(target, clients, duration / 2)
            previous = runs.get(name, ([], 0, 0))
            runs[name] = (previous[0] + latencies, previous[1] + rate / 2, previous[2] + errors)
    nginx, dlget = timing.Stats(runs["nginx"][0]), timing.Stats(runs["dlget"][0])
    ratio = runs["dlget"][1] / runs["nginx"][1]
    p50_limit = TARGET_P50_FACTOR * nginx.p50 + TARGET_P50_EXTRA_MS / 1000
    note = f"{size / 1e3:.0f} kB event list, {clients} clients, {duration:g} s each"
    return [
        {"benchmark": "files", "metric": f"nginx from disk: p50 (ms), {clients} clients",
         "value": nginx.p50 * 1000, "spread": nginx.spread,
         "note": f"{runs['nginx'][1]:.0f} requests/s; {note}"},
        {"benchmark": "files", "metric": f"dlget: p50 (ms), {clients} clients",
         "value": dlget.p50 * 1000, "spread": dlget.spread,
         "target": f"<= {p50_limit * 1000:.1f} (2 x nginx + 2 ms)",
         "met": dlget.p50 <= p50_limit,
         "note": f"{runs['dlget'][1]:.0f} requests/s, {runs['dlget'][2]} errors"},
        {"benchmark": "files", "metric": "dlget throughput / nginx throughput", "value": ratio,
         "target": f">= {TARGET_THROUGHPUT:g}", "met": ratio >= TARGET_THROUGHPUT
         and runs["dlget"][2] == 0},
    ]


def gammapy_client(archive, n, runs):
    """Rows of the gammapy-VO-client benchmark: n observations, one after the other."""
    dids = archive.original_ids(n)
    session = requests.Session()
    dlmeta = f"{archive.url}/synth/q/dl/dlmeta"

    def fetch_all(keep=None):
        total = 0
        for did in dids:
            links = session.get(dlmeta, params={"ID": did}, timeout=60).content
            for url in _links_to_fetch(links):
                body = session.get(url, timeout=120).content
                total += len(body)
                if keep is not None:
                    keep.append(url)
        return total

    urls = []
    fetch_all(urls)  # builds every file once (the first request's cost is not the pattern's)
    paths = [built_path(archive, *(urllib.parse.parse_qs(urllib.parse.urlsplit(u).query)[k][0]
                                   for k in ("ID", "PART"))) for u in urls]
    target = tempfile.mkdtemp(prefix="bench-copy-")
    service_times, copy_times, size = [], [], 0
    try:
        for _ in range(runs):
            t, size = timing.timed(fetch_all)
            service_times.append(t)
            t, _ = timing.timed(_copy_all, paths, target)
            copy_times.append(t)
    finally:
        shutil.rmtree(target, ignore_errors=True)
    s, c = timing.Stats(service_times), timing.Stats(copy_times)
    ratio = c.p50 / s.p50
    return [
        {"benchmark": "files", "metric": f"copying the same files, {n} obs (s)",
         "value": c.p50, "spread": c.spread, "note": f"{size / 1e6:.1f} MB, {len(paths)} files"},
        {"benchmark": "files",
         "metric": f"{n} obs as gammapy's VO client fetches them ({{links}}, #this, each"
                   " #calibration) (s)", "value": s.p50, "spread": s.spread,
         "note": f"{len(urls) + n} requests one after the other"},
        {"benchmark": "files", "metric": "copy time / gammapy-client time", "value": ratio,
         "target": f">= {TARGET_CLIENT_RATIO:g}", "met": ratio >= TARGET_CLIENT_RATIO},
    ]


def _links_to_fetch(votable):
    """The access URLs of #this and #calibration in a {links} document (what gammapy keeps)."""
    import io

    from astropy.io.votable import parse

    table = parse(io.BytesIO(votable)).get_first_table().to_table()
    return [str(url) for url, semantics in zip(table["access_url"], table["semantics"])
            if str(semantics) in ("#this", "#calibration") and "PART=" in str(url)]


def _copy_all(paths, target):
    for i, path in enumerate(paths):
        shutil.copyfile(path, os.path.join(target, str(i)))


def batches(archive, runs):
    """Rows of the DataLink batch benchmark: {links} of BATCH IDs, once and one by one."""
    dids = archive.original_ids(BATCH)
    session = requests.Session()
    url = f"{archive.url}/links/q/dl/dlmeta"

    def batch():
        response = session.post(url, data={"ID": dids}, timeout=120)
        assert response.status_code == 200 and response.content.count(b"<TR>") >= len(dids)

    def singles():
        for did in dids:
            session.get(url, params={"ID": did}, timeout=60).raise_for_status()

    one = timing.Stats(timing.repeat(batch, runs))
    many = timing.Stats(timing.repeat(singles, runs))
    return [
        {"benchmark": "files", "metric": f"{{links}} of {len(dids)} IDs one by one (ms)",
         "value": many.p50 * 1000, "spread": many.spread},
        {"benchmark": "files", "metric": f"{{links}} of {len(dids)} IDs in one request (ms)",
         "value": one.p50 * 1000, "spread": one.spread,
         "note": f"{many.p50 / one.p50:.1f} x faster than one by one"},
    ]


def run(archive, clients, duration, n_client, runs):
    return (one_file(archive, clients, duration) + gammapy_client(archive, n_client, runs)
            + batches(archive, runs))
