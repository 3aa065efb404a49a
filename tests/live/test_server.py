"""The server processes (instance/server.py): as many DaCHS processes as etc/site.yaml asks for
(auto: one per core, at most 4), nginx in front of them on the instance's port when there are
several, requests spread over all of them, and async TAP jobs (queued and run by the first
process) working through the front."""

import json
import os
import socket
import subprocess
import threading
import time

import pytest
import pyvo
import requests

from instance import PROJECT_ROOT, server

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
        return  # one core: one DaCHS process, nothing to spread
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


# ---- a supervisor killed: the next start stops what it left (instance/server.py, ServingRecord)


def serve(service, port):
    """`make serve` of the test instance on another port (the published H.E.S.S. collection only, so
    that nothing is ingested), as a process of its own."""
    return subprocess.Popen(
        ["/usr/bin/python3", "-m", "instance", "serve", "--instance", service.instance.name,
         "--port", str(port), "--collections", service.collections_file, "--collection", "hess_dr1"],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_until(condition, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


def recorded(service, port):
    with open(os.path.join(server.server_directory(service.instance.root, port), "serving.json")) as f:
        return json.load(f)


@pytest.fixture
def session_url_restored(service):
    """A `make serve` on another port publishes that port's URL (ivoa.obscore's access_url): the
    session instance gets its own back afterwards."""
    yield
    service.instance.prepare(["hess_dr1"])
    [row] = pyvo.dal.TAPService(service.tap_url).search("SELECT TOP 1 access_url FROM ivoa.obscore")
    assert row["access_url"].startswith(service.url)


def test_a_start_after_the_supervisor_was_killed_stops_what_it_left(service, session_url_restored):
    port = server.free_port()
    first = serve(service, port)
    try:
        assert wait_until(lambda: server.answers(port)), first.stdout.read() if first.poll() is not None else ""
        left = recorded(service, port)["processes"]
        first.kill()  # SIGKILL: no clean-up; its DaCHS processes and nginx keep the port
        first.wait()
        assert server.answers(port) and all(server.is_running(identity) for identity in left)
        second = serve(service, port)
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(second.stdout), daemon=True)
        reader.start()
        try:
            assert wait_until(lambda: any("serving" in line for line in lines)), "".join(lines)
            assert server.answers(port) and not any(server.is_running(identity) for identity in left)
            assert recorded(service, port)["supervisor"][0] == second.pid
        finally:
            second.terminate()
            second.wait(60)
            reader.join(10)
        output = "".join(lines)
        assert "stopping the processes a server left running when its supervisor died" in output
        assert "a server process stopped" not in output, output
        assert not server.answers(port)
        assert not os.path.exists(os.path.join(server.server_directory(service.instance.root, port), "serving.json"))
    finally:
        if first.poll() is None:
            first.kill()


def test_a_port_held_by_something_else_is_named(service):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        proc = serve(service, port)
        output = proc.communicate(timeout=300)[0]
    assert proc.returncode == 1 and "Traceback" not in output, output
    assert f"cannot serve on 127.0.0.1:{port}: Address already in use, held by process {os.getpid()} (" in output


def test_a_second_server_on_the_same_port_is_refused(service):
    """The port of the running test server: its supervisor (this test process) is alive."""
    port = service.instance.port
    proc = serve(service, port)
    output = proc.communicate(timeout=300)[0]
    assert proc.returncode == 1 and "Traceback" not in output, output
    assert f"already being served on this port by process {os.getpid()}" in output
    assert server.answers(port)
