"""The job keeper of a cluster's service host (`python3 -m dachs_ext.job_keeper --host NAME`,
started by instance/server.py beside the host's DaCHS processes): async TAP jobs survive the
death of the host that runs them (README, "Several hosts").

A job's state is in the UWS job table on the primary and its files in the shared directory
(uwsWD), so every host answers for it; but its process (`gavo taprun <job>`, started by the DaCHS
process that took it out of the queue) runs on one host and dies with it. DaCHS notices a dead
job process only on the host that started it (Twisted sees its child end), or by looking for its
PID in this machine's /proc, which says nothing about another host's processes
(compat._no_local_zombie_check turns that off on a cluster).

So each host's keeper, every INTERVAL seconds:
1. claims the EXECUTING jobs whose process runs here (its PID in /proc, running `taprun` of that
   job) in heobs_cluster.job_runners: (job, host, now);
2. takes over every other EXECUTING job whose claim has not been renewed for ORPHANED seconds (its
   host or its process is gone), or that this keeper has seen unclaimed for ORPHANED seconds:
   one keeper wins each (an atomic update of the claim), puts the job back into the queue, and
   DaCHS's queue starts it again, here; a job started MAX_RUNS times is given up (ERROR, saying
   why);
3. forgets the claims of jobs that ended (or were deleted): a job put back into the queue keeps
   its count of starts;
4. stops the job processes here whose job was aborted or deleted through another host, which
   cannot signal them (compat._abort_only_local_processes), the processing service's too.
A TAP job only reads: running it again gives the same result.
"""

import argparse
import os
import signal
import sys
import time

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if PROJECT_ROOT not in sys.path:
    sys.path.insert(0, PROJECT_ROOT)

from gavo import base, rscdesc  # noqa: E402,F401 (rscdesc: DaCHS's RD cache, as taprunner has it)
from gavo.protocols import tap, uws  # noqa: E402

from dachs_ext import compat  # noqa: E402

INTERVAL = 2  # seconds between two rounds
ORPHANED = 10  # seconds without a renewed claim after which a job's process is taken as gone
MAX_RUNS = 3  # starts of one job (the first included) before it is given up

CLAIM = ("INSERT INTO heobs_cluster.job_runners (job_id, host, seen) VALUES (%(job)s, %(host)s,"
         " now()) ON CONFLICT (job_id) DO UPDATE SET host = EXCLUDED.host, seen = now()")
# Inserted with runs = 2: the job's first run was never claimed (its host died within INTERVAL).
TAKE_OVER = ("INSERT INTO heobs_cluster.job_runners (job_id, host, seen, runs) VALUES"
             " (%(job)s, %(host)s, now(), 2) ON CONFLICT (job_id) DO UPDATE SET"
             " host = EXCLUDED.host, seen = now(), runs = job_runners.runs + 1"
             " WHERE job_runners.seen < now() - make_interval(secs => %(orphaned)s)"
             " RETURNING runs")
FORGET = ("DELETE FROM heobs_cluster.job_runners AS r WHERE NOT EXISTS (SELECT 1 FROM"
          " tap_schema.tapjobs AS j WHERE j.jobid = r.job_id"
          " AND j.phase NOT IN ('COMPLETED', 'ERROR', 'ABORTED'))")
# The phase of each async job, TAP's and the processing service's (DaCHS's user UWS).
PHASES = ("SELECT jobid, phase FROM tap_schema.tapjobs WHERE jobid = ANY(%(jobs)s)"
          " UNION ALL SELECT jobid, phase FROM uws.userjobs WHERE jobid = ANY(%(jobs)s)")
ENDED = {uws.COMPLETED, uws.ERROR, uws.ABORTED}


def log(msg):
    print(f"[job keeper] {msg}", flush=True)


def executing_jobs():
    """The EXECUTING async jobs (sync ones run inside a server process: PID -1)."""
    jobs = []
    for job_id, _ in tap.WORKER_SYSTEM.getIdsAndPhases(phase=uws.EXECUTING):
        try:
            job = tap.WORKER_SYSTEM.getJob(job_id)
        except uws.JobNotFound:
            continue
        if job.phase == uws.EXECUTING and job.pid is not None and job.pid >= 2:
            jobs.append(job)
    return jobs


class FirstSeen:
    """When this keeper first saw each job process (job, PID) unclaimed by its own host: its
    age on this host's clock (the job's own times are another host's)."""

    def __init__(self):
        self.seen = {}

    def age(self, job):
        key = (job.jobId, job.pid)
        now = time.monotonic()
        return now - self.seen.setdefault(key, now)

    def keep_only(self, jobs):
        self.seen = {key: t for key, t in self.seen.items()
                     if key in {(job.jobId, job.pid) for job in jobs}}


def run_again(job_id):
    """Back into the queue from which DaCHS starts it (PENDING, then QUEUED: its transition
    schedules the queue check, which starts it here, as this process's child)."""
    with tap.WORKER_SYSTEM.changeableJob(job_id) as job:
        if job.phase != uws.EXECUTING:
            return
        job.change(phase=uws.PENDING, pid=None, startTime=None)
    tap.WORKER_SYSTEM.changeToPhase(job_id, uws.QUEUED)


def give_up(job_id, runs):
    tap.WORKER_SYSTEM.changeToPhase(job_id, uws.ERROR, uws.UWSError(
        f"The job was started {runs} times and its process stopped each time (its host died,"
        " or the process failed); please submit it again.", job_id))


def local_job_processes():
    """{job id: PID} of the async job processes on this host (`taprun`, `uwsrun`)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if (b"taprun" in argv or b"uwsrun" in argv) and b"--" in argv[:-1]:
            found[argv[argv.index(b"--") + 1].decode()] = int(entry)
    return found


def stop_abandoned(conn):
    """Stops the job processes here whose job ended or is gone (aborted or deleted through a host
    that could not signal them)."""
    processes = local_job_processes()
    if not processes:
        return
    phases = dict(conn.query(PHASES, {"jobs": list(processes)}))
    for job_id, pid in processes.items():
        if phases.get(job_id, uws.ABORTED) in ENDED:
            log(f"job {job_id}: {phases.get(job_id, 'deleted')} elsewhere; stopping its process"
                f" {pid}")
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass  # it ended meanwhile


def keep(host, first_seen):
    """One round: claim, take over, forget, stop (the module's docstring)."""
    jobs = executing_jobs()
    first_seen.keep_only(jobs)
    taken = []
    with base.getWritableTableConn() as conn:
        for job in jobs:
            if compat.job_process_here(job.jobId, job.pid):
                conn.execute(CLAIM, {"job": job.jobId, "host": host})
            elif first_seen.age(job) > ORPHANED:
                rows = list(conn.query(TAKE_OVER, {"job": job.jobId, "host": host,
                                                   "orphaned": ORPHANED}))
                if rows:
                    taken.append((job.jobId, rows[0][0]))
        conn.execute(FORGET)
        stop_abandoned(conn)
    for job_id, runs in taken:
        if runs > MAX_RUNS:
            log(f"job {job_id}: its process stopped {runs - 1} times; giving it up")
            give_up(job_id, runs - 1)
        else:
            log(f"job {job_id}: its process is gone (host or process died); running it again"
                f" here (start {runs})")
            run_again(job_id)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m dachs_ext.job_keeper", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", required=True, help="this service host's name")
    args = parser.parse_args(argv)
    # The job processes started here are this process's children: reaped as they end.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    log(f"watching the async jobs of the cluster from {args.host}")
    first_seen = FirstSeen()
    while True:
        try:
            keep(args.host, first_seen)
        except Exception as exc:  # noqa: BLE001 (the primary away for a while: the next round tries)
            log(f"round failed: {type(exc).__name__}: {exc}")
        time.sleep(INTERVAL)


if __name__ == "__main__":
    main()
