"""The server processes (instance/server.py): as many DaCHS processes as etc/site.yaml asks for
(auto: one per core, at most 4), nginx in front of them on the instance's port when there are
several, requests spread over all of them, and async TAP jobs (queued and run by the first
process) working through the front."""

import os
import threading

import pyvo
import requests

from instance import server

QUERY = ("SELECT TOP 50 obs_id, s_region FROM ivoa.obscore "
         "WHERE 1=CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 83.63, 22.01, 5))")


def cpu_ticks(pid):
    """user + system CPU time of a process, in clock ticks (/proc/<pid>/stat fields 14, 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_as_many_dachs_processes_as_configured(service):
    expected = server.process_count(service.instance.site.server.get("processes"))
    assert len(service.pids) == expected
    for pid in service.pids:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            assert b"dachs" in f.read()
    assert service.servers.stopped() is None


def test_requests_are_spread_over_every_process(service):
    if len(service.pids) < 2:
        return  # one core: DaCHS alone, nothing to spread
    before = {pid: cpu_ticks(pid) for pid in service.pids}
    errors = []

    def client():
        session = requests.Session()
        for _ in range(8):
            response = session.post(f"{service.tap_url}/sync",
                                    data={"LANG": "ADQL", "QUERY": QUERY}, timeout=60)
            if response.status_code != 200 or b'value="ERROR"' in response.content[:3000]:
                errors.append(response.text[:300])

    threads = [threading.Thread(target=client) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    used = {pid: cpu_ticks(pid) - before[pid] for pid in service.pids}
    # 48 TAP queries take seconds of CPU; each process must have done a share of them.
    assert all(ticks > 0.1 * os.sysconf("SC_CLK_TCK") for ticks in used.values()), used


def test_async_jobs_run_through_the_front(service):
    tap = pyvo.dal.TAPService(service.tap_url)
    jobs = [tap.submit_job(QUERY) for _ in range(3)]
    for job in jobs:
        job.run()
    for job in jobs:
        job.wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=120)
        assert job.phase == "COMPLETED", job.phase
        assert len(job.fetch_result()) > 0
        job.delete()


def test_a_large_answer_passes_the_front_unchanged(service):
    """nginx passes responses as they come (no buffering to disk): a whole table in TABLEDATA
    arrives complete and parses."""
    result = pyvo.dal.TAPService(service.tap_url).search(
        "SELECT * FROM ivoa.obscore NATURAL JOIN ivoa.obscore_hea", maxrec=10000)
    assert len(result) >= 109
