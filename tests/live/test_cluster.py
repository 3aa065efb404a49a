"""A cluster of hosts on this machine (etc/site.yaml's cluster:, instance/cluster.py, README
"Several hosts"), each host a network namespace on a private LAN (netns.py): a PostgreSQL primary
and a streaming replica (clusters of their own, made here with pg_createcluster), two service
hosts reading on the replica, and the balancer, with HTTPS; the clients run on a sixth host.

Checked through the balancer with real clients (cluster_client.py: pyvo, requests): TAP sync and
async, a TAP upload, cone search, DataLink, credentials over HTTPS (and refused over plain HTTP
and with forged headers sent to a host directly); an ingest on the primary seen through every
host, with the replication lag measured; reads served by the replica (its replay paused, the
hosts show the old rows); the replica stopped under load (the hosts read on the primary) and
started again (they read on it again); a service host killed and unplugged under load (no failed
request) while it runs an async job, which another host runs again to its end.

What was measured goes to tests/artefacts/cluster.txt and the test's output. Everything made here
(namespaces, PostgreSQL clusters, processes, instance files) is removed however the test ends.
"""

import json
import os
import shutil
import subprocess
import sys
import threading
import time

import psycopg2
import pytest
import yaml

from testinstance import add_users, collections_file
from instance import PROJECT_ROOT, Instance
from instance.database import default_version
from netns import Network
from rights import MEMBER, PROPRIETARY_OBS
from tests.corpus import copy_subset

ARTEFACTS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "artefacts")
CLIENT = os.path.join(os.path.dirname(__file__), "cluster_client.py")
DEBIAN_PYTHON = "/usr/bin/python3"
SERVICES = ("web1", "web2")
# The published observations, ingest after ingest (a copy of the release's files each time).
OBSERVATIONS = (("23523", PROPRIETARY_OBS), ("23523", PROPRIETARY_OBS, "23526"),
                ("23523", PROPRIETARY_OBS, "23526", "23559"))
PUBLIC_DID = "ivo://cherenkov-dl3.vo/hess_dr1?23523"
COUNT = "SELECT COUNT(*) AS n FROM hess_dr1.obs"
# An async query that runs for a while (a cross join of 300 rows of TAP_SCHEMA.columns three times
# with 60 of them: 30 to 40 s on 2 busy cores) and whose answer is known, 300³ × 60: fixed sizes,
# as TAP_SCHEMA grows with the service, and DaCHS gives COUNT(*) a 32-bit integer.
SLOW_SIDE, SLOW_ROWS = 300, 60
SLOW_QUERY = ("SELECT COUNT(*) AS n FROM"
              + ", ".join(f" (SELECT TOP {rows} column_name FROM tap_schema.columns) AS {name}"
                          for name, rows in (("a", SLOW_SIDE), ("b", SLOW_SIDE), ("c", SLOW_SIDE),
                                             ("d", SLOW_ROWS))))
HEALTH_INTERVAL = 1  # the balancer's /health rounds (seconds)
CONNECT_TIMEOUT = 2  # the balancer's wait for a host's connection (seconds)
FAIL_TIMEOUT = 10


def report(line):
    """A measurement: printed, and kept in tests/artefacts/cluster.txt."""
    print(f"[cluster] {line}")
    os.makedirs(ARTEFACTS, exist_ok=True)
    with open(os.path.join(ARTEFACTS, "cluster.txt"), "a", encoding="utf-8") as f:
        f.write(line + "\n")


def run(argv, **kwargs):
    result = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{' '.join(argv)}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result.stdout


def free_pg_port():
    """A port no PostgreSQL cluster of this machine has (their sockets share a directory)."""
    used = {int(line.split()[2]) for line in run(["pg_lsclusters", "-h"]).splitlines() if line.split()}
    return next(p for p in range(25432 + os.getpid() % 1000, 40000) if p not in used)


class Cluster:
    def __init__(self, net, name, site, collections, data_link, work):
        self.net, self.name, self.site, self.collections = net, name, site, collections
        self.data_link, self.work = data_link, work
        with open(site, encoding="utf-8") as f:
            document = yaml.safe_load(f)
        self.config = document["cluster"]
        self.port = document["port"]
        self.http_port = document["https"]["http_port"]
        self.balancer = self.config["balancer"]["address"]
        self.url = f"https://{self.balancer}:{self.port}"
        self.certificate = os.path.join(PROJECT_ROOT, "var", f"{name}-balancer", "tls",
                                        "self-signed.crt")
        self.processes = {}
        self.pg_port = self.config["postgres_port"]
        self.pg = {"primary": self.config["primary"]["pg_cluster"],
                   "db2": self.config["replicas"]["db2"]["pg_cluster"]}

    def host_url(self, host):
        return f"http://{self.config['services'][host]['address']}:{self.config['service_port']}"

    def instance_args(self, *args):
        return [DEBIAN_PYTHON, "-m", "instance", *args, "--instance", self.name, "--site",
                self.site, "--collections", self.collections]

    def on(self, host, argv, timeout=600):
        """argv run on host (in PROJECT_ROOT), which must succeed; its output."""
        result = self.net.run(host, argv, cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=timeout)
        assert result.returncode == 0, f"{host}: {' '.join(argv)}:\n{result.stdout[-3000:]}" \
            f"{result.stderr[-3000:]}"
        return result.stdout

    def client(self, command, **arguments):
        """cluster_client.py's command on the client host; its JSON answer."""
        arguments.setdefault("verify", self.certificate)
        out = self.on("client", [sys.executable, CLIENT, command, json.dumps(arguments)])
        return json.loads(out.strip().splitlines()[-1])

    def status(self, url):
        """The HTTP status of a GET from the client host (curl; 0: no answer)."""
        result = self.net.run("client", ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                         "-m", "10", "--noproxy", "*", "--cacert",
                                         self.certificate, url], capture_output=True, text=True)
        return int(result.stdout or 0)

    def start_load(self, seconds, clients=4):
        """The load, running in the background on the client host; returns its Popen."""
        argv = ["ip", "netns", "exec", self.net.namespace("client"), sys.executable, CLIENT,
                "load", json.dumps({"base": self.url, "did": PUBLIC_DID, "seconds": seconds,
                                    "clients": clients, "verify": self.certificate})]
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    @staticmethod
    def load_records(process):
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-3000:]
        return json.loads(out.strip().splitlines()[-1])["records"]

    def start_role(self, host, *args):
        logfile = open(os.path.join(self.work, f"{host}.log"), "ab")
        self.processes[host] = self.net.start(host, self.instance_args("cluster", *args),
                                              logfile, cwd=PROJECT_ROOT)
        return self.processes[host]

    def health(self, host):
        return json.loads(self.client("get", url=f"{self.host_url(host)}/health")["text"])

    def sql(self, which, statement):
        """A statement on the primary's or the replica's PostgreSQL (over its Unix socket, as
        the superuser role of this user, which the primary made and the replica has)."""
        socket = "/var/run/postgresql" if which == "primary" else self.replica_socket
        with psycopg2.connect(host=socket, port=self.pg_port, dbname=f"heobs_{self.name}") as c:
            with c.cursor() as cursor:
                cursor.execute(statement)
                rows = cursor.fetchall() if cursor.description else None
        c.close()
        return rows

    def pg_ctl(self, host, action):
        """pg_ctlcluster on a database host (in its namespace: a server started there listens
        there)."""
        self.on(host, ["pg_ctlcluster", "--skip-systemctl-redirect", default_version(),
                       self.pg[host], action])

    def ingest(self, observations):
        os.unlink(self.data_link)
        os.symlink(os.path.join(self.work, f"data-{len(observations)}"), self.data_link)
        self.on("primary", self.instance_args("ingest", "--collection", "hess_dr1"))


def wait_for(what, condition, timeout=180, interval=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out waiting for {what}")


def site_file(directory, net, pg, pg_port):
    with open(os.path.join(PROJECT_ROOT, "etc", "site.yaml"), encoding="utf-8") as f:
        document = yaml.safe_load(f)
    balancer = net.hosts["balancer"]
    document.update(port=8443, server_url=f"https://{balancer}:{{port}}",
                    https={"certificate": "self-signed", "http_port": 8080})
    document["server"]["processes"] = 1
    document["cluster"] = {
        "shared_dir": os.path.join(directory, "shared"),
        "postgres_port": pg_port,
        "service_port": 8081,
        "primary": {"address": net.hosts["primary"], "pg_cluster": pg["primary"]},
        "replicas": {"db2": {"address": net.hosts["db2"], "pg_cluster": pg["db2"]}},
        "services": {name: {"address": net.hosts[name], "replica": "db2"} for name in SERVICES},
        "balancer": {"address": balancer, "connect_timeout": CONNECT_TIMEOUT,
                     "fail_timeout": FAIL_TIMEOUT, "health_interval": HEALTH_INTERVAL},
    }
    path = os.path.join(directory, "site.yaml")
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(document, f)
    return path


@pytest.fixture(scope="module")
def cluster(hess_dir, tmp_path_factory):
    number = os.getpid()
    work = str(tmp_path_factory.mktemp("cluster"))
    if os.path.exists(os.path.join(ARTEFACTS, "cluster.txt")):
        os.unlink(os.path.join(ARTEFACTS, "cluster.txt"))
    net = Network(f"hc{number % 100000}", number)
    name = f"test_{number}_cluster"
    version = default_version()
    pg = {"primary": f"heobs{number}p", "db2": f"heobs{number}r"}
    # The replica's socket apart from the primary's (they share a port): where postgres may write.
    replica_socket = f"/var/run/postgresql/{pg['db2']}"
    made_clusters = []
    try:
        net.create()
        for host, last in (("primary", 1), ("db2", 2), ("web1", 11), ("web2", 12),
                           ("balancer", 20), ("client", 30)):
            net.add_host(host, last)
        pg_port = free_pg_port()
        for which, socket in (("primary", None), ("db2", replica_socket)):
            run(["pg_createcluster", "-p", str(pg_port), *(["-s", socket] if socket else []),
                 version, pg[which]])
            made_clusters.append(pg[which])
        for observations in OBSERVATIONS:
            copy_subset(hess_dir, os.path.join(work, f"data-{len(observations)}"), observations)
        data_link = os.path.join(work, "hess_dr1")
        os.symlink(os.path.join(work, f"data-{len(OBSERVATIONS[0])}"), data_link)
        collections = collections_file(work, {"hess_dr1": data_link, "cta_1dc": work,
                                              "corpus": work, "hawc_crab_pass4": work,
                                              "timesys": work})
        site = site_file(work, net, pg, pg_port)
        c = Cluster(net, name, site, collections, data_link, work)
        c.replica_socket = replica_socket
        started = time.monotonic()
        c.on("primary", c.instance_args("cluster", "primary", "--collection", "hess_dr1"))
        primary = time.monotonic()
        c.on("db2", c.instance_args("cluster", "replica", "--host", "db2"))
        replica = time.monotonic()
        add_users_on_primary(c)
        for host in SERVICES:
            c.start_role(host, "service", "--host", host)
        c.start_role("balancer", "balancer")
        for host in SERVICES:
            wait_for(f"{host}'s /health", lambda h=host: c.status(f"{c.host_url(h)}/health")
                     == 200, interval=1)
        wait_for("the balancer", lambda: c.status(f"{c.url}/tap/availability") == 200)
        report(f"set-up: primary {primary - started:.0f} s (PostgreSQL, dachs init, ingest),"
               f" replica {replica - primary:.0f} s (pg_basebackup), service hosts and balancer"
               f" {time.monotonic() - replica:.0f} s")
        yield c
    finally:
        net.remove()
        for cluster_name in made_clusters:
            subprocess.run(["pg_dropcluster", "--stop", version, cluster_name],
                           capture_output=True)
        shutil.rmtree(replica_socket, ignore_errors=True)
        for host in ("primary", "db2", *SERVICES, "balancer"):
            if os.environ.get("HEOBS_KEEP_INSTANCE") != "1":
                shutil.rmtree(os.path.join(PROJECT_ROOT, "var", f"{name}-{host}"),
                              ignore_errors=True)


class OnPrimary:
    """The primary's instance as conftest.add_users uses it: its dachs run on the primary."""

    def __init__(self, c):
        self.cluster = c
        self.inst = Instance(c.name, host="primary", site_file=c.site,
                             collections_file=c.collections)

    def dachs(self, *args):
        self.cluster.net.run("primary", ["dachs", *args], env=self.inst.env(), check=True,
                             capture_output=True)


def add_users_on_primary(c):
    """The test users and group (conftest.add_users), made on the primary."""
    add_users(OnPrimary(c))


# ---------------------------------------------------------------- the roles
def test_the_replica_streams_from_the_primary(cluster):
    [(standby,)] = cluster.sql("db2", "SELECT pg_is_in_recovery()")
    assert standby
    states = cluster.sql("primary", "SELECT host(client_addr), state FROM pg_stat_replication")
    assert states == [(cluster.net.hosts["db2"], "streaming")]
    for host in SERVICES:
        checks = {c["check"]: c for c in cluster.health(host)["checks"]}
        assert checks["reads"]["detail"] == f"reads on {cluster.net.hosts['db2']} (a replica)"
        assert checks["database"]["ok"]


def test_tap_scs_and_datalink_through_the_balancer(cluster):
    tap = f"{cluster.url}/tap"
    query = "SELECT obs_id FROM ivoa.obscore ORDER BY obs_id"
    expected = sorted(OBSERVATIONS[0])
    assert [r["obs_id"] for r in cluster.client("tap", url=tap, query=query)["rows"]] == expected
    assert [r["obs_id"] for r in cluster.client("tap", url=tap, query=query, mode="async")[
        "rows"]] == expected
    cone = cluster.client("scs", url=f"{cluster.url}/hess_dr1/q/cone/scs.xml", ra=83.63,
                          dec=22.01, sr=3)
    assert cone["obs_ids"] == ["23523"]
    links = cluster.client("datalink", url=f"{cluster.url}/hess_dr1/q/dl/dlmeta", did=PUBLIC_DID)
    assert {"#this", "#calibration", "#package"} <= set(links["semantics"])


def test_what_a_sync_query_writes_on_the_primary(cluster):
    """Every sync TAP query is a UWS job in DaCHS: its row in tap_schema.tapjobs is written on
    the primary (made, changed, deleted) while the query itself runs on the replica. For the
    capacity model (README, "Several hosts")."""
    def counts():
        [(inserted, updated, deleted)] = cluster.sql(
            "primary", "SELECT n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables"
            " WHERE schemaname = 'tap_schema' AND relname = 'tapjobs'")
        [(wal,)] = cluster.sql("primary", "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
        return inserted, updated, deleted, wal
    times = 20
    before = counts()
    answer = cluster.client("tap_many", url=f"{cluster.url}/tap", times=times,
                            query="SELECT TOP 1 obs_id FROM ivoa.obscore")
    assert answer["rows"] == [1] * times
    time.sleep(2)  # PostgreSQL reports a backend's table statistics within a second or so
    inserted, updated, deleted, wal = (b - a for a, b in zip(before, counts()))
    assert inserted >= times and deleted >= times
    # The jobs counted include those of the /health checks meanwhile (a TAP query each).
    report(f"each sync TAP query is a UWS job on the primary: {inserted} jobs made in"
           f" {times} queries and the /health checks meanwhile, each changed"
           f" {updated / inserted:.1f} times and deleted, {wal / inserted / 1024:.1f} kB of WAL"
           " per job (all writes on the primary)")
    hosts = {v: k for k, v in cluster.net.hosts.items()}
    connections = cluster.sql("primary", "SELECT host(client_addr), usename, count(*) FROM"
                              " pg_stat_activity WHERE datname = current_database() AND"
                              " client_addr IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2")
    report("connections to the primary after them, by host (one DaCHS process, the job keeper"
           " and the exporter each) and role: " + ", ".join(
               f"{hosts.get(a, a)} {role.rsplit('_', 1)[1]} {n}" for a, role, n in connections))


def test_tap_upload_on_a_host_that_reads_on_the_replica(cluster):
    """DaCHS makes a temporary table of an upload, which a hot standby refuses: such a query
    runs on the primary (dachs_ext/compat.py)."""
    assert cluster.client("tap_upload", url=f"{cluster.host_url('web1')}/tap", rows=7)["n"] == 7
    assert cluster.client("tap_upload", url=f"{cluster.url}/tap", rows=3)["n"] == 3


def test_credentials_through_the_balancer(cluster):
    """HTTPS ends at the balancer; the hosts believe its X-Forwarded-Proto and -For, and nobody
    else's."""
    dlget = f"/hess_dr1/q/dl/dlget?ID=ivo://cherenkov-dl3.vo/hess_dr1?{PROPRIETARY_OBS}&PART=aeff"
    answer = cluster.client("get", url=cluster.url + dlget, auth=list(MEMBER))
    assert answer["status"] == 200 and answer["starts"] == "SIMPLE"
    assert cluster.client("get", url=cluster.url + dlget)["status"] == 401
    plain = cluster.client("get", url=f"http://{cluster.balancer}:{cluster.http_port}{dlget}",
                           auth=list(MEMBER))
    assert plain["status"] == 403 and "plain HTTP" in plain["text"]
    forged = cluster.client("get", url=cluster.host_url("web1") + dlget, auth=list(MEMBER),
                            headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.0.1",
                                     "X-Real-IP": "127.0.0.1"})
    assert forged["status"] == 403, forged


# ---------------------------------------------------------------- replication
def test_an_ingest_is_seen_through_every_host(cluster):
    """The replica's replay lag (PostgreSQL's pg_stat_replication.replay_lag: from the
    primary's flush of a WAL record to its replay on the replica), sampled while the ingest
    runs; then the new row through each host and the balancer."""
    lags, done = [], threading.Event()

    def sample():
        while not done.is_set():
            lags.extend(v for (v,) in cluster.sql("primary", "SELECT extract(epoch FROM"
                        " replay_lag) FROM pg_stat_replication") if v is not None)
            time.sleep(0.05)
    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        cluster.ingest(OBSERVATIONS[1])
    finally:
        done.set()
        sampler.join()
    [(lsn,)] = cluster.sql("primary", "SELECT pg_current_wal_lsn()::text")
    written = time.monotonic()
    wait_for("the replica's replay", lambda: cluster.sql(
        "db2", f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn")[0][0], interval=0.01)
    caught_up = time.monotonic() - written
    seen = {}
    for name, url in [(h, cluster.host_url(h)) for h in SERVICES] + [("balancer", cluster.url)]:
        seen[name] = cluster.client("count_until", url=f"{url}/tap", query=COUNT,
                                    expected=len(OBSERVATIONS[1]))["seconds"]
        assert seen[name] is not None, name
    report(f"replication lag during an ingest of 1 observation: replay_lag"
           f" {_spread(lags)} ms ({len(lags)} samples every 50 ms); the primary's WAL position"
           f" after it replayed {caught_up * 1000:.0f} ms later; TAP showed the new row through "
           + ", ".join(seen) + " after " + ", ".join(f"{s:.1f}" for s in seen.values()) +
           " s of polling")


def _spread(seconds):
    if not seconds:
        return "not sampled (no WAL was waiting)"
    values = sorted(v * 1000 for v in seconds)
    return f"median {values[len(values) // 2]:.1f}, max {values[-1]:.1f}"


def test_reads_are_served_by_the_replica(cluster):
    """With the replica's replay paused, TAP through the hosts shows the rows before the ingest,
    while the primary has the new one (a cone search, which DaCHS runs on a pooled connection of
    the primary's, sees it at once)."""
    cluster.sql("db2", "SELECT pg_wal_replay_pause()")
    try:
        cluster.ingest(OBSERVATIONS[2])
        assert cluster.sql("primary", "SELECT COUNT(*) FROM hess_dr1.obs")[0][0] == 4
        for host in SERVICES:
            [row] = cluster.client("tap", url=f"{cluster.host_url(host)}/tap", query=COUNT)["rows"]
            assert row["n"] == len(OBSERVATIONS[1]), host
    finally:
        cluster.sql("db2", "SELECT pg_wal_replay_resume()")
    assert cluster.client("count_until", url=f"{cluster.url}/tap", query=COUNT,
                          expected=len(OBSERVATIONS[2]))["seconds"] is not None


def failures(records, after=0):
    return [r for r in records if not r[3] and r[0] >= after]


def test_the_replica_stopped_and_started_under_load(cluster):
    """The hosts' reads go to the primary while the replica is down (libpq tries the next host
    of the read profile), and back to the replica once it is up."""
    load = cluster.start_load(30)
    time.sleep(5)
    stopped = time.time()
    cluster.pg_ctl("db2", "stop")
    primary = cluster.net.hosts["primary"]
    for host in SERVICES:
        wait_for(f"{host} reading on the primary", lambda h=host: any(
            c["check"] == "reads" and c["detail"] == f"reads on {primary} (the primary)"
            for c in cluster.health(h)["checks"]), interval=1, timeout=30)
    [row] = cluster.client("tap", url=f"{cluster.url}/tap", query=COUNT)["rows"]
    assert row["n"] == len(OBSERVATIONS[2])
    time.sleep(3)
    cluster.pg_ctl("db2", "start")
    started = time.time()
    replica = cluster.net.hosts["db2"]
    for host in SERVICES:
        wait_for(f"{host} reading on the replica again", lambda h=host: any(
            c["check"] == "reads" and c["detail"] == f"reads on {replica} (a replica)"
            for c in cluster.health(h)["checks"]), interval=1, timeout=60)
    back = time.time()
    records = cluster.load_records(load)
    failed = failures(records)
    report(f"replica stopped under load ({len(records)} requests by 4 clients in 30 s):"
           f" {len(failed)} failed; reads on the replica again {back - started:.1f} s after it"
           f" started" + "".join(f"\n  failed at +{r[0] - stopped:.2f} s: {r[2]} {r[4]}"
                                 for r in failed))
    # Only what ran on the replica as it stopped: fast shutdown ends the queries under way.
    assert all(abs(r[0] - stopped) < 2 for r in failed), failed


def job_processes(job_id):
    """The PIDs (as this machine sees them) of the processes running the async job, whatever
    host's namespace they are in."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if b"taprun" in argv and job_id.encode() in argv:
            found.append(int(entry))
    return found


def test_a_job_aborted_through_another_host(cluster):
    """ABORT of a job web1 runs, sent to web2: web2 cannot signal web1's process (the PID in
    the job's row is web1's), so the job is marked ABORTED there and web1's keeper stops its
    process; nothing on web2 is signalled."""
    job = cluster.client("submit", url=f"{cluster.host_url('web1')}/tap", query=SLOW_QUERY)
    job_id = job["job_url"].rstrip("/").rsplit("/", 1)[1]
    wait_for("web1 to claim the job", lambda: cluster.sql(
        "primary", f"SELECT host FROM heobs_cluster.job_runners WHERE job_id = '{job_id}'")
        == [("web1",)], interval=0.5, timeout=30)
    assert job_processes(job_id)
    web2 = set(cluster.net.pids("web2"))  # its long-running processes: there a second later too
    time.sleep(1)
    web2 &= set(cluster.net.pids("web2"))
    assert cluster.client("abort", url=f"{cluster.host_url('web2')}/tap",
                          job_url=job["job_url"])["status"] == 303
    assert cluster.sql("primary", "SELECT phase FROM tap_schema.tapjobs"
                       f" WHERE jobid = '{job_id}'") == [("ABORTED",)]
    stopped = time.time()
    wait_for("web1's keeper to stop the job's process", lambda: not job_processes(job_id),
             timeout=30, interval=0.2)
    report(f"a job web1 ran, aborted through web2: its process stopped by web1's keeper"
           f" {time.time() - stopped:.1f} s later")
    assert web2 <= set(cluster.net.pids("web2"))
    assert cluster.status(f"{cluster.host_url('web2')}/health") == 200
    assert cluster.client("get", url=f"{job['job_url']}/phase")["text"].strip() == "ABORTED"


def test_a_service_host_killed_under_load(cluster):
    """web1 runs an async job and takes its share of the load; then its processes are killed,
    and it is unplugged. No request sent after that fails (the balancer tries web1, finds it
    gone and sends the request to web2); of those under way on web1, only those whose answer
    had begun fail. The job runs again on web2 (its keeper takes it over) and completes with
    the right answer."""
    [row] = cluster.client("tap", url=f"{cluster.url}/tap",
                           query="SELECT COUNT(*) AS n FROM tap_schema.columns")["rows"]
    assert row["n"] >= SLOW_SIDE
    expected = SLOW_SIDE ** 3 * SLOW_ROWS
    job = cluster.client("submit", url=f"{cluster.host_url('web1')}/tap", query=SLOW_QUERY)
    assert job["status"] == [303, 303] and job["job_url"].startswith(cluster.url), job
    job_id = job["job_url"].rstrip("/").rsplit("/", 1)[1]
    wait_for("web1 to claim the job", lambda: cluster.sql(
        "primary", f"SELECT host FROM heobs_cluster.job_runners WHERE job_id = '{job_id}'")
        == [("web1",)], interval=0.5, timeout=30)
    load = cluster.start_load(30)
    time.sleep(3)
    [(phase,)] = cluster.sql("primary", f"SELECT phase FROM tap_schema.tapjobs WHERE jobid = '{job_id}'")
    assert phase == "EXECUTING"
    killed = time.time()
    cluster.net.kill(cluster.processes["web1"])
    # Once its processes are gone (their connections closed), its cable too: new connections
    # to it go nowhere.
    wait_for("web1's processes to end", lambda: not cluster.net.pids("web1"), interval=0.05)
    cluster.net.unplug("web1")
    left = _when_the_balancer_logs(cluster, "web1 leaves the pool")
    records = cluster.load_records(load)
    failed = failures(records)
    after = [r for r in records if r[0] >= killed]
    slowest = max((r[1] - r[0] for r in after), default=0)
    report(f"web1 killed and unplugged under load ({len(records)} requests by 4 clients in"
           f" 30 s, {len(after)} after the kill): {len(failed)} failed, each under way on web1"
           f" as it died" + "".join(f" ({r[2]} from {r[0] - killed:+.2f} s: {r[4]})"
                                    for r in failed) +
           f"; the slowest request after the kill took {slowest:.1f} s (a connection to the"
           f" dead host waits {CONNECT_TIMEOUT} s, then the request goes to web2, and nginx"
           f" leaves web1 out); the /health rounds marked web1 down {left - killed:.1f} s after"
           " the kill")
    # The failover window: what was under way on web1 when it died. Nothing sent after fails.
    assert all(r[0] < killed < r[1] for r in failed), failed
    assert not failures(records, after=killed)
    assert {r[2] for r in after} == {"tap_sync", "scs", "datalink", "file"}
    answer = cluster.client("job", job_url=job["job_url"], timeout=300)
    done = time.time()
    assert answer["phase"] == "COMPLETED", answer
    assert answer["rows"] == [{"n": expected}]
    assert cluster.sql("primary", "SELECT host, runs FROM heobs_cluster.job_runners"
                       f" WHERE job_id = '{job_id}'") in ([], [("web2", 2)])
    report(f"the async job web1 ran: run again by web2's job keeper, completed"
           f" {done - killed:.0f} s after the kill (the keeper waits 10 s for a claim to go"
           f" stale, and the query takes 30 to 40 s)")


def _when_the_balancer_logs(cluster, text, timeout=30):
    """The time at which the balancer's log holds text (looked at every 0.1 s)."""
    path = os.path.join(cluster.work, "balancer.log")

    def logged():
        with open(path, encoding="utf-8", errors="replace") as f:
            return text in f.read()
    wait_for(f"the balancer to log {text!r}", logged, timeout=timeout, interval=0.1)
    return time.time()
