"""The clients of the cluster tests (tests/live/test_cluster.py), run inside the client host's
network namespace: `python cluster_client.py <command> '<JSON arguments>'` prints its answer as
JSON. Real clients: pyvo for TAP (sync and async), cone search and DataLink, requests for the
rest and for the load.

Every session ignores the environment's proxy settings (trust_env = False): the cluster's
addresses are on the namespaces' own network.
"""

import json
import sys
import threading
import time

import pyvo
import requests

TIMEOUT = 120


def session(verify=True):
    s = requests.Session()
    s.trust_env = False
    s.verify = verify
    return s


def tap(url, query, mode="sync", verify=True):
    service = pyvo.dal.TAPService(url, session=session(verify))
    result = service.run_async(query) if mode == "async" else service.run_sync(query)
    return {"rows": [{name: _plain(row[name]) for name in result.fieldnames} for row in result]}


def _plain(value):
    if hasattr(value, "item"):
        value = value.item()
    return value.decode() if isinstance(value, bytes) else value


def tap_many(url, query, times, verify=True):
    """The same sync query `times` times; the number of rows of each answer."""
    service = pyvo.dal.TAPService(url, session=session(verify))
    return {"rows": [len(service.run_sync(query)) for _ in range(times)]}


def tap_upload(url, rows=3, verify=True):
    """A sync TAP query on an uploaded table (DaCHS makes a temporary table of it)."""
    from astropy.table import Table

    service = pyvo.dal.TAPService(url, session=session(verify))
    result = service.run_sync("SELECT COUNT(*) AS n FROM TAP_UPLOAD.t",
                              uploads={"t": Table({"id": list(range(rows))})})
    return {"n": int(result[0]["n"])}


def submit(url, query, verify=True):
    """An async job made and started through url (a TAP endpoint), so that the host there is
    the one that starts it; the job's URL (which is server_url's, the balancer's)."""
    s = session(verify)
    made = s.post(f"{url}/async", data={"LANG": "ADQL", "REQUEST": "doQuery", "QUERY": query},
                  allow_redirects=False, timeout=TIMEOUT)
    job_url = made.headers["location"]
    path = job_url.split("/", 3)[3]
    run = s.post(f"{url.rsplit('/', 1)[0]}/{path}/phase", data={"PHASE": "RUN"},
                 allow_redirects=False, timeout=TIMEOUT)
    return {"status": [made.status_code, run.status_code], "job_url": job_url}


def abort(url, job_url, verify=True):
    """ABORT posted for the job to the host at url (a TAP endpoint), whichever host runs it."""
    path = job_url.split("/", 3)[3]
    answer = session(verify).post(f"{url.rsplit('/', 1)[0]}/{path}/phase",
                                  data={"PHASE": "ABORT"}, allow_redirects=False, timeout=TIMEOUT)
    return {"status": answer.status_code}


def job(job_url, verify=True, timeout=300):
    """Waits for the job to end (as pyvo does, polling through whatever host answers); its
    phase and result rows."""
    job = pyvo.dal.AsyncTAPJob(job_url, session=session(verify))
    job.wait(phases={"COMPLETED", "ERROR", "ABORTED"}, timeout=timeout)
    answer = {"phase": job.phase}
    if job.phase == "COMPLETED":
        table = job.fetch_result()
        answer["rows"] = [{n: _plain(r[n]) for n in table.fieldnames} for r in table]
    elif job.phase == "ERROR":
        try:
            job.raise_if_error()
        except pyvo.dal.DALQueryError as exc:  # pyvo's way to the job's error summary
            answer["error"] = str(exc)
    return answer


def scs(url, ra, dec, sr, verify=True):
    service = pyvo.dal.SCSService(url, session=session(verify))
    return {"obs_ids": sorted(str(_plain(r["obs_id"])) for r in service.search((ra, dec), sr))}


def datalink(url, did, verify=True):
    links = pyvo.dal.adhoc.DatalinkResults.from_result_url(
        f"{url}?ID={requests.utils.quote(did)}", session=session(verify))
    return {"semantics": sorted({str(s) for s in links["semantics"]})}


def get(url, auth=None, verify=True, headers=None):
    r = session(verify).get(url, auth=tuple(auth) if auth else None, headers=headers,
                            timeout=TIMEOUT)
    return {"status": r.status_code, "text": r.text[:2000] if "fits" not in
            r.headers.get("content-type", "") else "", "starts": r.content[:6].decode("latin-1")}


def count_until(url, query, expected, verify=True, timeout=120):
    """Seconds until a TAP count through url is `expected` (polled every 0.2 s)."""
    service = pyvo.dal.TAPService(url, session=session(verify))
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        result = service.run_sync(query)
        if int(result[0][result.fieldnames[0]]) == expected:
            return {"seconds": time.monotonic() - started}
        time.sleep(0.2)
    return {"seconds": None}


# ---------------------------------------------------------------- load
def _requests(base, did):
    """The mix of the load: (kind, method, path, data, what a good answer holds)."""
    query = "SELECT TOP 5 obs_id, s_ra FROM ivoa.obscore ORDER BY obs_id"
    return [
        ("tap_sync", "POST", "/tap/sync", {"LANG": "ADQL", "REQUEST": "doQuery", "QUERY": query},
         b'name="QUERY_STATUS" value="OK"'),
        ("scs", "GET", "/hess_dr1/q/cone/scs.xml?RA=83.63&DEC=22.01&SR=3", None, b"<TABLE"),
        ("datalink", "GET", f"/hess_dr1/q/dl/dlmeta?ID={requests.utils.quote(did)}", None,
         b"#this"),
        ("file", "GET", f"/hess_dr1/q/dl/dlget?ID={requests.utils.quote(did)}&PART=aeff", None,
         b"SIMPLE"),
    ]


def _client(base, verify, did, until, number, records):
    s = session(verify)
    mix = _requests(base, did)
    i = number
    while time.time() < until:
        kind, method, path, data, good = mix[i % len(mix)]
        i += 1
        started = time.time()
        try:
            r = s.request(method, base + path, data=data, timeout=60)
            ok = r.status_code == 200 and good in r.content
            detail = f"{r.status_code} {r.content[:200]!r}" if not ok else ""
        except requests.RequestException as exc:
            ok, detail = False, f"{type(exc).__name__}: {exc}"[:300]
        records.append([started, time.time(), kind, ok, detail])


def load(base, did, seconds, clients=4, verify=True):
    """clients threads sending the mix one request after the other for `seconds`; every
    request as [start, end, kind, ok, what went wrong]."""
    records, until = [], time.time() + seconds
    threads = [threading.Thread(target=_client, args=(base, verify, did, until, n, records))
               for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"records": sorted(records)}


COMMANDS = {f.__name__: f for f in (tap, tap_many, tap_upload, submit, abort, job, scs, datalink, get, count_until, load)}


if __name__ == "__main__":
    command, arguments = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps(COMMANDS[command](**arguments)))
